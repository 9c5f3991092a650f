"""Escape-hatch helpers for the few places where an L2 construct leaves a CloudFormation detail wrong."""

from __future__ import annotations

from aws_cdk import CfnResource
from constructs import IConstruct


def cfn_resource(construct: IConstruct) -> CfnResource:
    """The CloudFormation resource behind an L2 construct (or the construct itself if it is one)."""
    resource = construct if isinstance(construct, CfnResource) else construct.node.default_child
    if not isinstance(resource, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource")
    return resource


def drop_redundant_depends_on(resource: IConstruct, dependency: IConstruct) -> None:
    """Remove a DependsOn that CDK adds beside a Ref/GetAtt of the same resource (cfn-lint W3005);
    the reference alone already orders the two."""
    cfn_resource(resource).remove_resource_dependency(cfn_resource(dependency))
