# Checks of the tests themselves (issue 27); included by the root Makefile (`include mk/*.mk`).
.PHONY: mutate mutate-survivors cost-table

# mutmut 3 (pyproject.toml [tool.mutmut]): the settings schema and its context parsing against their unit
# tests, about 700 mutants in 12 to 15 minutes on 2 cores. Not part of `make test`; bench/RESULTS.md has
# the score per module and what the surviving mutants are.
mutate: install ## mutation testing of infra/config.py and infra/context.py (fresh run, then the score per module)
	rm -rf mutants
	$(UV) run --frozen mutmut run --max-children 2 >/dev/null
	@$(UV) run --frozen mutmut results --all true | awk -F': ' '{split($$1, m, "."); n[m[1] "." m[2]]++; \
	  if ($$2 == "killed") k[m[1] "." m[2]]++} END {for (x in n) printf "%-16s %4d/%4d killed (%.1f%%)\n", x, k[x], n[x], 100 * k[x] / n[x]}'

mutate-survivors: ## the mutants the last `make mutate` left alive (`uv run mutmut show NAME` shows one)
	@$(UV) run --frozen mutmut results

# Each real profile synthesized as `make synth` does it (into cdk.out/cost-table/<profile>), its figures
# recorded; tests/ops/test_cost_table.py compares them with what the session's syntheses cost, exactly.
cost-table: install ## record every profile's `make cost` figures in ops/cost-table.json, then show the diff to review
	@for e in $(PROFILES); do \
	  CDK_OUTDIR=cdk.out/cost-table/$$e $(PY) app.py -c environment=$$e >/dev/null || exit 1; \
	  $(PY) -m ops.cost_table --environment $$e --cdk-out cdk.out/cost-table/$$e || exit 1; \
	done
	@git --no-pager diff --stat -- ops/cost-table.json
