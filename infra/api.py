"""The partner front door: an API Gateway REST API with API keys, a usage plan and WAF, reaching the
internal load balancer over a private VPC link. Its web ACL is its own, or CloudFront's when partners come in
through the storefront's distribution (api.through_cloudfront)."""

from __future__ import annotations

import json

from aws_cdk import Fn, RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_apigatewayv2 as apigatewayv2
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.cfn import cfn_resource
from infra.compliance import acknowledge, acknowledge_all
from infra.config import ApiSettings
from infra.log_storage import EncryptedLogGroup
from infra.waf import PARTNER_COUNTED_RULES, PARTNER_REDACTED_HEADERS, WebAcl

# The stage is part of every partner URL: https://{api}.execute-api.{region}.amazonaws.com/v1/api/...
STAGE_NAME = "v1"
# Everything the service answers lives under /api; API Gateway must forward that prefix, not strip it.
PREFIX = "api"

# The storefront's error shape {"error": {"code", "message"}}; messageString is already quoted.
ERROR_TEMPLATE = '{"error": {"code": "$context.error.responseType", "message": $context.error.messageString}}'

# One JSON object per request, with what an on-call engineer needs to trace a partner's call: who
# (API key id, IP), what (method, path), outcome (status, latencies, WAF and integration errors).
# https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html
_ACCESS_LOG_FIELDS = {
    "requestId": apigateway.AccessLogField.context_request_id(),
    "extendedRequestId": apigateway.AccessLogField.context_extended_request_id(),
    "ip": apigateway.AccessLogField.context_identity_source_ip(),
    "userAgent": apigateway.AccessLogField.context_identity_user_agent(),
    "apiKeyId": apigateway.AccessLogField.context_identity_api_key_id(),
    "requestTime": apigateway.AccessLogField.context_request_time(),
    "method": apigateway.AccessLogField.context_http_method(),
    "resourcePath": apigateway.AccessLogField.context_resource_path(),
    "path": apigateway.AccessLogField.context_path(),
    "protocol": apigateway.AccessLogField.context_protocol(),
    "status": apigateway.AccessLogField.context_status(),
    "responseLength": apigateway.AccessLogField.context_response_length(),
    "latency": apigateway.AccessLogField.context_response_latency(),
    "integrationLatency": apigateway.AccessLogField.context_integration_latency(),
    "integrationStatus": apigateway.AccessLogField.context_integration_status(),
    "integrationError": apigateway.AccessLogField.context_integration_error_message(),
    "wafStatus": apigateway.AccessLogField.context_waf_response_code(),
    "error": apigateway.AccessLogField.context_error_message(),
    "xrayTraceId": apigateway.AccessLogField.context_xray_trace_id(),
}


def _referer_only_policy(referer: str) -> iam.PolicyDocument:
    """Anyone may invoke the API (its API keys then decide), but only with `referer` as the Referer."""
    everyone = [iam.AnyPrincipal()]
    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(principals=everyone, actions=["execute-api:Invoke"], resources=["execute-api:/*"]),
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                principals=everyone,
                actions=["execute-api:Invoke"],
                resources=["execute-api:/*"],
                # A request without a Referer has no aws:Referer key: StringNotEquals is then true.
                conditions={"StringNotEquals": {"aws:Referer": referer}},
            ),
        ]
    )


