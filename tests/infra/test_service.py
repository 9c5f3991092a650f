"""infra/service.py: Fargate service, internal load balancer, routing, scaling, secrets."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match

from infra.context import load_config
from tests.synthesis import Synthesized


def _one(synthesized: Synthesized, resource_type: str) -> dict[str, Any]:
    (resource,) = synthesized.of_type(resource_type).values()
    properties: dict[str, Any] = resource["Properties"]
    return properties


def _properties(synthesized: Synthesized, resource_type: str) -> list[dict[str, Any]]:
    return [resource["Properties"] for resource in synthesized.of_type(resource_type).values()]


def _task(synthesized: Synthesized) -> dict[str, Any]:
    """The service's task definition (the scheduled jobs have their own)."""
    (task,) = (
        resource["Properties"]
        for logical_id, resource in synthesized.of_type("AWS::ECS::TaskDefinition").items()
        if logical_id.startswith("ServiceTask")
    )
    return task  # type: ignore[no-any-return]


def _container(synthesized: Synthesized) -> dict[str, Any]:
    (container,) = _task(synthesized)["ContainerDefinitions"]
    return container  # type: ignore[no-any-return]


def test_one_port_from_container_to_health_checks(profile: Synthesized) -> None:
    """Seed D3: the container, the service's load balancer mapping, the target group and its health
    check all use port 8000, so tasks can become healthy."""
    assert _container(profile)["PortMappings"][0]["ContainerPort"] == 8000
    assert _one(profile, "AWS::ECS::Service")["LoadBalancers"][0]["ContainerPort"] == 8000
    for target_group in _properties(profile, "AWS::ElasticLoadBalancingV2::TargetGroup"):
        assert target_group["Port"] == 8000
        assert target_group["HealthCheckPort"] == "8000"


