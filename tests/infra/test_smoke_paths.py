"""Every smoke check (the pipeline's CheckStaging, every curl in README.md and docs/) calls a path that the
synthesized front door really routes to the service: CloudFront's cache behaviours and API Gateway's
resources as the templates hold them, then the load balancer's listener rules, then the service's routes.

CloudFront sends a request to the origin of the first behaviour whose path pattern matches (the default
behaviour, the site bucket, takes the rest), so `<CloudFrontURL>/health` is answered by S3, not the service.
https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/distribution-web-values-specify.html#DownloadDistValuesPathPattern
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Match, Mount
from storefront.app import create_app

from infra.api import STAGE_NAME
from tests.synthesis import Synthesized

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

# How the docs name the stack outputs they call: as the outputs themselves, or as the shell variables
# docs/deploy.md sets from them (the same names CheckStaging's environment gives them).
DOC_VARIABLES = {
    "CloudFrontURL": "CloudFrontURL",
    "SHOP_URL": "CloudFrontURL",
    "APIGatewayURL": "APIGatewayURL",
    "API_URL": "APIGatewayURL",
}
# The URL of a curl: a stack output as a shell variable (`${X%/}` drops its trailing slash) or a
# placeholder, the partner API's stage URL written out, or the service run locally.
URL = re.compile(
    r"(?:https?://)?(?:\$\{(?P<braced>\w+)(?P<strip>%/)?\}|\$(?P<plain>\w+)|<(?P<placeholder>\w+)>"
    r"|(?P<api>(?:https://<api-id>\.execute-api\.<region>\.amazonaws\.com|\.\.\.)/v1)"
    r"|(?P<local>localhost:\d+))(?P<path>/[^\s\"'`|)]*)?"
)


@dataclass(frozen=True)
class Call:
    """One curl of a smoke check: where it was written, the output it calls (None: the local service), its
    method and the path the front door receives."""

    where: str
    output: str | None
    method: str
    path: str


# Downloads of AWS's own tools that the docs show (the Session Manager plugin for `tapstack exec`): not calls
# of the shop.
TOOL_DOWNLOADS = ("https://s3.amazonaws.com/session-manager-downloads/",)


def _curls(text: str) -> list[str]:
    """Each curl command of a document or build spec, from `curl` to the end of its line or code span
    (backslash-continued lines joined), other than a download of one of TOOL_DOWNLOADS."""
    text = re.sub(r"\\\n\s*", " ", text)
    return [
        m.group(0)
        for m in re.finditer(r"\bcurl\s+(?=[-$\"'<.]|https?:|localhost)[^`\n]*", text)
        if not any(download in m.group(0) for download in TOOL_DOWNLOADS)
    ]


def _call(where: str, command: str, variables: dict[str, str], outputs: dict[str, Any]) -> Call:
    try:
        words = shlex.split(command.split("|")[0])
    except ValueError:  # an unbalanced quote in prose
        words = command.split()
    method = "POST" if any(w in ("-d", "--data") for w in words) else "GET"
    for i, word in enumerate(words):
        if word in ("-X", "--request") and i + 1 < len(words):
            method = words[i + 1]
        elif word.startswith("-X") and len(word) > 2:
            method = word[2:]
    for word in words[1:]:
        match = URL.fullmatch(word) or URL.match(word)
        if match and not word.startswith("-") and (match.group("path") or match.group("local")):
            break
    else:
        raise AssertionError(f"{where}: no URL of a known front door in `{command}`")
    path = match.group("path") or "/"
    if match.group("local"):
        return Call(where, None, method, path)
    if match.group("api"):
        return Call(where, "APIGatewayURL", method, path)
    name = match.group("braced") or match.group("plain") or match.group("placeholder")
    assert name in variables, f"{where}: `{command}` calls {name!r}, which names no stack output it knows"
    output = variables[name]
    # The outputs end in '/': `$X/api` asks for `//api...`, which no behaviour or resource matches.
    if not match.group("strip") and _ends_with_slash(outputs[output]):
        path = "/" + path
    return Call(where, output, method, path)


def _ends_with_slash(output: dict[str, Any]) -> bool:
    value = output["Value"]
    last = value["Fn::Join"][1][-1] if isinstance(value, dict) else value
    return isinstance(last, str) and last.endswith("/")


# --- the route, hop by hop, as the templates say ---


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def _load_balancer_origin_ids(template: dict[str, Any]) -> set[str]:
    """The distribution's origins that are a VPC origin of the stack's load balancer."""
    balancers = set(_resources(template, "AWS::ElasticLoadBalancingV2::LoadBalancer"))
    vpc_origins = {
        name
        for name, origin in _resources(template, "AWS::CloudFront::VpcOrigin").items()
        if origin["Properties"]["VpcOriginEndpointConfig"]["Arn"].get("Ref") in balancers
    }
    (distribution,) = _resources(template, "AWS::CloudFront::Distribution").values()
    return {
        origin["Id"]
        for origin in distribution["Properties"]["DistributionConfig"]["Origins"]
        if origin.get("VpcOriginConfig", {}).get("VpcOriginId", {}).get("Fn::GetAtt", [None])[0] in vpc_origins
    }


def _cloudfront_origin_for(template: dict[str, Any], path: str) -> dict[str, Any]:
    """CloudFront's choice for `path`: the origin of the first cache behaviour whose pattern matches, else
    the default behaviour's."""
    (distribution,) = _resources(template, "AWS::CloudFront::Distribution").values()
    config = distribution["Properties"]["DistributionConfig"]
    behaviour = next(
        (b for b in config.get("CacheBehaviors", []) if fnmatchcase(path, b["PathPattern"])),
        config["DefaultCacheBehavior"],
    )
    (origin,) = (o for o in config["Origins"] if o["Id"] == behaviour["TargetOriginId"])
    return origin


