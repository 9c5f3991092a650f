-- The search estimate's sample texts, measured again at 200,000 products: the 1,000 of migration 0004 cost
-- the planner 0.3-1 ms on every search that goes past the first window (it matches the term against every
-- sample), 7.1 -> 9.1 ms of CPU for a product's full name, more than the better estimates bought back.
-- 300 keep most of the gain: a term in 2% of the catalog goes unseen with probability 0.2% (0.98^300; 13%
-- with the default 100), one in 1% with 5%; a term in a tenth or more never needs the estimate (the window
-- finds it). Planning measured 0.21 ms (100 samples), 0.29 ms (300), 0.53 ms (1,000).
SET LOCAL statement_timeout = '5min';
ALTER INDEX products_search_trgm_idx ALTER COLUMN 1 SET STATISTICS 300;
ANALYZE products;
