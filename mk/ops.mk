# Operations verbs: what the stack costs, what it looks like, is it secure, ship it.
# Included by the root Makefile (`include mk/*.mk`); uses its UV, PY, ENVIRONMENT and install/synth.
CDK := node_modules/.bin/cdk
CHECKOV := .tools/checkov/bin/checkov
PROFILES := dev staging prod
# The CLI asks no question of AWS's notice feed and sends no telemetry; context as `make synth` gives it.
CDK_ARGS := $(strip --no-notices -c environment=$(ENVIRONMENT) $(if $(REGION),-c region=$(REGION)) \
	$(if $(EMAIL),-c emailAddress=$(EMAIL)) $(CONTEXT))
export CDK_DISABLE_CLI_TELEMETRY := true

.PHONY: cost cost-all diagram checkov checkov-env cdk-cli deploy diff destroy gates-regions restore-drill listener-rule-guard

# REGION=eu-central-1 synthesizes and prices that region (its us-east-1 companions at us-east-1's prices);
# TEMPLATE=path prices a template you already have (in REGION, default us-east-1) instead.
cost: $(if $(TEMPLATE),install,synth) ## idle / max-scale / per-1M-requests cost of every stack of TapStack-$(ENVIRONMENT)
	$(PY) -m ops.cost --environment $(ENVIRONMENT) $(if $(REGION),--region $(REGION)) $(if $(TEMPLATE),--template $(TEMPLATE))

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

# The documented example source: enough to synthesize TapStack-pipeline for the gates (docs/deploy.md).
EXAMPLE_PIPELINE := -c pipeline.connection_arn=arn:aws:codeconnections:us-east-1:123456789012:connection/0f3a1c2e-1111-2222-3333-444455556666 \
	-c pipeline.repository=acme/shop-platform

checkov: install checkov-env ## checkov on every profile's and the pipeline's template, judged against ops/checkov-skips.toml
	@for e in $(PROFILES); do $(MAKE) --no-print-directory synth ENVIRONMENT=$$e >/dev/null || exit 1; done
	$(PY) app.py $(EXAMPLE_PIPELINE) >/dev/null
	$(PY) -m ops.checkov_gate $(foreach e,$(PROFILES),cdk.out/TapStack-$(e).template.json) \
	  $$(ls cdk.out/TapStack-prod-backup-*.template.json) cdk.out/TapStack-pipeline.template.json

cdk-cli: $(CDK) ## the pinned CDK CLI (package.json, package-lock.json) in node_modules/
$(CDK): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# --all: the regional stack with its companions (us-east-1 outside it, prod's backup copy region), in order.
deploy: test $(CDK) listener-rule-guard ## every gate, then cdk deploy of TapStack-$(ENVIRONMENT) and its companion stacks (EMAIL=... subscribes alerts)
	$(CDK) deploy --all $(CDK_ARGS) --outputs-file cdk.out/outputs-$(ENVIRONMENT).json

# `cdk diff` has no --all (only deploy and destroy do): it takes stack names or patterns. These select every
# stack of the profile, the regional one and its companions (-edge, -edge-alarms, -backup-<region>), and no
# preview's (a preview may be called dev-x, never x-edge or x-backup-y: tapstack_cli/names.py).
PROFILE_STACKS = 'TapStack-$(ENVIRONMENT)' 'TapStack-$(ENVIRONMENT)-edge' 'TapStack-$(ENVIRONMENT)-edge-alarms' \
	'TapStack-$(ENVIRONMENT)-backup-*'
# `tapstack destroy` (tapstack_cli/): every stack of the profile in order (the us-east-1 alarms, the regional
# stack, then the us-east-1 edge and the backup copy region's), after listing what is kept and how to remove
# it, and asking for the environment's name. YES=1 does not ask (CI removing a preview).
destroy: install ## delete every stack of TapStack-$(ENVIRONMENT) in order; prints what is kept and how to remove it
	.venv/bin/tapstack destroy $(strip --env $(ENVIRONMENT) $(if $(REGION),--region $(REGION)) $(if $(YES),--yes))

diff: install $(CDK) listener-rule-guard ## what a deploy of TapStack-$(ENVIRONMENT) would change in the account
	$(CDK) diff $(CDK_ARGS) $(PROFILE_STACKS)

# ECS owns a blue/green service's production listener rule weights: refuse a deploy that would write the
# template's back over live ones that differ (ops/listener_rule_guard.py; ALLOW_LISTENER_RULE_UPDATE=1 overrides).
listener-rule-guard: install $(CDK) ## synthesize, then compare each blue/green production listener rule with the deployed stack's
	$(CDK) synth -q $(CDK_ARGS) >/dev/null
	$(PY) -m ops.listener_rule_guard cdk.out

restore-drill: install ## orders survive pg_dump, data-dir loss, pg_restore (DRILL_ARGS="--orders N --products N --keep")
	$(PY) -m ops.restore_drill $(DRILL_ARGS)

GATE_REGIONS ?= us-east-1 eu-central-1 eu-west-1 ap-southeast-2
# Outside `make test` (12 syntheses): cdk-nag fails the synth itself, then cfn-lint and checkov read every stack.
gates-regions: install checkov-env ## cdk-nag, cfn-lint and checkov for every profile in each of GATE_REGIONS
	@set -e; for r in $(GATE_REGIONS); do for e in $(PROFILES); do \
	  echo "synth $$e in $$r"; CDK_OUTDIR=cdk.out/regions/$$r-$$e $(PY) app.py -c environment=$$e -c region=$$r >/dev/null; \
	done; done
	CDK_OUTDIR=cdk.out/regions/pipeline $(PY) app.py $(EXAMPLE_PIPELINE) >/dev/null
	$(UV) run --frozen cfn-lint --format parseable cdk.out/regions/*/*.template.json
	$(PY) -m ops.checkov_gate cdk.out/regions/*/*.template.json
