"""From CDK context to a validated Config: `environment`, `region`, and `<section>.<field>` for every setting.

The CDK CLI merges `cdk.json`, `cdk.context.json` and `-c key=value` into the app's context; every key
that names a setting is parsed to the field's type and replaces the profile's value. A key shaped like a
setting that names none fails, with the closest valid keys; so does a value of the wrong type.

Map settings take one entry per key or the whole map as a JSON object:
`-c service.environment.SHOP_CURRENCY=EUR` or `"service.environment": {"SHOP_CURRENCY": "EUR"}`, and
`-c jobs.cleanup.schedule="rate(1 hour)"`, `"jobs.cleanup": {"schedule": ..., "command": ...}` or
`"jobs": {"cleanup": {...}}`. Any dotted key that starts like ours and names none of these fails.
"""

from __future__ import annotations

import contextlib
import difflib
import enum
import json
import re
import types
from collections.abc import Callable, Mapping
from dataclasses import fields, replace
from datetime import UTC, datetime
from typing import Any, Union, get_args, get_origin, get_type_hints

from infra.config import (
    BACKUP_REGION_PAIRS,
    REGIONS,
    Config,
    ConfigError,
    JobSettings,
    Settings,
    invalid,
    type_name,
)
from infra.profiles import BUNDLED_JOBS, PREVIEW, PROFILES
from tapstack_cli.names import InvalidName, allowed_environments, check_environment

# camelCase keys of this app's first version, kept so that commands written for it still work.
SEED_KEYS = {
    "emailAddress": "alerts.email_address",
    "domainName": "edge.domain_name",
    "certificateArn": "edge.certificate_arn",
}
# Keys without a section: the profile, the region, and the Config's own fields.
TOP_LEVEL_KEYS = ("environment", "region", "removal_policy", "created_at")
# What a key must look like to be taken as ours: dotted parts after a lowercase word; CDK's own keys
# carry ':', '/' or '@'.
SETTING_KEY = re.compile(r"[a-z][a-z0-9_]*(\.[A-Za-z0-9_-]+)+")
JOBS = "jobs"


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


def map_settings() -> dict[str, Any]:
    """The settings that are maps (`service.environment`), with the type of one entry."""
    return {key: get_args(hint)[1] for key, hint in setting_types().items() if get_origin(hint) is dict}


def job_types() -> dict[str, Any]:
    """Each field of a job (`jobs.<name>.<field>`) with its type."""
    hints = get_type_hints(JobSettings)
    return {item.name: hints[item.name] for item in fields(JobSettings)}


def _json_object(key: str, value: object) -> dict[str, object]:
    """A map setting's value: a JSON object from cdk.json, or its text from `-c key='{...}'`."""
    if isinstance(value, str) and value.strip().startswith("{"):
        with contextlib.suppress(json.JSONDecodeError):  # not JSON: the error below names the key
            value = json.loads(value)
    elif isinstance(value, str) and value.strip() == "":
        return {}
    if not isinstance(value, dict):
        raise invalid(key, value, "a JSON object of name to value (or one entry per key: <key>.<name>=<value>)")
    return value


def _as_text(value: object) -> object:
    """A map entry that is text, given as a JSON number or boolean in cdk.json: as the environment has it."""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value) if isinstance(value, int | float) else value


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
    if get_origin(hint) is dict:
        return {
            str(name): parse(f"{key}.{name}", _as_text(item) if get_args(hint)[1] is str else item, get_args(hint)[1])
            for name, item in _json_object(key, value).items()
        }
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


def _candidates(key: str, known: dict[str, Any]) -> list[str]:
    """The keys a mistyped `key` may have meant, map entries spelled with the key's own names."""
    parts = key.split(".")
    entry = parts[2] if len(parts) > 2 else "<NAME>"
    maps = [f"{setting}.{entry}" for setting in map_settings()]
    job = parts[1] if parts[0] == JOBS and len(parts) > 1 else "<name>"
    return [*known, *SEED_KEYS, *maps, *(f"{JOBS}.{job}.{name}" for name in job_types())]


def is_setting_key(key: str) -> bool:
    """Whether `key` names a setting: a field, an entry of a map setting, or a job or one of its fields."""
    if key in setting_types() or key == JOBS:
        return True
    section, _, entry = key.rpartition(".")
    if section in map_settings():
        return entry != ""
    parts = key.split(".")
    if parts[0] == JOBS:
        return len(parts) == 2 or (len(parts) == 3 and parts[2] in job_types())
    return False


