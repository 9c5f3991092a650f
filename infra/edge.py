"""The browser front door: the static site's buckets, CloudFront with its WAF web ACL, the page's deployment.

`/*` is served from a private S3 bucket through Origin Access Control, `/api/*` goes
to the internal load balancer through a CloudFront VPC origin; nothing of either is public.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_cloudfront_origins as origins
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.api import STAGE_NAME
from infra.cfn import cfn_resource
from infra.compliance import acknowledge, acknowledge_all
from infra.config import EdgeSettings
from infra.edge_guard import EdgeGuard
from infra.log_storage import AccessLogBucket, EncryptedLogGroup

# The query strings the catalog reads (GET /api/products?limit=&cursor=&q=); the edge's cache key.
CATALOG_QUERY_STRINGS = ("limit", "cursor", "q")
# The longest CloudFront keeps a catalog response, whatever max-age the service sends.
CATALOG_MAX_TTL_SECONDS = 300

# The page loads only its own script, style sheet and API; nothing may frame it.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class Edge(Construct):
    """CloudFront in front of the site bucket and the internal load balancer, guarded by a WAF web ACL.

    The web ACL (scope CLOUDFRONT) and a custom domain's certificate exist only in us-east-1: `guard`
    brings them from the companion stack there when this stack is elsewhere (infra/edge_guard.py).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        settings: EdgeSettings,
        key: kms.IKey,
        load_balancer: elbv2.IApplicationLoadBalancer,
        listener_port: int,
        removal_policy: RemovalPolicy,
        site_source: str,
        partner_origin: cloudfront.IOrigin | None = None,
        guard: EdgeGuard | None = None,
    ) -> None:
        """`partner_origin`: the partner API, when partners call it through this distribution
        (api.through_cloudfront) under /v1/*, its URL's path on its own endpoint."""
        super().__init__(scope, id)
        stack = Stack.of(self)
        # Without emptying, CloudFormation cannot delete a bucket that holds objects; where the profile
        # says DESTROY (dev) CDK's auto-delete custom resource empties it first.
        auto_delete = removal_policy is RemovalPolicy.DESTROY

        # Access logs of the site bucket (S3 server access logs) and of the distribution. Legacy
        # CloudFront standard logging is used rather than logging v2 (AWS::Logs::Delivery*), because
        # it is what cdk-nag (AwsSolutions-CFR3) and checkov (CKV_AWS_86) recognise as logging on.
        # It writes with the awslogsdelivery account's object ACL, so this bucket alone keeps ACLs
        # (ObjectWriter). https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logging-legacy-s3.html
        log_bucket = AccessLogBucket(
            self,
            "AccessLogs",
            expiration_days=settings.access_log_days,
            noncurrent_version_days=settings.noncurrent_version_days,
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
            removal_policy=removal_policy,
        )

        bucket = s3.Bucket(
            self,
            "Site",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            # An S3 Bucket Key cuts the KMS requests (and their cost) of every CloudFront cache miss.
            bucket_key_enabled=True,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    noncurrent_version_expiration=Duration.days(settings.noncurrent_version_days),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            server_access_logs_bucket=log_bucket,
            server_access_logs_prefix="s3/site/",
            removal_policy=removal_policy,
            auto_delete_objects=auto_delete,
        )
        for rule in ("PCI.DSS.321-S3BucketReplicationEnabled", "NIST.800.53.R5-S3BucketReplicationEnabled"):
            acknowledge(
                bucket,
                rule,
                "The site's objects are rebuilt from storefront/web/ in git on every deploy; a replica adds "
                "cost and no recovery.",
            )

        # The web ACL and certificate come from the companion us-east-1 stack outside us-east-1
        # (infra/edge_guard.py); in us-east-1 they are this construct's own.
        guard = guard or EdgeGuard.create(
            self, settings=settings, key=key, removal_policy=removal_policy, serves_partners=partner_origin is not None
        )
        web_acl, certificate = guard.web_acl, guard.certificate
        security_headers = cloudfront.ResponseHeadersPolicy(
            self,
            "SecurityHeaders",
            comment="Security headers of the storefront",
            security_headers_behavior=cloudfront.ResponseSecurityHeadersBehavior(
                strict_transport_security=cloudfront.ResponseHeadersStrictTransportSecurity(
                    access_control_max_age=Duration.days(365 * 2), include_subdomains=True, override=True
                ),
                content_security_policy=cloudfront.ResponseHeadersContentSecurityPolicy(
                    content_security_policy=CONTENT_SECURITY_POLICY, override=True
                ),
                content_type_options=cloudfront.ResponseHeadersContentTypeOptions(override=True),
                frame_options=cloudfront.ResponseHeadersFrameOptions(
                    frame_option=cloudfront.HeadersFrameOption.DENY, override=True
                ),
                referrer_policy=cloudfront.ResponseHeadersReferrerPolicy(
                    referrer_policy=cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
                    override=True,
                ),
            ),
        )

        # OAC, not an origin access identity: an OAI cannot read SSE-KMS objects, and
        # granting one puts a CanonicalUser into the key policy. CDK writes the bucket policy
        # statement for exactly this distribution and a key policy statement for cloudfront.amazonaws.com
        # (kms:Decrypt). That key statement names this account's distributions
        # (AWS:SourceArn arn:aws:cloudfront::<account>:distribution/*), not this one: the key encrypts
        # the bucket the distribution reads, so naming the distribution in the key policy is a
        # dependency cycle key -> distribution -> bucket -> key (tried: cfn-lint E3004, CloudFormation
        # rejects it). The bucket policy, which names this distribution, decides what CloudFront reads.
        # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html
        site_origin = origins.S3BucketOrigin.with_origin_access_control(bucket)

        # The VPC origin reaches the internal load balancer through interfaces CloudFront places in our
        # VPC (which needs an internet gateway, Network's public subnets bring it).
        # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-vpc-origins.html
        api_origin = origins.VpcOrigin.with_application_load_balancer(
            load_balancer,
            # Plain HTTP to the internal listener: the VPC origin carries the request on AWS's network from
            # CloudFront's interfaces inside our VPC, and HTTPS to the origin would need a certificate for
            # a domain of ours, which edge.domain_name leaves optional.
            http_port=listener_port,
            protocol_policy=cloudfront.OriginProtocolPolicy.HTTP_ONLY,
        )
        api_behavior = cloudfront.BehaviorOptions(
            origin=api_origin,
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
            allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
            # Carts, orders and admin answers are per caller and must be current (the service also
            # says Cache-Control: no-store); nothing under /api/* outside the catalog is cached.
            cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
            # Every query string and viewer header (Idempotency-Key, Content-Type) reaches the service.
            # An origin request policy cannot list Authorization; CloudFront forwards it anyway on
            # POST/PUT/PATCH/DELETE, the only methods the admin routes take.
            # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html
            origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
            response_headers_policy=security_headers,
            compress=True,
        )

        # The catalog (GET /api/products, /api/products/{id}) is the same for every shopper, and the
        # service answers it by path and limit/cursor/q alone with Cache-Control: public, max-age,
        # stale-while-revalidate and an ETag. The cache key holds exactly that: a query string CloudFront
        # ignored would serve one search's page for another, one it added would split the cache for
        # nothing. No header or cookie is in the key, because the service varies on none.
        # TTLs follow the service's Cache-Control: min 0 honours its no-store on errors, default 0 keeps
        # a response without Cache-Control out of the cache, and max 300 s bounds how long an admin's
        # price or stock change can stay hidden at the edge whatever the service's max-age setting.
        # Once stale, CloudFront revalidates with If-None-Match and a 304 renews the object.
        # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/controlling-the-cache-key.html
        # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/Expiration.html
        catalog_cache = cloudfront.CachePolicy(
            self,
            "CatalogCache",
            comment="Storefront catalog: path + limit, cursor, q; TTLs from the service's Cache-Control",
            query_string_behavior=cloudfront.CacheQueryStringBehavior.allow_list(*CATALOG_QUERY_STRINGS),
            header_behavior=cloudfront.CacheHeaderBehavior.none(),
            cookie_behavior=cloudfront.CacheCookieBehavior.none(),
            # Accept-Encoding normalised into the key, so CloudFront stores and serves gzip and brotli.
            enable_accept_encoding_gzip=True,
            enable_accept_encoding_brotli=True,
            min_ttl=Duration.seconds(0),
            default_ttl=Duration.seconds(0),
            max_ttl=Duration.seconds(CATALOG_MAX_TTL_SECONDS),
        )
        catalog_behavior = cloudfront.BehaviorOptions(
            origin=api_origin,
            viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
            # The admin's POST /api/products and PATCH /api/products/{id} share these paths; CloudFront
            # caches GET and HEAD only and passes every other method to the origin uncached.
            allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
            cached_methods=cloudfront.CachedMethods.CACHE_GET_HEAD,
            cache_policy=catalog_cache,
            # The origin gets the cache key's query strings and, beyond them, only Content-Type (for the
            # admin's JSON bodies; CloudFront forwards Authorization on writes by itself), which no
            # catalog read looks at: no cached response can depend on something the key does not hold.
            origin_request_policy=cloudfront.OriginRequestPolicy(
                self,
                "CatalogOriginRequest",
                comment="Storefront catalog: the cache key plus Content-Type for admin writes",
                query_string_behavior=cloudfront.OriginRequestQueryStringBehavior.none(),
                header_behavior=cloudfront.OriginRequestHeaderBehavior.allow_list("Content-Type"),
                cookie_behavior=cloudfront.OriginRequestCookieBehavior.none(),
            ),
            response_headers_policy=security_headers,
            compress=True,
        )

        behaviors = {
            "/api/products": catalog_behavior,
            "/api/products/*": catalog_behavior,
            "/api/*": api_behavior,
        }
        if partner_origin is not None:
            # Partners' calls pass this distribution's web ACL, then go to the REST API as they are: every
            # header (x-api-key) and query string, nothing cached, HTTPS only (a redirect would turn a
            # partner's POST into a GET).
            behaviors[f"/{STAGE_NAME}/*"] = cloudfront.BehaviorOptions(
                origin=partner_origin,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.HTTPS_ONLY,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_ALL,
                cache_policy=cloudfront.CachePolicy.CACHING_DISABLED,
                origin_request_policy=cloudfront.OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
                compress=True,
            )

        distribution = cloudfront.Distribution(
            self,
            "Distribution",
            comment=f"Storefront of {stack.stack_name}",
            default_behavior=cloudfront.BehaviorOptions(
                origin=site_origin,
                viewer_protocol_policy=cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
                allowed_methods=cloudfront.AllowedMethods.ALLOW_GET_HEAD,
                cache_policy=cloudfront.CachePolicy.CACHING_OPTIMIZED,
                response_headers_policy=security_headers,
                compress=True,
            ),
            # CloudFront takes the first behavior whose pattern matches, in this order: the catalog's
            # two patterns (exact, so /api/productsX is not the catalog) before the /api/* catch-all.
            # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/distribution-web-values-specify.html#DownloadDistValuesPathPattern
            additional_behaviors=behaviors,
            default_root_object="index.html",
            http_version=cloudfront.HttpVersion.HTTP2_AND_3,
            price_class=settings.price_class,
            web_acl_id=web_acl.attr_arn,
            enable_logging=True,
            log_bucket=log_bucket,
            log_file_prefix="cloudfront/",
            domain_names=[settings.domain_name] if settings.domain_name else None,
            certificate=certificate,
            minimum_protocol_version=(cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021 if certificate else None),
        )
        acknowledge(
            distribution,
            "AwsSolutions-CFR1",
            "The shop sells worldwide; no country is excluded by law or contract.",
        )
        if certificate is None:
            acknowledge(
                distribution,
                "AwsSolutions-CFR4",
                "Without edge.domain_name/certificate_arn the distribution serves *.cloudfront.net with "
                "CloudFront's own certificate, whose minimum protocol CloudFront fixes; with a certificate "
                "it is TLSv1.2_2021.",
            )

        # The load balancer admits CloudFront's origin-facing addresses on the listener port and
        # nothing else from outside the VPC. AWS names two ways: this managed prefix list, or the
        # service-managed group CloudFront-VPCOrigins-Service-SG, which only exists after the first VPC
        # origin is created and whose id CloudFormation does not return (it would need a describe
        # custom resource). The prefix list is known before deploy (edge.origin_facing_prefix_list_id).
        # It weighs 55 of the default 60 rules per security group: the load balancer's group has room
        # for a few more rules (the API's VPC link), not for another prefix list.
        # https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-vpc-origins.html
        # https://docs.aws.amazon.com/vpc/latest/userguide/working-with-aws-managed-prefix-lists.html#aws-managed-prefix-list-weight
        load_balancer.connections.allow_from(
            ec2.Peer.prefix_list(settings.origin_facing_prefix_list_id),
            ec2.Port.tcp(listener_port),
            "CloudFront VPC origin (origin-facing prefix list)",
        )

        deployment_logs = EncryptedLogGroup(
            self, "DeploymentLogs", key=key, retention=settings.log_retention, removal_policy=removal_policy
        )
        deployment = s3deploy.BucketDeployment(
            self,
            "DeploySite",
            sources=[s3deploy.Source.asset(site_source)],
            destination_bucket=bucket,
            distribution=distribution,
            distribution_paths=["/*"],
            # Browsers re-check within 5 minutes; CloudFront is invalidated on every deploy.
            cache_control=[s3deploy.CacheControl.from_string("public, max-age=300")],
            log_group=deployment_logs,
            memory_limit=256,
        )
        self._acknowledge_deployment(deployment, bucket)
        # CDK warns (on the key's scope) that its OAC key statement matches this account's distributions;
        # the comment at `site_origin` says why no tighter statement can exist in one stack.
        key_scope = key.node.scope
        if isinstance(key_scope, Construct):
            acknowledge(
                key_scope,
                "Annotation::@aws-cdk/aws-cloudfront-origins:wildcardKeyPolicyForOac",
                "Naming this distribution in the key policy is a dependency cycle (key -> distribution -> "
                "bucket -> key); the site bucket's policy names this distribution alone.",
            )

        self.bucket: s3.IBucket = bucket
        self.distribution: cloudfront.IDistribution = distribution
        self.web_acl: wafv2.CfnWebACL = web_acl
        self.domain_name: str = settings.domain_name or distribution.distribution_domain_name

    @staticmethod
    def _acknowledge_deployment(deployment: s3deploy.BucketDeployment, bucket: s3.Bucket) -> None:
        """Accept the findings of CDK's BucketDeployment function, which copies storefront/web/ into the
        bucket at deploy time and invalidates the distribution; CDK owns its code and policy."""
        # The function is a stack-level singleton (shared by deployments with the same memory size); its
        # role is the one child we can reach, and its scope is the function.
        function = deployment.handler_role.node.scope
        if not isinstance(function, Construct):
            raise TypeError("BucketDeployment's role has no function scope")
        stack = Stack.of(bucket)
        # The function's construct dependency on its role renders DependsOn on the role (beside the
        # GetAtt of it, cfn-lint W3005) and on the role's policy; only the policy one orders anything.
        policy = deployment.handler_role.node.find_child("DefaultPolicy")
        cfn_resource(function).add_override("DependsOn", [stack.get_logical_id(cfn_resource(policy))])
        region = stack.region
        # cdk-nag names the account as the template does: a literal where the stack's account is known.
        account = "<AWS::AccountId>" if Token.is_unresolved(stack.account) else stack.account
        bucket_id = stack.resolve(cfn_resource(bucket).logical_id)
        reasons = {
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]": (
                "AWSLambdaBasicExecutionRole only lets the function write its own logs; CDK attaches it."
            ),
            "AwsSolutions-IAM5[Action::s3:GetBucket*]": "Reading the site's zip from the CDK asset bucket.",
            "AwsSolutions-IAM5[Action::s3:GetObject*]": "Reading the site's zip from the CDK asset bucket.",
            "AwsSolutions-IAM5[Action::s3:List*]": "Listing the site bucket to prune files no longer in git.",
            f"AwsSolutions-IAM5[Resource::arn:aws:s3:::cdk-hnb659fds-assets-{account}-{region}/*]": (
                "The CDK bootstrap asset bucket's objects: the zip's key is only known at publish time."
            ),
            "AwsSolutions-IAM5[Action::s3:Abort*]": "Write to the site bucket, CDK's grantReadWrite.",
            "AwsSolutions-IAM5[Action::s3:DeleteObject*]": "Prune of the site bucket, CDK's grantReadWrite.",
            f"AwsSolutions-IAM5[Resource::<{bucket_id}.Arn>/*]": (
                "Every object of the site bucket (and only of it): the deployment replaces the whole site."
            ),
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]": "Encrypting the site's objects with our key.",
            "AwsSolutions-IAM5[Action::kms:ReEncrypt*]": "CDK's grant on our key for the site bucket.",
            "AwsSolutions-IAM5[Resource::*]": (
                "Only cloudfront:CreateInvalidation and GetInvalidation, which CDK grants on '*': they "
                "empty caches and read invalidation status, never change a distribution or read data."
            ),
            "AwsSolutions-L1": "CDK pins this function's Python runtime to the AWS CLI layer it bundles.",
            "PCI.DSS.321-IAMNoInlinePolicy": (
                "CDK writes the role's policy inline for exactly this function; an inline policy cannot "
                "be attached to another principal."
            ),
            "PCI.DSS.321-LambdaInsideVPC": (
                "The function only talks to S3 and CloudFront's public APIs at deploy time, holds no "
                "customer data and needs no private resource."
            ),
            "NIST.800.53.R5-LambdaConcurrency": (
                "CloudFormation invokes the function once per deploy; reserved concurrency would take "
                "from the account's pool and buy nothing."
            ),
            "NIST.800.53.R5-LambdaDLQ": (
                "CloudFormation invokes the function synchronously and gets its failure back (the deploy "
                "fails and rolls back); a dead-letter queue only receives failed asynchronous invocations."
            ),
        }
        acknowledge_all(function, reasons, nist_twins=("IAMNoInlinePolicy", "LambdaInsideVPC"))
