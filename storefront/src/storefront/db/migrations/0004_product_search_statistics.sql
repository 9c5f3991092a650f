-- Search estimates (issue 25): the planner picks, per term, between the trigram index (then sorts every
-- match) and the walk in id order that stops after a page, by its estimate of how many products match.
-- It estimates `text ILIKE '%term%'` from the sample texts ANALYZE keeps for the index's expression: 100 by
-- default, so a term in 2% of the catalog was in none of them 13% of the time (0.98^100), estimated at a
-- few rows, and sorted thousands of matches (measured 13-22 ms at 200,000 products, growing with the
-- catalog). With 1,000 samples, a term in 1% of the catalog goes unseen with probability 0.004%.
-- ANALYZE then samples up to 300,000 rows: about 2 s at 200,000 products, also when autovacuum runs it.
-- Numbered 0004: 0003 is the cart-expiry migration of another change (issue 24); the order they apply in
-- does not matter (this one touches only the planner's statistics).
SET LOCAL statement_timeout = '5min';
ALTER INDEX products_search_trgm_idx ALTER COLUMN 1 SET STATISTICS 1000;
ANALYZE products;
