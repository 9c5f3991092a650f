"""TapStack: composes the platform's constructs, nothing else."""

from __future__ import annotations

from aws_cdk import Environment, Stack, Tags
from constructs import Construct

from infra.config import Config
from infra.database import Database
from infra.keys import Keys
from infra.network import Network


class TapStack(Stack):
    """One deployment of the e-commerce platform, shaped by one validated Config."""

    def __init__(self, scope: Construct, id: str, *, config: Config) -> None:
        super().__init__(
            scope,
            id,
            env=Environment(account=config.account, region=config.region),
            description=f"TapStack e-commerce platform ({config.environment})",
        )
        for name, value in config.tags.items():
            Tags.of(self).add(name, value)

        keys = Keys(self, "Keys", removal_policy=config.removal_policy)
        self.network = Network(
            self, "Network", settings=config.network, key=keys.key, removal_policy=config.removal_policy
        )
        self.database = Database(
            self,
            "Database",
            settings=config.database,
            vpc=self.network.vpc,
            key=keys.key,
            secret_removal_policy=config.removal_policy,
        )
