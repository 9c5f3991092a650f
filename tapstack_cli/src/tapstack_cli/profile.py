"""One way to find a profile's deployed stacks and read their outputs, shared by every command.

Names come from the stacks: the regional stack's `Stacks` output lists every stack of the profile (with its
region, in the order they may be deleted); its other outputs name the cluster, service, log groups and URLs.
boto3 is imported on first use, so `tapstack --help` answers without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tapstack_cli.names import BACKUP_REGION_PAIRS, REGIONS, StackRef, profile_stacks, stack_name


class CommandError(Exception):
    """What went wrong, in words the operator can act on; `tapstack` prints it and exits with `code`."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


_SESSIONS: list[Any] = []


def _session() -> Any:
    """One boto3 session per process: its credentials and service models are loaded once."""
    if not _SESSIONS:
        import boto3  # type: ignore[import-untyped]

        _SESSIONS.append(boto3.session.Session())
    return _SESSIONS[0]


@dataclass(frozen=True)
class DeployedStack:
    """A stack as CloudFormation describes it now."""

    ref: StackRef
    status: str
    updated: datetime
    outputs: dict[str, str]
    reason: str | None = None


@dataclass
class Profile:
    """One deployment: TapStack-<environment> in `region`, reached with the user's own AWS credentials."""

    environment: str
    region: str
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)

    @property
    def stack_name(self) -> str:
        return stack_name(self.environment)

    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client of the user's default credential chain (AWS_PROFILE, SSO, environment...)."""
        key = (service, region or self.region)
        if key not in self._clients:
            self._clients[key] = _session().client(service, region_name=key[1])
        return self._clients[key]

    def describe(self, ref: StackRef) -> DeployedStack | None:
        """The stack now, or None when it does not exist (never created, or deleted)."""
        from botocore.exceptions import ClientError  # type: ignore[import-untyped]

        try:
            (stack,) = self.client("cloudformation", ref.region).describe_stacks(StackName=ref.name)["Stacks"]
        except ClientError as error:
            if "does not exist" in str(error):
                return None
            raise
        if stack["StackStatus"] == "DELETE_COMPLETE":
            return None
        return DeployedStack(
            ref=ref,
            status=stack["StackStatus"],
            updated=stack.get("LastUpdatedTime") or stack["CreationTime"],
            outputs={output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])},
            reason=stack.get("StackStatusReason"),
        )

    def stacks(self) -> list[DeployedStack]:
        """Every deployed stack of the profile, in the order they may be deleted.

        The regional stack's `Stacks` output names them; without the regional stack (deleted, failed, or
        deployed by a version without the output) the names the profile may have are looked for.
        """
        main = self.describe(StackRef(self.stack_name, self.region))
        if main is not None and "Stacks" in main.outputs:
            refs = tuple(StackRef.parse(text) for text in main.outputs["Stacks"].split())
        else:
            refs = profile_stacks(self.environment, self.region, BACKUP_REGION_PAIRS.get(self.region))
        found = [main if main is not None and ref == main.ref else self.describe(ref) for ref in refs]
        return [stack for stack in found if stack is not None]

    def outputs(self) -> dict[str, str]:
        """The regional stack's outputs; an error naming the stack and region when it is not deployed."""
        main = self.describe(StackRef(self.stack_name, self.region))
        if main is None:
            raise CommandError(
                f"{self.stack_name} is not deployed in {self.region}: deploy it (make deploy "
                f"ENVIRONMENT={self.environment}{'' if self.region == 'us-east-1' else ' REGION=' + self.region}) "
                "or name its region with --region"
            )
        return main.outputs


def require(outputs: dict[str, str], key: str, environment: str) -> str:
    """One output the command needs; a stack deployed before the output existed says how to get it."""
    if key not in outputs:
        raise CommandError(
            f"{stack_name(environment)} has no output {key}: it was deployed by an older version; "
            f"run `make deploy ENVIRONMENT={environment}` once to add it"
        )
    return outputs[key]


def check_region(region: str) -> str:
    if region not in REGIONS:
        raise CommandError(f"invalid region {region!r}: allowed is one of {', '.join(REGIONS)}")
    return region
