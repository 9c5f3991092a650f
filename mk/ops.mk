# Operations verbs (issue 9): what the stack costs, what it looks like, is it secure, ship it.
# Included by the root Makefile (`include mk/*.mk`); uses its UV, PY, ENVIRONMENT and install/synth.
CDK := node_modules/.bin/cdk
CHECKOV := .tools/checkov/bin/checkov
PROFILES := dev staging prod
# The CLI asks no question of AWS's notice feed and sends no telemetry; context as `make synth` gives it.
CDK_ARGS := --no-notices -c environment=$(ENVIRONMENT) $(if $(EMAIL),-c emailAddress=$(EMAIL))
export CDK_DISABLE_CLI_TELEMETRY := true

.PHONY: cost cost-all diagram checkov checkov-env cdk-cli deploy diff

# TEMPLATE=path prices a template you already have instead of synthesizing TapStack-$(ENVIRONMENT).
cost: $(if $(TEMPLATE),install,synth) ## idle / max-scale / per-1M-requests cost of TapStack-$(ENVIRONMENT)
	$(PY) -m ops.cost --environment $(ENVIRONMENT) $(if $(TEMPLATE),--template $(TEMPLATE))

cost-all: install ## the cost report of every profile
	@for e in $(PROFILES); do $(MAKE) --no-print-directory synth ENVIRONMENT=$$e >/dev/null || exit 1; \
	  $(PY) -m ops.cost --environment $$e; echo; done

diagram: install ## regenerate docs/architecture.md from the synthesized prod stack
	$(MAKE) --no-print-directory synth ENVIRONMENT=prod
	$(PY) -m ops.diagram --template cdk.out/TapStack-prod.template.json --output docs/architecture.md

checkov-env: $(CHECKOV) ## checkov, pinned by ops/checkov/uv.lock, in its own environment
$(CHECKOV): ops/checkov/pyproject.toml ops/checkov/uv.lock | $(UV)
	UV_PROJECT_ENVIRONMENT=$(CURDIR)/.tools/checkov $(UV) sync --frozen --project ops/checkov
	touch $@

checkov: install checkov-env ## checkov on every profile's template, judged against ops/checkov-skips.toml
	@for e in $(PROFILES); do $(MAKE) --no-print-directory synth ENVIRONMENT=$$e >/dev/null || exit 1; done
	$(PY) -m ops.checkov_gate $(foreach e,$(PROFILES),cdk.out/TapStack-$(e).template.json) $$(ls cdk.out/TapStack-prod-backup-*.template.json)

cdk-cli: $(CDK) ## the pinned CDK CLI (package.json, package-lock.json) in node_modules/
$(CDK): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

deploy: test $(CDK) ## every gate, then cdk deploy TapStack-$(ENVIRONMENT) and its backup copy stack (EMAIL=... subscribes alerts)
	$(CDK) deploy --all $(CDK_ARGS) --outputs-file cdk.out/outputs-$(ENVIRONMENT).json

diff: install $(CDK) ## what a deploy of TapStack-$(ENVIRONMENT) would change in the account
	$(CDK) diff --all $(CDK_ARGS)