class PartnerApi(Construct):
    """The REST API partners call with an API key; it forwards /api and /api/* to the internal ALB.

    - Private integration: a VPC link v2 in the private subnets targets the ALB directly (REST APIs
      support VPC links v2 and ALB targets since late 2025; v1 links needed an NLB in front).
      https://docs.aws.amazon.com/apigateway/latest/developerguide/private-integration.html
    - Auth model: API keys with a usage plan (throttle + monthly quota) per partner, and WAF in front.
    - The API key's value is never a stack output; read it with
      `aws apigateway get-api-key --api-key <id> --include-value`.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: ApiSettings,
        key: kms.IKey,
        vpc: ec2.IVpc,
        load_balancer: elbv2.IApplicationLoadBalancer,
        listener: elbv2.IApplicationListener,
        listener_port: int,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)

        # --- Private path to the load balancer -------------------------------------------------
        self.security_group: ec2.ISecurityGroup = ec2.SecurityGroup(
            self,
            "VpcLinkSecurityGroup",
            vpc=vpc,
            description="API Gateway VPC link to the internal load balancer",
            allow_all_outbound=False,
        )
        vpc_link = apigatewayv2.VpcLink(
            self,
            "VpcLink",
            vpc=vpc,
            subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_groups=[self.security_group],
        )
        # Adds the ALB's ingress from the link's security group and the link's egress to the ALB's, and
        # nothing else: the ALB admits no CIDR for the API.
        load_balancer.connections.allow_from(
            self.security_group, ec2.Port.tcp(listener_port), "API Gateway VPC link (partner API)"
        )

        # --- Access logs -----------------------------------------------------------------------
        access_logs = EncryptedLogGroup(
            self, "AccessLogs", key=key, retention=settings.access_log_retention, removal_policy=removal_policy
        )

        # --- Who may call it -------------------------------------------------------------------
        # Through CloudFront (api.through_cloudfront), the distribution's web ACL is the partners' too, so
        # a call straight to execute-api would pass no WAF: the resource policy refuses every call whose
        # Referer is not the value CloudFront's origin sets (it overwrites a viewer's own Referer). The
        # value is the stack's id, made by CloudFormation at create: unknown outside the account, and
        # readable inside it only where the stack and distribution are (DescribeStacks, GetDistribution).
        # A changed policy redeploys: CDK hashes the whole RestApi resource into its deployment's logical ID.
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-resource-policies-aws-condition-keys.html
        # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/add-origin-custom-headers.html
        stack = Stack.of(self)
        referer = Fn.select(2, Fn.split("/", stack.stack_id)) if settings.through_cloudfront else None

        # --- The REST API ----------------------------------------------------------------------
        api = apigateway.RestApi(
            self,
            "RestApi",
            # Not a unique name (API Gateway allows duplicates); it tells deployments apart in the console.
            rest_api_name=f"{stack.stack_name}-partner-api",
            description="TapStack partner API: /api/* of the storefront, API key required",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            api_key_source_type=apigateway.ApiKeySourceType.HEADER,
            # Execution logging needs the account-level API Gateway CloudWatch role
            # (AWS::ApiGateway::Account, one per account and Region). RETAIN: if a second deployment
            # in the account set it later, deleting this stack must not pull the role out from under it.
            # https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            deploy_options=apigateway.StageOptions(
                stage_name=STAGE_NAME,
                description="Partner API",
                throttling_rate_limit=settings.rate_limit,
                throttling_burst_limit=settings.burst_limit,
                access_log_destination=apigateway.LogGroupLogDestination(access_logs),
                access_log_format=apigateway.AccessLogFormat.custom(json.dumps(_ACCESS_LOG_FIELDS)),
                # ERROR only, and never request/response bodies: they hold customer data.
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
                tracing_enabled=settings.tracing,
            ),
            default_method_options=apigateway.MethodOptions(api_key_required=True),
            policy=_referer_only_policy(referer) if referer is not None else None,
        )
        self.rest_api: apigateway.RestApi = api
        # What CloudFront sends partners' calls to (api.through_cloudfront): the API's regional endpoint with
        # no origin path, since <CloudFrontURL>/v1/... is the API's own path, stage included. (RestApiOrigin
        # would add the stage as the origin path: /v1/v1/...)
        self.cloudfront_origin: cloudfront.IOrigin | None = (
            origins.HttpOrigin(
                f"{api.rest_api_id}.execute-api.{stack.region}.{stack.url_suffix}",
                protocol_policy=cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
                custom_headers={"Referer": referer},
            )
            if referer is not None
            else None
        )
        stage = api.deployment_stage
        acknowledge(
            api,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "The account's API Gateway logging role uses the AWS managed policy made for exactly this "
            "role; AWS updates it as API Gateway's logging needs change.",
        )
        acknowledge(
            api,
            "AwsSolutions-APIG2",
            "The API proxies to the service and defines no request models, so there is no body schema to "
            "validate; the validator checks the declared parameters, and the service validates bodies "
            "(422 with its error shape).",
        )
        for rule in ("PCI.DSS.321-APIGWCacheEnabledAndEncrypted", "NIST.800.53.R5-APIGWCacheEnabledAndEncrypted"):
            acknowledge(
                stage,
                rule,
                "Caching is deliberately off: responses are carts, orders and stock levels that must be "
                "current and are specific to the caller; a stage cache would serve stale or another "
                "partner's data.",
            )
        for rule in ("PCI.DSS.321-APIGWSSLEnabled", "NIST.800.53.R5-APIGWSSLEnabled"):
            acknowledge(
                stage,
                rule,
                "A client certificate lets an HTTPS backend on the internet authenticate API Gateway; ours is "
                "reached only through the VPC link inside the VPC, and its security group admits only the "
                "link's security group.",
            )

        # API Gateway's own refusals (missing or wrong key, throttled, quota used up, WAF block, backend
        # unreachable) answer in the storefront's error shape, so partners handle one format. The code
        # is API Gateway's response type (INVALID_API_KEY, THROTTLED, QUOTA_EXCEEDED, WAF_FILTERED...).
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
        for name, response_type in (
            ("Default4xx", apigateway.ResponseType.DEFAULT_4_XX),
            ("Default5xx", apigateway.ResponseType.DEFAULT_5_XX),
        ):
            api.add_gateway_response(
                name,
                type=response_type,
                templates={"application/json": ERROR_TEMPLATE},
                response_headers={"x-request-id": "context.requestId"},
            )

        # The API proxies: it defines no bodies of its own, so there is no model to validate a body
        # against (the service validates them and answers 422). What API Gateway can check is that the
        # declared request parameters (the {proxy} path) are present.
        validator = api.add_request_validator(
            "ParameterValidator", validate_request_parameters=True, validate_request_body=False
        )

        # VPC link v2 for REST: the aws_apigateway L2 only knows v1 links (NLB targets); importing the v2
        # link's id lets the L2 Integration render ConnectionType VPC_LINK and ConnectionId.
        link = apigateway.VpcLink.from_vpc_link_id(self, "VpcLinkRef", vpc_link.vpc_link_id)
        # A private integration sends the stage ahead of the path unless the integration overrides the
        # path: "In a private integration, API Gateway includes the stage portion of the API endpoint in
        # the request to your backend resources. [...] To remove the stage name from the request to your
        # backend resources, use parameter mapping to create an override for the
        # $context.requestOverride.path variable."
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/private-integration.html
        # The ALB forwards only /api/* and /health*, so /v1/api/products would get its 404. So no
        # integration here relies on the default path: every segment of each URI's path is a path
        # parameter set by parameter mapping, from a static value or the method's stage-free {proxy}.
        # integration.request.path.* sets what $context.requestOverride.path.* overrides in a mapping
        # template, and mapping templates do not run for HTTP_PROXY integrations.
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-parameter-mapping-sources.html
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-override-request-response-parameters.html
        # Plain HTTP to the internal listener is acceptable only because the hop never leaves the VPC: the
        # VPC link's network interfaces are in our private subnets (never HTTP across the internet).
        host = f"http://{load_balancer.load_balancer_dns_name}:{listener_port}"
        prefix_override = {"integration.request.path.prefix": f"'{PREFIX}'"}

        prefix = api.root.add_resource(PREFIX)
        prefix_method = prefix.add_method(
            "ANY",
            apigateway.HttpIntegration(
                f"{host}/{{prefix}}",
                http_method="ANY",
                proxy=True,
                options=apigateway.IntegrationOptions(
                    connection_type=apigateway.ConnectionType.VPC_LINK,
                    vpc_link=link,
                    request_parameters=prefix_override,
                ),
            ),
            request_validator=validator,
        )
        # {proxy+} matches the rest of the path; it is mapped into the URI after /api, so /api/products
        # reaches the ALB as /api/products.
        proxy = prefix.add_resource("{proxy+}")
        proxy_method = proxy.add_method(
            "ANY",
            apigateway.HttpIntegration(
                f"{host}/{{prefix}}/{{proxy}}",
                http_method="ANY",
                proxy=True,
                options=apigateway.IntegrationOptions(
                    connection_type=apigateway.ConnectionType.VPC_LINK,
                    vpc_link=link,
                    request_parameters={
                        **prefix_override,
                        "integration.request.path.proxy": "method.request.path.proxy",
                    },
                ),
            ),
            request_parameters={"method.request.path.proxy": True},
            request_validator=validator,
        )
        for method in (prefix_method, proxy_method):
            # IntegrationTarget (the load balancer a VPC link v2 sends to) has no L2 property yet in
            # aws-cdk-lib 2.275; the URI's host only sets the Host header.
            # https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-private-integration.html
            cfn_resource(method).add_property_override("Integration.IntegrationTarget", load_balancer.load_balancer_arn)
            # The listener must exist before API Gateway can send to it (a no-op for an imported one).
            method.node.add_dependency(listener)
            # The override is invisible to the deployment's hash: add it, so a new target redeploys.
            if api.latest_deployment is not None:
                api.latest_deployment.add_to_logical_id({"integrationTarget": load_balancer.load_balancer_arn})
            acknowledge(
                method,
                "AwsSolutions-APIG4",
                "Partners authenticate with API keys bound to a usage plan; the "
                "service authorizes each call itself. An IAM or Cognito authorizer would need partner "
                "identities we do not manage.",
            )
            acknowledge(
                method,
                "AwsSolutions-COG4",
                "Partners are machines with API keys, not users of a Cognito user pool.",
            )

        # --- Partner credentials and usage plan ------------------------------------------------
        # One key to start with; each further partner gets a key in this plan (docs/partner-api.md).
        # https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html
        self.api_key: apigateway.IApiKey = apigateway.ApiKey(
            self,
            "PartnerKey",
            description="TapStack partner API key (value: aws apigateway get-api-key --include-value)",
            enabled=True,
        )
        self.usage_plan: apigateway.UsagePlan = api.add_usage_plan(
            "UsagePlan",
            description="Partner throttle and monthly quota per API key",
            throttle=apigateway.ThrottleSettings(rate_limit=settings.rate_limit, burst_limit=settings.burst_limit),
            quota=apigateway.QuotaSettings(limit=settings.monthly_quota, period=apigateway.Period.MONTH),
            api_stages=[apigateway.UsagePlanPerApiStage(api=api, stage=stage)],
        )
        self.usage_plan.add_api_key(self.api_key)

        # --- WAF -------------------------------------------------------------------------------
        # Its own REGIONAL web ACL, or none where partners come through CloudFront, whose web ACL then is theirs.
        self.web_acl: wafv2.CfnWebACL | None = None
        if settings.through_cloudfront:
            reason = (
                "Partners call the API through the storefront's CloudFront distribution, whose web ACL inspects "
                "every request; the API's resource policy refuses a call without the Referer that only that "
                "distribution sends (api.through_cloudfront)."
            )
            rules = (
                "AwsSolutions-APIG3",
                "PCI.DSS.321-APIGWAssociatedWithWAF",
                "NIST.800.53.R5-APIGWAssociatedWithWAF",
            )
            acknowledge_all(stage, dict.fromkeys(rules, reason))
        else:
            self.web_acl = self._own_web_acl(settings, stage=stage, key=key, removal_policy=removal_policy)

    def _own_web_acl(
        self, settings: ApiSettings, *, stage: apigateway.Stage, key: kms.IKey, removal_policy: RemovalPolicy
    ) -> wafv2.CfnWebACL:
        """The stage's REGIONAL web ACL, with its logs."""
        waf = WebAcl(
            self,
            "Waf",
            waf_scope="REGIONAL",
            metric_name="PartnerApi",
            rate_limit=settings.waf_rate_limit,
            key=key,
            log_retention=settings.access_log_retention,
            removal_policy=removal_policy,
            redacted_headers=PARTNER_REDACTED_HEADERS,
            managed_rule_groups=settings.waf_rule_groups,
            resource_type="API_GATEWAY",
            counted_rules=PARTNER_COUNTED_RULES,
        )
        # aws_wafv2 has no L2 constructs, only CloudFormation resources.
        wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=stage.stage_arn,
            web_acl_arn=waf.web_acl.attr_arn,
        )
        return waf.web_acl
