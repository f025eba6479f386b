"""``annexa settings snapshot``: write the ``--settings`` file (schemas/settings.schema.json) from a live API.

An offline ``annexa check --settings F`` can then start from the real settings of a GitHub repository or a GitLab
project. Tokens come from the environment only (``ANNEXA_GITHUB_TOKEN``/``GITHUB_TOKEN``,
``ANNEXA_GITLAB_TOKEN``/``GITLAB_TOKEN``); what the token cannot read is written as unknown with its reason.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema

from annexa.errors import AnnexaError
from annexa.facts import RepoSettings, Setting
from annexa.yamlio import schema

GITHUB_TOKENS = ("ANNEXA_GITHUB_TOKEN", "GITHUB_TOKEN")
GITLAB_TOKENS = ("ANNEXA_GITLAB_TOKEN", "GITLAB_TOKEN")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``annexa settings snapshot``."""
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--github", metavar="OWNER/REPO", help="a GitHub repository")
    where.add_argument("--gitlab", metavar="GROUP/PROJECT", help="a GitLab project path or id")
    parser.add_argument("--api-url", help="API root (default: $GITHUB_API_URL or api.github.com; for GitLab the "
                        "server URL: $CI_SERVER_URL or https://gitlab.com)")
    parser.add_argument("--branch", action="append", default=[], help="also snapshot this branch (repeatable)")
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON snapshot")


def _value(setting: Setting[Any]) -> Any:
    value = list(setting.value) if isinstance(setting.value, tuple) else setting.value
    if isinstance(value, list):
        value = [dict(v) if isinstance(v, Mapping) else v for v in value]
    out: dict[str, Any] = {"value": value}
    if setting.source:
        out["source"] = setting.source
    if setting.reason:
        out["reason"] = setting.reason
    if setting.bypass:
        out["bypass"] = [b.label for b in setting.bypass]
    if setting.not_enforced:
        out["not_enforced"] = list(setting.not_enforced)
    return out


def to_document(settings: RepoSettings, captured_at: str) -> dict[str, Any]:
    """The snapshot document for ``settings``."""
    doc: dict[str, Any] = {
        "platform": settings.platform,
        "repository": settings.repository,
        "captured_at": captured_at,
        "default_branch": settings.default_branch,
        "visibility": _value(settings.visibility),
        "secret_scanning": _value(settings.secret_scanning),
        "secret_push_protection": _value(settings.secret_push_protection),
        "codeowners_errors": _value(settings.codeowners_errors),
        "branches": {
            b.branch: {f.name: _value(getattr(b, f.name)) for f in dataclasses.fields(b) if f.name != "branch"}
            for b in settings.branches
        },
    }
    return doc


def collect(args: argparse.Namespace, env: Mapping[str, str]) -> RepoSettings:
    """Read the settings from the live API named by ``args``."""
    if args.github:
        from annexa.platforms.github.client import GitHubClient, SettingsCollector

        hub_token = next((env[v] for v in GITHUB_TOKENS if env.get(v)), None)
        if not hub_token:
            raise AnnexaError("annexa settings snapshot --github needs ANNEXA_GITHUB_TOKEN (or GITHUB_TOKEN)")
        client = GitHubClient(hub_token, args.api_url or env.get("GITHUB_API_URL") or "https://api.github.com")
        settings = SettingsCollector(client, args.github).collect((), args.branch)
        if settings.default_branch is None and settings.visibility.value is None:
            # not even the repository could be read (missing, no access, or the API down): no snapshot to write
            raise AnnexaError(f"cannot read the settings of {args.github}: {settings.visibility.reason}")
        return settings
    from annexa.platforms.gitlab.client import GitLabClient
    from annexa.platforms.gitlab.settings import GitLabSettingsCollector

    token = next((env[v] for v in GITLAB_TOKENS if env.get(v)), None)
    if not token:
        raise AnnexaError("annexa settings snapshot --gitlab needs ANNEXA_GITLAB_TOKEN (or GITLAB_TOKEN) with read_api")
    lab = GitLabClient(args.api_url or env.get("CI_SERVER_URL") or "https://gitlab.com", token)
    read = GitLabSettingsCollector(lab, args.gitlab).collect(args.branch)
    if read.settings is None:
        raise AnnexaError(f"cannot read the settings of {args.gitlab}: {read.reason}")
    return read.settings


def snapshot(args: argparse.Namespace, env: Mapping[str, str], now: dt.datetime | None = None) -> str:
    """Collect, validate against the schema and write the snapshot; returns a one-line message."""
    settings = collect(args, env)
    stamp = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    doc = to_document(settings, stamp)
    problems = [e.message for e in jsonschema.Draft202012Validator(schema("settings.schema.json")).iter_errors(doc)]
    if problems:
        raise AnnexaError(f"the snapshot does not match settings.schema.json: {problems[0]}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    unknown = sum(1 for b in doc["branches"].values() for v in b.values() if v["value"] is None)
    return (f"annexa: wrote the settings of {settings.repository} ({len(doc['branches'])} branches, "
            f"{unknown} branch settings unknown) to {args.out}")
