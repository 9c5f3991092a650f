"""docs/architecture.md: a Mermaid diagram of the synthesized stack, generated, never drawn by hand.

Resources are grouped by construct path (cdk.out/<stack>.metadata.json): a subgraph per top-level construct of the
stack (Network, Keys, Database, Service, Edge, Api, Monitoring...), a box per construct inside it, the
VPC's subnets as one box per tier. An arrow A --> B means a resource of A refers to one of B (Ref or
Fn::GetAtt in the template): "uses". Boxes holding a public endpoint hang off an Internet node. The
output depends only on the template and the metadata, so it is stable and a test can detect a stale copy.

    python -m ops.diagram --template cdk.out/TapStack-prod.template.json --output docs/architecture.md
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ops.cost import references

REPO = Path(__file__).resolve().parents[1]
OUTPUT = REPO / "docs" / "architecture.md"

# Top-level constructs CDK adds for its own singletons (custom resource providers, log retention...).
_CDK_SUPPORT = re.compile(r"::|[0-9a-f]{32}$")
# From this many sibling constructs holding one resource of the same type, they share a box.
_MERGE_AT = 4
_SUBNET = re.compile(r"^(?P<tier>[A-Za-z]+?)Subnet\d+$")
# Reading order of the groups, front doors first; groups not named here follow alphabetically.
_ORDER = ("Edge", "Api", "Service", "Database", "Network", "Keys", "Secrets", "Monitoring")
# Plumbing that would crowd the labels; still counted in the table below the diagram.
_QUIET = {
    "AWS::EC2::Route",
    "AWS::EC2::RouteTable",
    "AWS::EC2::SubnetRouteTableAssociation",
    "AWS::EC2::VPCGatewayAttachment",
    "AWS::IAM::Policy",
    "AWS::Lambda::Permission",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::SecurityGroupEgress",
    "AWS::ApiGateway::Method",
    "AWS::ApiGateway::Resource",
}


def _alnum(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "", text)


def construct_paths(metadata: dict[str, Any], stack_name: str) -> dict[str, list[str]]:
    """Logical ID -> construct path below the stack, from the cloud assembly's metadata
    (`<stack>.metadata.json`), which records the exact logical ID of every resource, including the
    ones constructs override (generated secrets, API deployments)."""
    prefix = f"/{stack_name}/"
    return {
        entry["data"]: path.removeprefix(prefix).split("/")
        for path, entries in metadata.items()
        if path.startswith(prefix)
        for entry in entries
        if entry["type"] == "aws:cdk:logicalId"
    }


@dataclass
class Box:
    group: str
    name: str
    types: Counter[str] = field(default_factory=Counter)
    public: bool = False

    @property
    def key(self) -> str:
        return "n_" + _alnum(f"{self.group}_{self.name}".replace("/", "_"))

    def label(self) -> str:
        shown = sorted(self.types.items(), key=lambda item: (item[0] in _QUIET, -item[1], item[0]))
        parts = [f"{t.split('::')[-1]} x{n}" if n > 1 else t.split("::")[-1] for t, n in shown[:4]]
        if len(shown) > 4:
            parts.append(f"+{len(shown) - 4} more types")
        return f"<b>{self.name}</b><br/>" + ", ".join(parts)

    def shape(self) -> str:
        label = self.label().replace('"', "'")
        if self.types["AWS::RDS::DBCluster"]:
            return f'{self.key}[("{label}")]'
        return f'{self.key}["{label}"]'


def _place(path: list[str]) -> tuple[str, str]:
    """(group, box) of a resource from its construct path below the stack."""
    top = path[0]
    if _CDK_SUPPORT.search(top):
        return "CDK support", top.split("::")[-1]
    if len(path) <= 2:
        return top, top if len(path) == 1 or path[1] == "Resource" else path[1]
    if len(path) > 3 and (match := _SUBNET.match(path[2])):
        return top, f"{match['tier']} subnets"
    return top, path[1]


def _is_public(resource: dict[str, Any]) -> bool:
    kind: str = resource["Type"]
    props: dict[str, Any] = resource.get("Properties", {})
    if kind in ("AWS::CloudFront::Distribution", "AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api"):
        return True
    return kind == "AWS::ElasticLoadBalancingV2::LoadBalancer" and props.get("Scheme") == "internet-facing"


def build(
    template: dict[str, Any], metadata: dict[str, Any], stack_name: str
) -> tuple[list[Box], set[tuple[str, str]]]:
    """The boxes (grouped resources) and the "uses" edges between them."""
    resources: dict[str, dict[str, Any]] = template["Resources"]
    paths = construct_paths(metadata, stack_name)
    place = {lid: _place(paths[lid]) if lid in paths else ("Other", "Unmapped") for lid in resources}
    # Many sibling constructs of one resource type each (alarms, log groups...) become one box.
    single_type: dict[tuple[str, str], set[str]] = defaultdict(set)
    for lid, where in place.items():
        single_type[where].add(resources[lid]["Type"])
    alike = Counter((where[0], next(iter(types))) for where, types in single_type.items() if len(types) == 1)
    for lid, (group, name) in place.items():
        types = single_type[(group, name)]
        kind = next(iter(types))
        if len(types) == 1 and alike[(group, kind)] >= _MERGE_AT:
            place[lid] = (group, f"{kind.split('::')[-1]}s ({alike[(group, kind)]} constructs)")
    boxes: dict[tuple[str, str], Box] = {}
    box_of: dict[str, Box] = {}
    for lid in sorted(resources):
        box = boxes.setdefault(place[lid], Box(*place[lid]))
        box.types[resources[lid]["Type"]] += 1
        box.public |= _is_public(resources[lid])
        box_of[lid] = box
    edges: set[tuple[str, str]] = set()
    for lid, resource in resources.items():
        for target in references(resource.get("Properties", {})):
            if target in box_of and box_of[target] is not box_of[lid]:
                edges.add((box_of[lid].key, box_of[target].key))
    return sorted(boxes.values(), key=lambda b: (_group_rank(b.group), b.group, b.name)), edges


def _group_rank(group: str) -> int:
    return _ORDER.index(group) if group in _ORDER else len(_ORDER) + (group in ("CDK support", "Other"))


def mermaid(boxes: list[Box], edges: set[tuple[str, str]]) -> Iterator[str]:
    yield "flowchart LR"
    if any(box.public for box in boxes):
        yield '  internet(("Internet"))'
    for group in dict.fromkeys(box.group for box in boxes):
        yield f'  subgraph g_{_alnum(group)}["{group}"]'
        for box in boxes:
            if box.group == group:
                yield f"    {box.shape()}"
        yield "  end"
    for box in boxes:
        if box.public:
            yield f"  internet --> {box.key}"
    for source, target in sorted(edges):
        yield f"  {source} --> {target}"


def render(template: dict[str, Any], metadata: dict[str, Any], stack_name: str) -> str:
    boxes, edges = build(template, metadata, stack_name)
    lines = [
        f"# Architecture of {stack_name}",
        "",
        "<!-- Generated by `make diagram` (ops/diagram.py) from the synthesized template and its CDK",
        "metadata. Do not edit: change the stack, run `make diagram`, commit the result. -->",
        "",
        f"{len(template['Resources'])} resources. A subgraph per top-level construct of the stack, a box per "
        "construct inside it (the VPC's subnets as one box per tier); an arrow A --> B means a resource of A "
        "refers to one of B (Ref or Fn::GetAtt): A uses B.",
        "",
        "```mermaid",
        *mermaid(boxes, edges),
        "```",
        "",
        "| group | construct | resources |",
        "|---|---|---|",
    ]
    for box in boxes:
        types = ", ".join(f"{t} x{n}" for t, n in sorted(box.types.items()))
        lines.append(f"| {box.group} | {box.name} | {types} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate docs/architecture.md from a synthesized stack.")
    parser.add_argument("--template", type=Path, default=REPO / "cdk.out" / "TapStack-prod.template.json")
    parser.add_argument("--metadata", type=Path, help="<stack>.metadata.json (default: beside the template)")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    template_path: Path = args.template
    stack_name = template_path.name.removesuffix(".template.json")
    metadata = json.loads((args.metadata or template_path.with_name(f"{stack_name}.metadata.json")).read_text())
    text = render(json.loads(template_path.read_text()), metadata, stack_name)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