def test_load_balancer_is_not_reachable_from_the_internet(profile: Synthesized) -> None:
    """Seed D10: the load balancer is internal, in the private subnets."""
    load_balancer = _one(profile, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert load_balancer["Scheme"] == "internal"
    assert all("PrivateSubnet" in subnet["Ref"] for subnet in load_balancer["Subnets"])


def test_unrouted_paths_get_a_json_404(profile: Synthesized) -> None:
    """Seed D15: the default action is a 404 in the API's error shape, never a 200 that hides outages."""
    (action,) = _one(profile, "AWS::ElasticLoadBalancingV2::Listener")["DefaultActions"]
    config = action["FixedResponseConfig"]
    assert config["StatusCode"] == "404"
    assert config["ContentType"] == "application/json"
    assert json.loads(config["MessageBody"])["error"]["code"] == "not_found"


def test_api_and_health_paths_forward_to_the_service(profile: Synthesized) -> None:
    """/api/* and /health* reach the tasks; nothing is answered by a static rule."""
    rule = _one(profile, "AWS::ElasticLoadBalancingV2::ListenerRule")
    assert rule["Conditions"] == [{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*", "/health*"]}}]
    assert rule["Actions"][0]["Type"] == "forward"


def test_target_group_checks_liveness_not_readiness(profile: Synthesized) -> None:
    """ELB health checks on /health: /health/ready would fail every task while a dev database pauses.
    Blue/green's alternate target group checks the same way, so green tasks join like blue ones."""
    for target_group in _properties(profile, "AWS::ElasticLoadBalancingV2::TargetGroup"):
        assert target_group["HealthCheckPath"] == "/health"
        assert target_group["HealthyThresholdCount"] == 2
        assert target_group["UnhealthyThresholdCount"] == 3
        assert target_group["TargetType"] == "ip"


def test_failed_deployments_roll_back(profile: Synthesized) -> None:
    """ECS deployment circuit breaker: a task that never becomes healthy rolls back in minutes instead
    of CloudFormation waiting hours; no capacity is lost during a deploy."""
    deployment = _one(profile, "AWS::ECS::Service")["DeploymentConfiguration"]
    assert deployment["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert (deployment["MaximumPercent"], deployment["MinimumHealthyPercent"]) == (200, 100)
    assert _one(profile, "AWS::ECS::Service")["HealthCheckGracePeriodSeconds"] >= 60


def test_tasks_run_on_graviton(profile: Synthesized) -> None:
    """Fargate ARM64 runtime platform (the image is built for linux/arm64)."""
    assert _task(profile)["RuntimePlatform"] == {
        "CpuArchitecture": "ARM64",
        "OperatingSystemFamily": "LINUX",
    }


def test_dev_tasks_run_on_fargate_spot_after_the_cluster_has_it(dev: Synthesized) -> None:
    """service.capacity=FARGATE_SPOT (dev and previews). AWS rule: "FARGATE_SPOT supports Linux tasks with the
    ARM64 architecture on platform version 1.4.0 or later", and a service's strategy may only name capacity
    providers associated with its cluster, so the service DependsOn the association and has no launch type.
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CapacityProviderStrategyItem.html
    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ecs-clustercapacityproviderassociations.html"""
    (service,) = dev.of_type("AWS::ECS::Service").values()
    properties = service["Properties"]
    assert properties["CapacityProviderStrategy"] == [{"CapacityProvider": "FARGATE_SPOT", "Weight": 1}]
    assert "LaunchType" not in properties
    assert properties["PlatformVersion"] == "LATEST"
    assert _task(dev)["RuntimePlatform"]["CpuArchitecture"] == "ARM64"
    ((association_id, association),) = dev.of_type("AWS::ECS::ClusterCapacityProviderAssociations").items()
    assert association["Properties"]["CapacityProviders"] == ["FARGATE", "FARGATE_SPOT"]
    # No default strategy: the release step and the jobs keep their FARGATE launch type (never interrupted).
    assert association["Properties"]["DefaultCapacityProviderStrategy"] == []
    assert association["Properties"]["Cluster"] == properties["Cluster"]
    assert association_id in service["DependsOn"]


def test_staging_and_prod_tasks_run_on_demand(staging: Synthesized, prod: Synthesized) -> None:
    """service.capacity=FARGATE: the FARGATE launch type as before (a Spot interruption would stop a task
    that customers' requests are on), no capacity provider association to change.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-capacity-providers.html"""
    for synthesized in (staging, prod):
        properties = _one(synthesized, "AWS::ECS::Service")
        assert properties["LaunchType"] == "FARGATE"
        assert "CapacityProviderStrategy" not in properties
        assert properties["PlatformVersion"] == "LATEST"
        assert synthesized.of_type("AWS::ECS::ClusterCapacityProviderAssociations") == {}


def test_container_is_hardened(profile: Synthesized) -> None:
    """Read-only root filesystem, a non-root user, and a container health check on /health."""
    container = _container(profile)
    assert container["ReadonlyRootFilesystem"] is True
    assert container["User"] == "10001"
    assert "/health" in " ".join(container["HealthCheck"]["Command"])


def test_secrets_are_injected_by_arn_per_field(profile: Synthesized) -> None:
    """Seed D8: ECS reads single JSON keys of the secrets (ARN:field::), never the whole secret."""
    secrets = {s["Name"]: s["ValueFrom"] for s in _container(profile)["Secrets"]}
    assert set(secrets) == {"DB_USERNAME", "DB_PASSWORD", "STOREFRONT_ADMIN_TOKEN"}
    assert secrets["DB_USERNAME"]["Fn::Join"][1][-1] == ":username::"
    assert secrets["DB_PASSWORD"]["Fn::Join"][1][-1] == ":password::"
    assert secrets["STOREFRONT_ADMIN_TOKEN"]["Fn::Join"][1][-1] == ":token::"


def test_no_secret_value_in_any_environment_variable(profile: Synthesized) -> None:
    """Environment variables are visible to anyone who can describe the task definition: they hold
    where things are, never a password or a resolved secret."""
    for task in profile.of_type("AWS::ECS::TaskDefinition").values():
        for container in task["Properties"]["ContainerDefinitions"]:
            environment = {e["Name"]: e["Value"] for e in container.get("Environment", [])}
            assert "{{resolve:secretsmanager" not in json.dumps(environment)
            assert not [name for name in environment if "PASSWORD" in name or "TOKEN" in name.split("_")[-1:]]
            # The attachment's Ref is the secret's ARN.
            assert environment["DB_SECRET_ARN"] == {"Ref": "DatabaseClusterSecretAttachmentDC8466C0"}


def test_task_role_reads_exactly_the_database_secret(profile: Synthesized) -> None:
    """Least privilege: the task role's grant names the secret; the only wildcard resource is ECS Exec's
    actions that have no resource-level permissions (ecs-exec.html)."""
    task_role = _task(profile)["TaskRoleArn"]["Fn::GetAtt"][0]
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in profile.of_type("AWS::IAM::Policy").values()
        if {"Ref": task_role} in p["Properties"]["Roles"]
    ]
    statements = [s for statements in policies for s in statements]
    secret_reads = [s for s in statements if "secretsmanager:GetSecretValue" in s["Action"]]
    assert secret_reads
    unscoped = {"logs:DescribeLogGroups", *SSM_MESSAGES}
    assert all(s["Resource"] != "*" or set(_as_list(s["Action"])) <= unscoped for s in statements)


def test_container_logs_go_to_an_encrypted_log_group(profile: Synthesized) -> None:
    """Seed D2: the log group uses our key, whose policy lets CloudWatch Logs use it."""
    options = _container(profile)["LogConfiguration"]["Options"]
    group = profile.resources[options["awslogs-group"]["Ref"]]["Properties"]
    assert "KmsKeyId" in group and group["RetentionInDays"] > 0


def test_access_logs_bucket_is_sse_s3_and_admits_the_regional_elb_account(profile: Synthesized) -> None:
    """ALB access logs: the bucket must use SSE-S3 and its policy must let the region's ELB account
    (us-east-1: 127311923021) write under the prefix; it also refuses non-TLS requests."""
    profile.template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
            "LifecycleConfiguration": {"Rules": [Match.object_like({"ExpirationInDays": Match.any_value()})]},
        },
    )
    profile.template.has_resource_properties(
        "AWS::S3::BucketPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
                        Match.object_like(
                            {"Action": "s3:PutObject", "Principal": {"AWS": "arn:aws:iam::127311923021:root"}}
                        ),
                    ]
                )
            }
        },
    )