def cloudfront_reaches_the_load_balancer(template: dict[str, Any], path: str) -> bool:
    return _cloudfront_origin_for(template, path)["Id"] in _load_balancer_origin_ids(template)


def partners_through_cloudfront(template: dict[str, Any]) -> bool:
    """The partner URL (APIGatewayURL) is the distribution's (api.through_cloudfront)."""
    distributions = set(_resources(template, "AWS::CloudFront::Distribution"))
    return any(
        isinstance(part, dict) and part.get("Fn::GetAtt", [None])[0] in distributions
        for part in template["Outputs"]["APIGatewayURL"]["Value"]["Fn::Join"][1]
    )


def cloudfront_reaches_the_rest_api(template: dict[str, Any], path: str) -> bool:
    """CloudFront's choice for `path` is an origin on the stack's REST API that adds no path of its own, so
    API Gateway receives `path`, stage first."""
    origin = _cloudfront_origin_for(template, path)
    (api,) = _resources(template, "AWS::ApiGateway::RestApi")
    # The origin's domain is built from the API's id: <id>.execute-api.<region>.<suffix>.
    return json.dumps({"Ref": api}) in json.dumps(origin["DomainName"]) and origin.get("OriginPath", "") == ""


def api_gateway_reaches_the_load_balancer(template: dict[str, Any], path: str, method: str) -> bool:
    """API Gateway's choice for `path` under the stage: a resource whose path matches, with a method
    integrated through the VPC link to the load balancer, which receives the same path."""
    resources = _resources(template, "AWS::ApiGateway::Resource")

    def full_path(name: str) -> str:
        parent = resources[name]["Properties"]["ParentId"]
        prefix = full_path(parent["Ref"]) if "Ref" in parent else ""
        return f"{prefix}/{resources[name]['Properties']['PathPart']}"

    def matches(resource_path: str) -> bool:
        pattern = re.sub(r"\\\{\w+\\\+\\\}", ".+", re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(resource_path)))
        return re.fullmatch(pattern, path) is not None

    balancers = set(_resources(template, "AWS::ElasticLoadBalancingV2::LoadBalancer"))
    return any(
        matches(full_path(m["Properties"]["ResourceId"]["Ref"]))
        and m["Properties"]["HttpMethod"] in ("ANY", method)
        and m["Properties"]["Integration"].get("ConnectionType") == "VPC_LINK"
        and m["Properties"]["Integration"]["IntegrationTarget"].get("Ref") in balancers
        for m in _resources(template, "AWS::ApiGateway::Method").values()
        if "Ref" in m["Properties"]["ResourceId"]
    )


def load_balancer_forwards_to_the_service(template: dict[str, Any], path: str) -> bool:
    """A listener rule whose path-pattern matches forwards to the service's target groups; the listener's
    default action is a fixed 404. https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html#path-conditions"""
    return any(
        fnmatchcase(path, pattern)
        for rule in _resources(template, "AWS::ElasticLoadBalancingV2::ListenerRule").values()
        if any(action["Type"] == "forward" for action in rule["Properties"]["Actions"])
        for condition in rule["Properties"]["Conditions"]
        if condition["Field"] == "path-pattern"
        for pattern in condition["PathPatternConfig"]["Values"]
    )


def service_answers(path: str, method: str) -> bool:
    """The storefront has a route for `path` and `method` (its static page mount aside)."""
    scope = {"type": "http", "path": path, "method": method}
    routes = create_app(pool_factory=lambda: None).routes  # type: ignore[arg-type,return-value]
    return any(route.matches(scope)[0] == Match.FULL for route in routes if not isinstance(route, Mount))


def route_problems(call: Call, template: dict[str, Any]) -> list[str]:
    path = call.path.split("?")[0]
    hops: list[tuple[str, bool]] = []
    if call.output == "CloudFrontURL":
        hops.append(
            ("CloudFront's behaviour sends it to the site bucket", cloudfront_reaches_the_load_balancer(template, path))
        )
    elif call.output == "APIGatewayURL":
        if partners_through_cloudfront(template):
            hops.append(
                (
                    "CloudFront's behaviour does not send it to the REST API as it is",
                    cloudfront_reaches_the_rest_api(template, f"/{STAGE_NAME}{path}"),
                )
            )
        hops.append(
            (
                "no API Gateway resource sends it to the VPC link",
                api_gateway_reaches_the_load_balancer(template, path, call.method),
            )
        )
    if call.output is not None:
        hops.append(
            ("the load balancer answers it with its default 404", load_balancer_forwards_to_the_service(template, path))
        )
    hops.append(("the service has no such route", service_answers(path, call.method)))
    return [
        f"{call.where}: {call.method} {call.path} via {call.output or 'localhost'}: {why}" for why, ok in hops if not ok
    ]


