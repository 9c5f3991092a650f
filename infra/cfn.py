"""Escape-hatch helpers for the few places where an L2 construct leaves a CloudFormation detail wrong."""

from __future__ import annotations

from aws_cdk import CfnResource, CustomResourceProviderBase, Stack
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


def drop_provider_role_depends_on(stack: Stack) -> None:
    """CDK's stack-level custom resource providers (auto-delete objects, restrict default security group)
    render DependsOn on their role beside the GetAtt of it (cfn-lint W3005): drop the DependsOn of each.

    CDK puts these providers at the stack's root, so one look at its children finds them all; an aspect
    would cost a Node-to-Python round trip for every construct of the stack at synth. Call it once the
    stack's constructs are all created."""
    for child in stack.node.children:
        if isinstance(child, CustomResourceProviderBase):
            _drop_role_depends_on(child)


def _drop_role_depends_on(provider: CustomResourceProviderBase) -> None:
    handler = provider.node.try_find_child("Handler")
    role = provider.node.try_find_child("Role")
    if (
        isinstance(handler, CfnResource)
        and isinstance(role, CfnResource)
        and handler.cfn_resource_type == "AWS::Lambda::Function"
    ):
        handler.remove_resource_dependency(role)
