"""Escape-hatch helpers for the few places where an L2 construct leaves a CloudFormation detail wrong."""

from __future__ import annotations

import jsii
from aws_cdk import CfnResource, IAspect
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


@jsii.implements(IAspect)
class DropProviderRoleDependsOn:
    """CDK's stack-level custom resource providers (auto-delete objects, restrict default security group)
    render DependsOn on their role beside the GetAtt of it (cfn-lint W3005): drop the DependsOn, once
    for the whole stack, whichever construct created the provider."""

    def visit(self, node: IConstruct) -> None:
        scope = node.node.scope
        if (
            isinstance(node, CfnResource)
            and node.cfn_resource_type == "AWS::Lambda::Function"
            and scope is not None
            and scope.node.id.endswith("CustomResourceProvider")
        ):
            role = scope.node.try_find_child("Role")
            if isinstance(role, CfnResource):
                node.remove_resource_dependency(role)