def test_tasks_admit_only_the_load_balancer(profile: Synthesized) -> None:
    """Tasks in private subnets; their only ingress is the load balancer's security group on 8000."""
    service = _one(profile, "AWS::ECS::Service")
    (group,) = service["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
    ingress = [
        r["Properties"]
        for r in profile.of_type("AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == group
    ]
    assert len(ingress) == 1
    assert ingress[0]["FromPort"] == ingress[0]["ToPort"] == 8000
    assert ingress[0]["SourceSecurityGroupId"]["Fn::GetAtt"][0].startswith("ServiceLoadBalancerSecurityGroup")


def test_database_admits_the_tasks(profile: Synthesized) -> None:
    service = _one(profile, "AWS::ECS::Service")
    (group,) = service["NetworkConfiguration"]["AwsvpcConfiguration"]["SecurityGroups"]
    sources = [
        r["Properties"].get("SourceSecurityGroupId") for r in profile.of_type("AWS::EC2::SecurityGroupIngress").values()
    ]
    assert group in sources


@pytest.mark.parametrize(("environment", "low", "high"), [("dev", 1, 2), ("staging", 2, 4), ("prod", 2, 10)])
def test_task_count_scales_within_the_profile_bounds(synth, environment: str, low: int, high: int) -> None:  # type: ignore[no-untyped-def]
    target = _one(synth(environment), "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (low, high)
    assert _one(synth(environment), "AWS::ECS::Service")["DesiredCount"] == low


def test_scaling_tracks_cpu_memory_and_requests_scaling_in_slower_than_out(profile: Synthesized) -> None:
    """Target tracking on CPU, memory and ALB requests per target; a longer scale-in cooldown stops a
    short dip from removing capacity that the next burst needs."""
    policies = [
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"]
        for p in profile.of_type("AWS::ApplicationAutoScaling::ScalingPolicy").values()
    ]
    # Blue/green tracks the same ALB metric summed over both target groups (a customized metric).
    metrics = {
        p["PredefinedMetricSpecification"]["PredefinedMetricType"]
        if "PredefinedMetricSpecification" in p
        else "ALB" + p["CustomizedMetricSpecification"]["Metrics"][0]["MetricStat"]["Metric"]["MetricName"]
        for p in policies
    }
    assert metrics == {
        "ECSServiceAverageCPUUtilization",
        "ECSServiceAverageMemoryUtilization",
        "ALBRequestCountPerTarget",
    }
    assert all(p["ScaleInCooldown"] > p["ScaleOutCooldown"] for p in policies)


def test_container_insights_uses_the_current_setting(profile: Synthesized) -> None:
    """Seed D19: containerInsights (boolean) is deprecated; ClusterSettings containerInsights says enabled where
    service.container_insights is on (staging, prod) and disabled where it is off (dev, previews)."""
    value = "enabled" if load_config(profile.environment).service.container_insights else "disabled"
    assert _one(profile, "AWS::ECS::Cluster")["ClusterSettings"] == [{"Name": "containerInsights", "Value": value}]
    assert value == {"dev": "disabled", "staging": "enabled", "prod": "enabled"}[profile.environment]


def test_a_shops_own_image_is_what_the_task_runs(abroad: Synthesized) -> None:
    assert _container(abroad)["Image"] == {
        "Fn::Join": ["", ["123456789012.dkr.ecr.eu-central-1.", {"Ref": "AWS::URLSuffix"}, "/shop:1.4.2"]]
    }


def test_the_configured_port_and_health_path_reach_container_target_group_and_checks(abroad: Synthesized) -> None:
    """ELB: the target group's port and health check must be where the container listens."""
    assert _container(abroad)["PortMappings"] == [{"ContainerPort": 3000, "Protocol": "tcp"}]
    # prod deploys blue/green: both target groups, live and alternate, check the same port and path.
    for target_group in abroad.of_type("AWS::ElasticLoadBalancingV2::TargetGroup").values():
        assert target_group["Properties"]["Port"] == 3000
        assert target_group["Properties"]["HealthCheckPort"] == "3000"
        assert target_group["Properties"]["HealthCheckPath"] == "/healthz"
    for rule in abroad.of_type("AWS::ElasticLoadBalancingV2::ListenerRule").values():
        assert rule["Properties"]["Conditions"][0]["PathPatternConfig"]["Values"] == ["/api/*", "/healthz*"]


def test_ecr_pull_is_granted_on_the_images_repository_only(abroad: Synthesized) -> None:
    """IAM least privilege: the execution role pulls layers from exactly the shop's repository."""
    pulls = [
        statement
        for policy in abroad.of_type("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "ecr:BatchGetImage" in statement["Action"]
    ]
    assert [statement["Resource"] for statement in pulls] == ["arn:aws:ecr:eu-central-1:123456789012:repository/shop"]


def test_no_docker_image_is_built_for_a_shops_own_image(abroad: Synthesized) -> None:
    """Nothing to build or push at deploy: the assembly has no docker image asset, only the site's files."""
    assets = json.loads(abroad.template_path.with_suffix("").with_suffix(".assets.json").read_text())
    assert assets["dockerImages"] == {}
    assert assets["files"], "the storefront page is still deployed to the site bucket"


def test_a_foreign_image_has_no_container_health_check_unless_configured(abroad: Synthesized) -> None:
    """A shop's image may have no Python or curl: the load balancer's check decides."""
    assert "HealthCheck" not in _container(abroad)


def test_bundled_image_checks_its_own_health_on_its_port(prod: Synthesized) -> None:
    assert "http://127.0.0.1:8000/health" in _container(prod)["HealthCheck"]["Command"][-1]


def test_max_tasks_override_reaches_the_scaling_target(abroad: Synthesized) -> None:
    (target,) = abroad.of_type("AWS::ApplicationAutoScaling::ScalableTarget").values()
    assert target["Properties"]["MaxCapacity"] == 20


@pytest.mark.parametrize(
    ("environment", "strategy", "bake_minutes"),
    [("dev", "ROLLING", None), ("staging", "BLUE_GREEN", 10), ("prod", "BLUE_GREEN", 20)],
)
def test_deployment_strategy_and_bake_time_follow_the_profile(
    synth,
    environment: str,
    strategy: str,
    bake_minutes: int | None,  # type: ignore[no-untyped-def]
) -> None:
    """ECS native blue/green (DeploymentConfiguration.Strategy BLUE_GREEN, BakeTimeInMinutes): staging and
    prod keep the old tasks for the bake time; dev (one task, nobody to protect) rolls in place."""
    deployment = _one(synth(environment), "AWS::ECS::Service")["DeploymentConfiguration"]
    assert deployment["Strategy"] == strategy
    assert deployment.get("BakeTimeInMinutes") == bake_minutes


def test_blue_green_shifts_the_production_rule_between_two_target_groups(staging: Synthesized) -> None:
    """ECS blue/green with an ALB: AdvancedConfiguration names the alternate target group, the production
    listener rule (forwarding to both by weight) and a role ECS assumes to move the weights."""
    (attachment,) = _one(staging, "AWS::ECS::Service")["LoadBalancers"]
    advanced = attachment["AdvancedConfiguration"]
    primary, alternate = attachment["TargetGroupArn"]["Ref"], advanced["AlternateTargetGroupArn"]["Ref"]
    rule = staging.resources[advanced["ProductionListenerRule"]["Ref"]]["Properties"]
    weights = {t["TargetGroupArn"]["Ref"]: t["Weight"] for t in rule["Actions"][0]["ForwardConfig"]["TargetGroups"]}
    assert weights == {primary: 100, alternate: 0}
    role = staging.resources[advanced["RoleArn"]["Fn::GetAtt"][0]]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "ecs.amazonaws.com"}


def test_rolling_dev_has_one_target_group_and_no_alternate(dev: Synthesized) -> None:
    """Dev rolls: one target group, no AdvancedConfiguration, no role for ECS to move traffic."""
    assert len(dev.of_type("AWS::ElasticLoadBalancingV2::TargetGroup")) == 1
    (attachment,) = _one(dev, "AWS::ECS::Service")["LoadBalancers"]
    assert "AdvancedConfiguration" not in attachment


def test_blue_green_opens_no_new_way_in(profile: Synthesized) -> None:
    """The green target group sits on the same listener and rule as the blue one: still one HTTP listener,
    one rule, and the tasks' only ingress is the load balancer on 8000 (checked above)."""
    assert len(profile.of_type("AWS::ElasticLoadBalancingV2::Listener")) == 1
    assert len(profile.of_type("AWS::ElasticLoadBalancingV2::ListenerRule")) == 1


def _deployment_alarms(synthesized: Synthesized) -> list[dict[str, Any]]:
    alarms = _one(synthesized, "AWS::ECS::Service")["DeploymentConfiguration"]["Alarms"]
    assert (alarms["Enable"], alarms["Rollback"]) == (True, True)
    by_name = {
        resource["Properties"].get("AlarmName"): resource["Properties"]
        for resource in synthesized.of_type("AWS::CloudWatch::Alarm").values()
    }
    return [by_name[name] for name in alarms["AlarmNames"]]


def test_deployment_alarms_are_named_literally_and_created_before_the_service(profile: Synthesized) -> None:
    """ECS DeploymentAlarms lists alarms by name. A CloudFormation-generated name would be a Ref to the
    alarm, which CDK reports at every synth as a possible circular dependency with the service: named from
    the stack, the names are plain strings, and DependsOn still creates both alarms before the service.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-alarm-failure.html"""
    names = _one(profile, "AWS::ECS::Service")["DeploymentConfiguration"]["Alarms"]["AlarmNames"]
    assert names == [
        f"TapStack-{profile.environment}-release-Target5xxRate",
        f"TapStack-{profile.environment}-release-TargetP99Latency",
    ]
    assert len(_deployment_alarms(profile)) == 2
    service = next(k for k, v in profile.resources.items() if v["Type"] == "AWS::ECS::Service")
    alarms = set(profile.of_type("AWS::CloudWatch::Alarm"))
    assert len(alarms.intersection(profile.resources[service]["DependsOn"])) == 2


def test_deployment_alarms_roll_back_on_target_5xx_rate_and_p99_latency(profile: Synthesized) -> None:
    """ECS deployment alarms (DeploymentAlarms Enable, Rollback = ROLLBACK_ON_ALARM): a release that is
    healthy but answers 5xx or slowly is rolled back by ECS, beside the circuit breaker."""
    alarms = _deployment_alarms(profile)
    watched = {
        metric["MetricStat"]["Metric"]["MetricName"]
        for alarm in alarms
        for metric in alarm.get("Metrics", [])
        if "MetricStat" in metric
    } | {alarm["MetricName"] for alarm in alarms if "MetricName" in alarm}
    assert watched == {"HTTPCode_Target_5XX_Count", "RequestCount", "TargetResponseTime"}


def test_deployment_alarms_treat_missing_data_as_not_breaching(profile: Synthesized) -> None:
    """CloudWatch TreatMissingData: an idle service publishes no ALB metrics; that must not roll back."""
    assert {alarm["TreatMissingData"] for alarm in _deployment_alarms(profile)} == {"notBreaching"}


def test_deployment_alarms_watch_every_target_group(profile: Synthesized) -> None:
    """Blue/green alternates the live target group; the alarms (and request scaling) cover both."""
    groups = set(profile.of_type("AWS::ElasticLoadBalancingV2::TargetGroup"))
    for alarm in _deployment_alarms(profile):
        text = json.dumps(alarm)
        assert all(group in text for group in groups)
    (requests,) = (
        p
        for p in _properties(profile, "AWS::ApplicationAutoScaling::ScalingPolicy")
        if "RequestCountPerTarget" in json.dumps(p)
    )
    assert all(group in json.dumps(requests) for group in groups)


@pytest.mark.parametrize(("environment", "protected"), [("dev", "false"), ("staging", "true"), ("prod", "true")])
def test_load_balancer_deletion_protection_in_staging_and_prod(synth, environment: str, protected: str) -> None:  # type: ignore[no-untyped-def]
    """NIST.800.53.R5-ELBDeletionProtectionEnabled: staging and prod's load balancer cannot be deleted while
    protected; dev's can, so `cdk destroy` removes a disposable stack."""
    attributes = _one(synth(environment), "AWS::ElasticLoadBalancingV2::LoadBalancer")["LoadBalancerAttributes"]
    assert {"Key": "deletion_protection.enabled", "Value": protected} in attributes


# ECS Exec: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-exec.html
SSM_MESSAGES = [
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
]


def _task_role_statements(synthesized: Synthesized) -> list[dict[str, Any]]:
    (role_id,) = (k for k in synthesized.of_type("AWS::IAM::Role") if k.startswith("ServiceTaskTaskRole"))
    return [
        statement
        for policy in _properties(synthesized, "AWS::IAM::Policy")
        if {"Ref": role_id} in policy["Roles"]
        for statement in policy["PolicyDocument"]["Statement"]
    ]


def test_ecs_exec_is_on_for_the_service(profile: Synthesized) -> None:
    """ECS Exec (ecs-exec.html): the service's tasks start with the managed agent (enableExecuteCommand)."""
    assert _one(profile, "AWS::ECS::Service")["EnableExecuteCommand"] is True


def test_ecs_exec_task_role_gets_only_the_ssmmessages_actions_it_needs(profile: Synthesized) -> None:
    """ECS Exec's IAM rule (ecs-exec.html, "IAM permissions required for ECS Exec"): the task role needs
    the four ssmmessages channel actions, which have no resource-level permissions; nothing else of SSM."""
    statements = _task_role_statements(profile)
    actions = [action for statement in statements for action in _as_list(statement["Action"])]
    assert sorted(action for action in actions if action.startswith(("ssm", "ssmmessages"))) == SSM_MESSAGES
    (channels,) = (s for s in statements if "ssmmessages:OpenDataChannel" in _as_list(s["Action"]))
    assert sorted(_as_list(channels["Action"])) == sorted(["logs:DescribeLogGroups", *SSM_MESSAGES])


def _as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def test_ecs_exec_sessions_are_encrypted_and_logged_to_an_encrypted_log_group(profile: Synthesized) -> None:
    """ECS Exec's logging and encryption (ecs-exec.html, "Logging and Auditing using ECS Exec"): the cluster
    encrypts each session with our key and sends its output (OVERRIDE) to a KMS-encrypted log group, which
    the task role may write to and nothing wider."""
    configuration = _one(profile, "AWS::ECS::Cluster")["Configuration"]["ExecuteCommandConfiguration"]
    assert configuration["Logging"] == "OVERRIDE"
    assert configuration["KmsKeyId"] == {"Fn::GetAtt": ["KeysDataKey8F3FE3A4", "Arn"]}
    assert configuration["LogConfiguration"]["CloudWatchEncryptionEnabled"] is True
    group = configuration["LogConfiguration"]["CloudWatchLogGroupName"]["Ref"]
    assert profile.resources[group]["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["KeysDataKey8F3FE3A4", "Arn"]}
    writes = [s for s in _task_role_statements(profile) if "logs:PutLogEvents" in _as_list(s["Action"])]
    assert len(writes) == 1 and {"Ref": group} in json.loads(json.dumps(writes[0]["Resource"]))["Fn::Join"][1]


def test_ecs_exec_keeps_the_root_filesystem_read_only(profile: Synthesized) -> None:
    """ECS Exec's agent needs writable state and log directories (ecs-exec.html considerations; the agent
    fails on a read-only root, aws/containers-roadmap#1359): two task volumes, the root stays read-only."""
    container = _container(profile)
    assert container["ReadonlyRootFilesystem"] is True
    mounts = {m["ContainerPath"]: m["ReadOnly"] for m in container["MountPoints"]}
    assert mounts == {"/tmp": False, "/var/lib/amazon": False, "/var/log/amazon": False}  # noqa: S108


def test_operator_outputs_name_what_tapstack_reads(profile: Synthesized) -> None:
    """`tapstack` reads the cluster, service, log groups, family and target groups from these outputs."""
    outputs = profile.template.to_json()["Outputs"]
    (cluster,) = profile.of_type("AWS::ECS::Cluster")
    assert outputs["ClusterName"]["Value"] == {"Ref": cluster}
    assert outputs["ServiceName"]["Value"]["Fn::GetAtt"][1] == "Name"
    assert outputs["LogStreamPrefix"]["Value"] == "storefront" and outputs["ContainerName"]["Value"] == "storefront"
    container = _container(profile)
    assert container["LogConfiguration"]["Options"]["awslogs-group"] == outputs["ServiceLogGroup"]["Value"]
    assert container["LogConfiguration"]["Options"]["awslogs-stream-prefix"] == "storefront"
    assert outputs["TaskDefinitionFamily"]["Value"] == _task(profile)["Family"]
    groups = outputs["TargetGroupArns"]["Value"]
    assert len(profile.of_type("AWS::ElasticLoadBalancingV2::TargetGroup")) == (
        1 if "Ref" in groups else len(groups["Fn::Join"][1])
    )
    copy = ["TapStack-prod-backup-us-west-2@us-west-2"] if profile.environment == "prod" else []
    assert outputs["Stacks"]["Value"].split() == [f"TapStack-{profile.environment}@us-east-1", *copy]


# --- The shop's own settings and secrets: the `abroad` app carries docs/your-app.md's example ---
SHOP_SECRET_ARN = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:shop/django-AbCdEf"  # noqa: S105 - an ARN
SHOP_PARAMETER = "arn:aws:ssm:eu-central-1:123456789012:parameter/shop/sentry-dsn"
SHOP_KEY = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_a_shops_settings_are_plain_environment_variables_of_its_container(abroad: Synthesized) -> None:
    """`service.environment` reaches the task definition's Environment, beside (never over) the platform's."""
    environment = {e["Name"]: e["Value"] for e in _container(abroad)["Environment"]}
    assert {name: environment[name] for name in ("SHOP_CURRENCY", "ALLOWED_HOSTS")} == {
        "SHOP_CURRENCY": "EUR",
        "ALLOWED_HOSTS": "shop.example.com",
    }
    assert environment["DB_SECRET_ARN"] == {"Ref": "DatabaseClusterSecretAttachmentDC8466C0"}


def test_a_shops_secrets_are_injected_by_ecs_with_the_exact_value_from(abroad: Synthesized) -> None:
    """ECS rule: a secret is a container `Secrets` entry whose ValueFrom is the secret's ARN (with
    `:json-key:version-stage:version-id`) or the SSM parameter's ARN, resolved by ECS at task start.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html"""
    secrets = {s["Name"]: s["ValueFrom"] for s in _container(abroad)["Secrets"]}
    assert secrets["SECRET_KEY"] == f"{SHOP_SECRET_ARN}:SECRET_KEY::"
    assert secrets["SENTRY_DSN"] == SHOP_PARAMETER
    environment = {e["Name"] for e in _container(abroad)["Environment"]}
    assert not {"SECRET_KEY", "SENTRY_DSN"} & environment


def _execution_role_statements(synthesized: Synthesized) -> list[dict[str, Any]]:
    role = _task(synthesized)["ExecutionRoleArn"]["Fn::GetAtt"][0]
    return [
        statement
        for policy in synthesized.of_type("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(statement: dict[str, Any]) -> set[str]:
    actions = statement["Action"]
    return {actions} if isinstance(actions, str) else set(actions)


def _resources(statement: dict[str, Any]) -> list[Any]:
    resources = statement["Resource"]
    return resources if isinstance(resources, list) else [resources]


def test_the_execution_role_reads_exactly_the_configured_secrets_and_decrypts_only_with_their_key(
    abroad: Synthesized,
) -> None:
    """ECS rule "Required IAM permissions for Amazon ECS secrets": the task execution role needs
    secretsmanager:GetSecretValue / ssm:GetParameters on the referenced secrets and parameters, and
    kms:Decrypt on a customer-managed key; here on exactly those ARNs, the key only via the two services.
    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html#secrets-iam"""
    statements = _execution_role_statements(abroad)
    secret_reads = [s for s in statements if "secretsmanager:GetSecretValue" in _actions(s)]
    assert len(secret_reads) == 1
    assert _resources(secret_reads[0]) == [
        SHOP_SECRET_ARN,
        {"Ref": "DatabaseClusterSecretAttachmentDC8466C0"},
        {"Ref": "ServiceAdminToken7B985D70"},
    ]
    (parameter_read,) = [s for s in statements if any(a.startswith("ssm:") for a in _actions(s))]
    assert parameter_read["Resource"] == SHOP_PARAMETER
    (decrypt,) = [s for s in statements if "kms:Decrypt" in _actions(s)]
    assert decrypt == {
        "Action": "kms:Decrypt",
        "Condition": {
            "StringEquals": {
                "kms:ViaService": ["secretsmanager.eu-central-1.amazonaws.com", "ssm.eu-central-1.amazonaws.com"]
            }
        },
        "Effect": "Allow",
        "Resource": SHOP_KEY,
    }
    # Nothing wider: the one "*" is ecr:GetAuthorizationToken, which takes no resource.
    assert [_actions(s) for s in statements if "*" in _resources(s)] == [{"ecr:GetAuthorizationToken"}]


def test_the_bundled_storefront_leaves_migrations_to_the_release_step(dev: Synthesized, abroad: Synthesized) -> None:
    """Its tasks start without migrating (STOREFRONT_MIGRATE_ON_START=false); a shop's own image is not told."""
    assert {"Name": "STOREFRONT_MIGRATE_ON_START", "Value": "false"} in _container(dev)["Environment"]
    assert "STOREFRONT_MIGRATE_ON_START" not in {e["Name"] for e in _container(abroad)["Environment"]}
