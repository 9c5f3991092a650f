"""`tapstack logs`: the service's log lines, or a one-off task's (`copilot svc logs`, `copilot task logs`).

CloudWatch Logs FilterLogEvents, polled for --follow: it works with every credential that may read the
group and through any endpoint; StartLiveTail would push lines instead but needs an event-stream session
(and is billed per minute of session), which a polling loop every few seconds does not.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

from tapstack_cli.profile import CommandError, Profile, require
from tapstack_cli.progress import poll_seconds

HELP = "the service's log lines (--since, --filter, --follow), or a one-off task's (--task)"
DESCRIPTION = """\
Print the service's log lines, oldest first, each as
  <time UTC>  <task id>  [<request id>]  <message>
The request id is the one the storefront returns in X-Request-Id, so a customer's report leads to its
line. --filter takes CloudWatch Logs' filter pattern syntax: a word ("checkout"), a phrase in double
quotes, or a JSON condition ('{ $.status >= 500 }'). --task <id> reads one task's lines only (a task
that `tapstack run` started, or one of the service's). --follow keeps polling until Ctrl-C."""

SINCE = re.compile(r"(\d+)([smhd])")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", default="10m", help="how far back: 30s, 10m, 2h, 1d (default: 10m)")
    parser.add_argument("--filter", default=None, help="a CloudWatch Logs filter pattern")
    parser.add_argument("--follow", action="store_true", help="keep printing new lines until Ctrl-C")
    parser.add_argument("--task", default=None, help="only this task's lines (its id, or its ARN)")


def since_millis(text: str, now: float) -> int:
    """The epoch milliseconds `text` (like 10m) before `now` (seconds)."""
    match = SINCE.fullmatch(text)
    if match is None:
        raise CommandError(f"invalid --since {text!r}: allowed is a number with s, m, h or d, like 10m")
    return int((now - int(match[1]) * UNITS[match[2]]) * 1000)


def format_event(event: dict[str, Any]) -> str:
    """One log event as a line; a JSON line's request id is lifted to its own column."""
    moment = datetime.fromtimestamp(event["timestamp"] / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
    task = event.get("logStreamName", "").rpartition("/")[2][:12]
    message = event["message"].rstrip("\n")
    request_id = "-"
    if message.startswith("{"):
        with contextlib.suppress(ValueError, AttributeError):
            request_id = str(json.loads(message).get("request_id", "-"))
    return f"{moment}  {task}  [{request_id}]  {message}"


def stream_prefix(outputs: dict[str, str], environment: str, task: str | None) -> str | None:
    """The awslogs stream of one task: <prefix>/<container>/<task id>."""
    if task is None:
        return None
    prefix, container = require(outputs, "LogStreamPrefix", environment), require(outputs, "ContainerName", environment)
    return f"{prefix}/{container}/{task.rpartition('/')[2]}"


def events(
    logs: Any, group: str, start: int, pattern: str | None, stream: str | None, seen: set[str]
) -> Iterator[dict[str, Any]]:
    """The group's events from `start` (ms), oldest first, skipping ids already in `seen`."""
    request: dict[str, Any] = {"logGroupName": group, "startTime": start}
    if pattern:
        request["filterPattern"] = pattern
    if stream:
        # One task writes exactly one stream (<prefix>/<container>/<task id>).
        request["logStreamNames"] = [stream]
    try:
        pages = logs.get_paginator("filter_log_events").paginate(**request)
        found = [event for page in pages for event in page["events"]]
    except Exception as error:
        # A task that has not written yet has no stream: no lines so far.
        if stream and "ResourceNotFound" in type(error).__name__ + str(error):
            return
        raise
    for event in sorted(found, key=lambda event: (event["timestamp"], event["eventId"])):
        if event["eventId"] not in seen:
            seen.add(event["eventId"])
            yield event


def tail(
    logs: Any,
    group: str,
    *,
    start: int,
    pattern: str | None,
    stream: str | None,
    out: TextIO,
    follow: bool,
    keep_going: Callable[[], bool] = lambda: True,
) -> int:
    """Print the events from `start`; with `follow`, poll for new ones while `keep_going()`. Lines printed."""
    seen: set[str] = set()
    printed = 0
    while True:
        for event in events(logs, group, start, pattern, stream, seen):
            print(format_event(event), file=out, flush=True)
            # Ask again from the newest line seen; events of the same millisecond are skipped by id.
            start = max(start, event["timestamp"])
            printed += 1
        if not follow or not keep_going():
            return printed
        time.sleep(poll_seconds())


def run(profile: Profile, args: argparse.Namespace, out: TextIO) -> int:
    outputs = profile.outputs()
    group = require(outputs, "ServiceLogGroup", profile.environment)
    start = since_millis(args.since, time.time())
    stream = stream_prefix(outputs, profile.environment, args.task)
    printed = tail(
        profile.client("logs"), group, start=start, pattern=args.filter, stream=stream, out=out, follow=args.follow
    )
    if printed == 0:
        print(
            f"no log lines in {group} since {args.since} ago{' matching the filter' if args.filter else ''}", file=out
        )
    return 0