def overrides_from(context: Mapping[str, object]) -> dict[str, object]:
    """The context keys that set a setting, with seed keys renamed; unknown setting-shaped keys fail."""
    known = setting_types()
    overrides: dict[str, object] = {}
    for key, value in context.items():
        name = SEED_KEYS.get(key, key)
        if is_setting_key(name):
            overrides[name] = value
        elif SETTING_KEY.fullmatch(key) or key.split(".")[0].lower() in {*sections(), JOBS}:
            # Also `Service.image` or a bare `service`: shaped like ours, so never ignored.
            raise unknown_key(key, _candidates(key.lower(), known))
        elif re.fullmatch(r"[A-Za-z_]+", key) and difflib.get_close_matches(key, [*TOP_LEVEL_KEYS, *SEED_KEYS], 1, 0.8):
            # A bare key one typo away from ours (`enviroment`) would otherwise be ignored silently.
            raise unknown_key(key, [*TOP_LEVEL_KEYS, *SEED_KEYS])
    return overrides


def _job_fields(key: str, value: object) -> dict[str, object]:
    """One job's fields from `jobs.<name>` (a JSON object), parsed; an unknown field fails."""
    types = job_types()
    parsed: dict[str, object] = {}
    for name, item in _json_object(key, value).items():
        if name not in types:
            raise unknown_key(f"{key}.{name}", [f"{key}.{field}" for field in types])
        parsed[name] = parse(f"{key}.{name}", item, types[name])
    return parsed


def _jobs(base: Mapping[str, JobSettings], overrides: Mapping[str, object]) -> dict[str, JobSettings]:
    """The jobs: `base` (the bundled storefront's, or none) changed by every `jobs...` key."""
    changes: dict[str, dict[str, object]] = {}
    # Whole map first, then whole jobs, then single fields: the more precise key wins.
    for key in sorted(overrides, key=lambda key: key.count(".")):
        value = overrides[key]
        parts = key.split(".")
        if len(parts) == 1:
            for name, job in _json_object(key, value).items():
                changes.setdefault(str(name), {}).update(_job_fields(f"{JOBS}.{name}", job))
        elif len(parts) == 2:
            changes.setdefault(parts[1], {}).update(_job_fields(key, value))
        else:
            changes.setdefault(parts[1], {})[parts[2]] = parse(key, value, job_types()[parts[2]])
    jobs = dict(base)
    for name, values in changes.items():
        if name in jobs:
            jobs[name] = replace(jobs[name], **values)  # type: ignore[arg-type]
            continue
        missing = [field for field in ("schedule", "command") if field not in values]
        if missing:
            raise invalid(
                f"{JOBS}.{name}.{missing[0]}", None, f"a value: a new job needs {JOBS}.{name}.schedule and .command"
            )
        jobs[name] = JobSettings(**values)  # type: ignore[arg-type]
    return jobs


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
    maps = map_settings()
    changes: dict[str, dict[str, Any]] = {}
    job_overrides: dict[str, object] = {}
    # Whole maps before their entries, so that `service.environment.X` adds to `service.environment`.
    for key in sorted(overrides or {}, key=lambda key: key.count(".")):
        value = (overrides or {})[key]
        if key.split(".")[0] == JOBS:
            job_overrides[key] = value
            continue
        setting, _, entry = key.rpartition(".")
        if key not in types_by_key and setting in maps:
            section, _, name = setting.rpartition(".")
            current = changes.get(section, {}).get(name, getattr(getattr(config, section), name))
            item = _as_text(value) if maps[setting] is str else value
            changes.setdefault(section, {})[name] = {**current, entry: parse(key, item, maps[setting])}
            continue
        parsed = parse(key, value, types_by_key[key])
        section, _, name = key.rpartition(".")
        changes.setdefault(section, {})[name] = parsed
    top = changes.pop("", {})
    config = replace(
        config, **{section: replace(getattr(config, section), **values) for section, values in changes.items()}
    )
    # The bundled storefront's jobs come with its image; a shop's own image brings only the jobs it sets.
    base = {**(BUNDLED_JOBS if config.service.image is None else {}), **config.jobs}
    config = replace(config, jobs=_jobs(base, job_overrides))
    return replace(config, **top).validate()


def config_from_context(context: Mapping[str, object], *, account: str | None = None) -> Config:
    """The Config that `cdk synth` with this context deploys."""
    overrides = overrides_from(context)
    environment = str(overrides.pop("environment", None) or "dev")
    region = str(overrides.pop("region", None) or "us-east-1")
    return load_config(environment, region=region, account=account, overrides=overrides)