# --- the smoke checks ---


def _check_staging(pipeline: Synthesized) -> tuple[list[str], dict[str, str], dict[str, Any]]:
    """CheckStaging's build commands, its variables' outputs and the staging stack's template it checks."""
    template = pipeline.stack("TapStack-pipeline")
    (project,) = [
        name for name, resource in _resources(template, "AWS::CodeBuild::Project").items() if "CheckStaging" in name
    ]
    commands: list[str] = json.loads(template["Resources"][project]["Properties"]["Source"]["BuildSpec"])["phases"][
        "build"
    ]["commands"]
    (pipeline_resource,) = _resources(template, "AWS::CodePipeline::Pipeline").values()
    (action,) = [
        action
        for stage in pipeline_resource["Properties"]["Stages"]
        for action in stage["Actions"]
        if action["Configuration"].get("ProjectName") == {"Ref": project}
    ]
    variables: dict[str, str] = {}
    namespaces = set()
    for variable in json.loads(action["Configuration"]["EnvironmentVariables"]):
        namespace, _, output = variable["value"].removeprefix("#{").removesuffix("}").partition(".")
        variables[variable["name"]] = output
        namespaces.add(namespace)
    (namespace,) = namespaces
    directory = pipeline.template_path.parent
    for manifest in directory.glob("assembly-*/manifest.json"):
        artifact = json.loads(manifest.read_text())["artifacts"].get(namespace)
        if artifact is not None:
            staged = json.loads((manifest.parent / artifact["properties"]["templateFile"]).read_text())
            return commands, variables, staged
    raise AssertionError(f"no stage stack {namespace}")


def test_check_staging_calls_only_paths_the_staging_front_doors_route_to_the_service(pipeline: Synthesized) -> None:
    """CheckStaging stands between staging and the approval: a path CloudFront sends to the site bucket
    (`/health`) fails every run. Each curl of its build spec, with the variables the pipeline gives it from
    the staging stack's outputs, is routed by that stack's distribution (or API) to the load balancer, by
    its listener rule to the service, and by a route of the service."""
    commands, variables, template = _check_staging(pipeline)
    calls = [_call("CheckStaging", curl, variables, template["Outputs"]) for c in commands for curl in _curls(c)]
    assert {c.output for c in calls} == {"CloudFrontURL", "APIGatewayURL"}
    assert [p for call in calls for p in route_problems(call, template)] == []


@pytest.mark.parametrize("document", DOCS, ids=lambda path: path.name)
def test_every_curl_in_the_docs_calls_a_path_its_front_door_routes_to_the_service(
    document: Path, prod: Synthesized
) -> None:
    """Every curl a reader copies from README.md and docs/ reaches the service: through CloudFront only
    under a behaviour whose origin is the load balancer's VPC origin, through API Gateway only under its
    VPC-link resources, and locally only on a route the service has."""
    template = prod.template.to_json()
    calls = [_call(document.name, curl, DOC_VARIABLES, template["Outputs"]) for curl in _curls(document.read_text())]
    assert [p for call in calls for p in route_problems(call, template)] == []


def test_the_route_check_tells_the_site_bucket_from_the_service(prod: Synthesized) -> None:
    """The check itself: `/health` through CloudFront (the site bucket), `//api/...` (an output's trailing
    slash kept) and a path the service lacks all fail; the catalog read passes."""
    template = prod.template.to_json()

    def problems(command: str) -> list[str]:
        return route_problems(_call("t", command, DOC_VARIABLES, template["Outputs"]), template)

    assert problems('curl "${SHOP_URL%/}/api/products?limit=1"') == []
    assert "site bucket" in problems('curl "${SHOP_URL%/}/health"')[0]
    assert "site bucket" in problems('curl "$SHOP_URL/api/products"')[0]
    assert "no such route" in problems('curl "${API_URL%/}/api/nothing"')[0]


def test_partner_curls_in_the_docs_reach_the_service_through_cloudfront_where_partners_come_that_way(
    dev: Synthesized,
) -> None:
    """Dev's partners call <CloudFrontURL>/v1/... (api.through_cloudfront): each partner curl of README.md and
    docs/ with dev's APIGatewayURL is sent by the distribution to the REST API unchanged, by an API resource to
    the VPC link, by a listener rule to the service, and answered by a route of the service."""
    template = dev.template.to_json()
    assert partners_through_cloudfront(template)
    calls = [
        call
        for document in DOCS
        for curl in _curls(document.read_text())
        if (call := _call(document.name, curl, DOC_VARIABLES, template["Outputs"])).output == "APIGatewayURL"
    ]
    assert calls
    assert [p for call in calls for p in route_problems(call, template)] == []
