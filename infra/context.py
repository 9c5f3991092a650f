"""From CDK context to a validated Config: `environment`, `region`, and `<section>.<field>` for every setting.

The CDK CLI merges `cdk.json`, `cdk.context.json` and `-c key=value` into the app's context; every key
that names a setting is parsed to the field's type and replaces the profile's value. A key shaped like a
setting that names none fails, with the closest valid keys; so does a value of the wrong type.
"""

from __future__ import annotations

import difflib
import enum
import re
import types
from collections.abc import Callable, Mapping
from dataclasses import fields, replace
from datetime import UTC, datetime
from typing import Any, Union, get_args, get_origin, get_type_hints

from infra.config import BACKUP_REGION_PAIRS, REGIONS, Config, ConfigError, Settings, invalid, type_name
from infra.profiles import PREVIEW, PROFILES
from tapstack_cli.names import InvalidName, allowed_environments, check_environment

# The seed's camelCase keys, kept so its users' commands work.
SEED_KEYS = {
    "emailAddress": "alerts.email_address",
    "domainName": "edge.domain_name",
    "certificateArn": "edge.certificate_arn",
}
# Keys without a section: the profile, the region, and the Config's own fields.
TOP_LEVEL_KEYS = ("environment", "region", "removal_policy", "created_at")
# What a key must look like to be taken as ours; CDK's own keys carry ':', '/' or '@'.
SETTING_KEY = re.compile(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*")


def sections() -> dict[str, type[Settings]]:
    """Each settings section of Config by its key prefix."""
    hints = get_type_hints(Config)
    return {
        item.name: hints[item.name]
        for item in fields(Config)
        if isinstance(hints[item.name], type) and issubclass(hints[item.name], Settings)
    }


def setting_types() -> dict[str, Any]:
    """Every context key that sets a field, with the field's type."""
    config_hints = get_type_hints(Config)
    keys: dict[str, Any] = {key: config_hints[key] for key in TOP_LEVEL_KEYS if key in config_hints}
    for name, section in sections().items():
        hints = get_type_hints(section)
        keys |= {f"{name}.{item.name}": hints[item.name] for item in fields(section)}  # type: ignore[arg-type]
    return keys


def _enum(value: object, hint: type[enum.Enum]) -> object:
    by_name = {member.name: member for member in hint} | {str(member.value).upper(): member for member in hint}
    return by_name.get(value.strip().upper()) if isinstance(value, str) else None


def _bool(value: object) -> object:
    if isinstance(value, bool):
        return value
    text = value.strip().lower() if isinstance(value, str) else None
    return text == "true" if text in ("true", "false") else None


def _number(value: object, pattern: str) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(pattern, value.strip()):
        number = float(value)
        return int(number) if number.is_integer() else number
    return None


_SCALARS: dict[Any, Callable[[object], object]] = {
    bool: _bool,
    int: lambda value: _number(value, r"-?\d+"),
    float: lambda value: _number(value, r"-?\d+(\.\d+)?"),
    str: lambda value: value.strip() if isinstance(value, str) else None,
}


def parse(key: str, value: object, hint: Any) -> object:
    """A context value (a string from `-c`, or JSON from cdk.json) as the field's type."""
    if get_origin(hint) in (Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "null")):
            return None
        (inner,) = (arg for arg in get_args(hint) if arg is not type(None))
        return parse(key, value, inner)
    if get_origin(hint) is tuple:
        items = value.split(",") if isinstance(value, str) else value
        if isinstance(items, list | tuple):
            return tuple(parse(key, item, get_args(hint)[0]) for item in items if item != "")
        parsed: object = None
    elif isinstance(hint, type) and issubclass(hint, enum.Enum):
        parsed = _enum(value, hint)
    else:
        parsed = _SCALARS[hint](value)
    if parsed is None:
        raise invalid(key, value, type_name(hint))
    return parsed


def unknown_key(key: str, known: list[str]) -> ConfigError:
    closest = difflib.get_close_matches(key, known, n=3, cutoff=0.6)
    hint = f"; closest: {', '.join(closest)}" if closest else ""
    return ConfigError(f"unknown setting {key!r}: no setting has this name{hint} (docs/configuration.md lists them)")


def overrides_from(context: Mapping[str, object]) -> dict[str, object]:
    """The context keys that set a setting, with seed keys renamed; unknown setting-shaped keys fail."""
    known = setting_types()
    overrides: dict[str, object] = {}
    for key, value in context.items():
        name = SEED_KEYS.get(key, key)
        if name in known:
            overrides[name] = value
        elif SETTING_KEY.fullmatch(key):
            raise unknown_key(key, [*known, *SEED_KEYS])
        elif re.fullmatch(r"[A-Za-z_]+", key) and difflib.get_close_matches(key, [*TOP_LEVEL_KEYS, *SEED_KEYS], 1, 0.8):
            # A bare key one typo away from ours (`enviroment`) would otherwise be ignored silently.
            raise unknown_key(key, [*TOP_LEVEL_KEYS, *SEED_KEYS])
    return overrides


def load_config(
    environment: str = "dev",
    *,
    region: str = "us-east-1",
    account: str | None = None,
    overrides: Mapping[str, object] | None = None,
) -> Config:
    """The profile of `environment` in `region`, with `<section>.<field>` overrides, validated."""
    try:
        environment = check_environment(environment)
    except InvalidName as error:
        raise invalid("environment", environment, allowed_environments()) from error
    if region not in REGIONS:
        raise invalid("region", region, f"one of {', '.join(REGIONS)} (infra/config.py REGIONS says why)")
    facts = REGIONS[region]
    # Any name but a profile's is a preview: its own stacks with the preview profile's settings, tagged with
    # when it was created (today, unless the CI job gives the pull request's time as `created_at`).
    config = PROFILES.get(environment) or replace(
        PREVIEW, environment=environment, created_at=datetime.now(UTC).strftime("%Y-%m-%d")
    )
    config = replace(
        config,
        region=region,
        account=account,
        network=replace(config.network, availability_zones=facts.availability_zones),
        edge=replace(config.edge, origin_facing_prefix_list_id=facts.origin_facing_prefix_list_id),
        backup=replace(config.backup, copy_region=config.backup.copy_region or BACKUP_REGION_PAIRS.get(region, "")),
    )
    types_by_key = setting_types()
    changes: dict[str, dict[str, Any]] = {}
    for key, value in (overrides or {}).items():
        parsed = parse(key, value, types_by_key[key])
        section, _, name = key.rpartition(".")
        changes.setdefault(section, {})[name] = parsed
    top = changes.pop("", {})
    config = replace(
        config, **{section: replace(getattr(config, section), **values) for section, values in changes.items()}
    )
    return replace(config, **top).validate()


def config_from_context(context: Mapping[str, object], *, account: str | None = None) -> Config:
    """The Config that `cdk synth` with this context deploys."""
    overrides = overrides_from(context)
    environment = str(overrides.pop("environment", None) or "dev")
    region = str(overrides.pop("region", None) or "us-east-1")
    return load_config(environment, region=region, account=account, overrides=overrides)
