"""The platform-neutral ``annexa ci``: context -> collect -> ``engine.run_check`` -> render -> publish -> outputs.

It runs over the ``annexa.platforms.base`` seam only: GitHub Actions and GitLab CI get the same job (read the
change, judge it by its base revision's config and policies, collect settings, check, render, publish).
Nothing here prints or exits: ``cli.py`` prints ``RunOutcome.messages`` and exits with ``RunOutcome.exit_code``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from annexa.collect.base_revision import BaseFiles
from annexa.collect.checkout import Checkout
from annexa.engine import Inputs, load_inputs, rule_params, run_check
from annexa.errors import AnnexaError
from annexa.facts import ChangeSet, Facts
from annexa.model import Severity
from annexa.paths import match_any
from annexa.platforms.base import ChangeCollector, ChangeRead, Platform, ReviewState, SettingsRead, neutral_review_state
from annexa.report import Report, RunInfo
from annexa.rules.pull_request import weight_paths

EXIT_OK, EXIT_FAIL = 0, 1


@dataclass(frozen=True)
class RunOutcome:
    """The report, lines for the job log (the text report first), the exit code, where to record history."""

    report: Report
    messages: list[str] = field(default_factory=list)
    exit_code: int = EXIT_OK
    history: str | None = None
    files: Mapping[str, Path] = field(default_factory=dict)


def branch_patterns(inputs: Inputs) -> list[str]:
    """Every ``branches`` glob any settings rule is run with (policy requirement, config or default)."""
    patterns: list[str] = []
    rules = dict.fromkeys(req.rule for policy in inputs.policies for req in policy.requirements)
    for rule in rules:
        for params in rule_params(inputs, rule):
            for pattern in params.get("branches") or []:
                if pattern not in patterns:
                    patterns.append(str(pattern))
    return patterns


def with_owner_members(collector: ChangeCollector, read: ChangeRead, inputs: Inputs) -> ChangeRead:
    """Resolve the owners' teams or groups that a rule of the policies declares it needs (catalog
    ``needs.owner_members``: the parameter naming the owners role, and the path class whose change calls for
    them), only when the change touches that class (renamed files too) and someone who is not a listed owner user
    approved."""
    pr, change = read.pull_request, read.change
    if pr is None or change is None:
        return read
    owners: list[str] = []
    for rule in dict.fromkeys(req.rule for policy in inputs.policies for req in policy.requirements):
        spec = inputs.catalog.get(rule)
        need = spec.needs.get("owner_members") if spec is not None else None
        if not isinstance(need, Mapping):
            continue
        path_class = need.get("when_changed")
        if path_class:
            patterns = list(inputs.config.path_class(str(path_class)))
            if not weight_paths(change, functools.partial(_in, patterns)):
                continue
        for params in rule_params(inputs, rule):
            role = str(params.get(str(need["role_param"])) or "")
            owners += [o for o in inputs.config.owners_of(role) if o not in owners]
    users = {o.lstrip("@").lower() for o in owners if "/" not in o}
    teams = [o for o in owners if "/" in o]
    approved = [r for r in pr.reviews if neutral_review_state(r.state) == ReviewState.APPROVED.value]
    if not teams or not any(r.user.lower() not in users for r in approved):
        return read
    members, reasons = collector.members(teams)
    return replace(read, pull_request=replace(pr, team_members=members, team_reasons=reasons))


def _in(patterns: list[str], path: str) -> bool:
    return match_any(patterns, path)


def unjudged(args: argparse.Namespace) -> str:
    """What to say when the base revision cannot be read at all (no git history and no API)."""
    if args.config is not None or args.policies:
        return "config and policies from the command line; the base revision could not be read"
    return ("the checkout's own config, policies and secrets baseline: the base revision could not be read (no git "
            "history and no API access), so the change's edits to them, if any, are applied")


def run(platform: Platform, args: argparse.Namespace, env: Mapping[str, str],
        today: dt.date | None = None) -> RunOutcome:
    """Run ``annexa ci`` on ``platform``; see the module docstring."""
    from annexa.render import render

    ctx = platform.context()
    root: Path = args.path or ctx.workspace
    if not root.is_dir():
        raise AnnexaError(f"{root}: not a directory")
    checkout = Checkout(root)
    notes: list[str] = []
    no_token = platform.no_token_reason()
    number = ctx.change_number

    # the change first: its base revision holds the config and policies that judge it
    change_reader = platform.change_collector() if number is not None else None
    read = ChangeRead(None, None, ctx.no_change_reason or None, state="none")
    change: ChangeSet | None = None
    base: BaseFiles | None = None
    if number is not None:
        read = ChangeRead(None, None, no_token, state="unreadable") if change_reader is None else \
            change_reader.collect(number)
        change, base = platform.change_and_base(checkout, read, notes)
    elif ctx.no_change_reason:
        notes.append(ctx.no_change_reason[0].upper() + ctx.no_change_reason[1:] + ".")
    inputs = load_inputs(root, args.config, args.policies, Severity(args.fail_on) if args.fail_on else None, base)
    if number is not None and base is None:
        inputs = replace(inputs, rules_from=unjudged(args))
    if change_reader is not None:
        read = with_owner_members(change_reader, read, inputs)

    settings_reader = platform.settings_collector()
    pr = read.pull_request
    settings = SettingsRead(None, no_token) if settings_reader is None else settings_reader.collect(
        branch_patterns(inputs), [pr.base_ref] if pr and pr.base_ref else [])
    if settings.empty:
        notes.append(f"{ctx.repository} is empty (no commits on any branch): branch rules are unknown.")

    facts = Facts(
        platform=ctx.platform,
        checkout=checkout,
        base=base,
        change=change,
        settings=settings.settings,
        settings_reason=settings.reason or Facts.settings_reason,
        pull_request=pr,
        pull_request_reason=read.reason or Facts.pull_request_reason,
    )
    info = RunInfo(
        id=str(uuid.uuid4()),
        started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        platform=ctx.platform,
        repository=ctx.repository,
        ref=ctx.ref,
        commit=ctx.commit or (pr.head_sha if pr else None),
        pull_request=number,
        base=pr.base_ref if pr else None,
    )
    report = run_check(inputs, facts, info, today=today)

    out_dir: Path = args.output_dir or ctx.output_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    rendered = {fmt: render(report, fmt) for fmt in ("json", *platform.artifact_formats)}
    rendered["markdown"] = render(report, "markdown", max_chars=1_000_000, full_report_url=ctx.job_url)
    files: dict[str, Path] = {"report-json": out_dir / "report.json", "report-markdown": out_dir / "report.md"}
    files["report-json"].write_text(rendered["json"], encoding="utf-8")
    files["report-markdown"].write_text(rendered["markdown"], encoding="utf-8")

    why_not = platform.why_not_post(settings, read)
    if why_not:
        notes.append(why_not)
    comment = bool(args.comment) and not why_not and (number is None or pr is not None)
    published = platform.publisher().publish(report, rendered, out_dir, comment=comment, post=not why_not,
                                             options=args)
    files.update(published.artifacts)
    notes += published.notes
    platform.finish(report, files, published, notes)

    counts = ", ".join(f"{n} {status}" for status, n in report.summary.items() if n)
    messages = [render(report, "text").rstrip("\n"), f"annexa: {report.verdict} ({counts}); report in {out_dir}"]
    if published.comment_url:
        messages.append(f"annexa: {published.comment_kind} {published.comment_action}: {published.comment_url}")
    messages += [f"annexa: {line}" for line in published.lines]
    messages += [f"annexa: {note}" for note in notes]
    return RunOutcome(
        report=report,
        messages=messages,
        exit_code=EXIT_FAIL if report.verdict == "fail" else EXIT_OK,
        history=args.history or env.get("ANNEXA_HISTORY_URL"),
        files=files,
    )


def platform_for(env: Mapping[str, str]) -> Platform:
    """The platform the job runs in: GitLab CI (``GITLAB_CI``), else GitHub Actions (which names what is
    missing when the job is neither)."""
    from annexa.platforms.base import detect

    found = detect(env)
    if found == "gitlab" or (found is None and env.get("CI_PROJECT_PATH") and not env.get("GITHUB_REPOSITORY")):
        from annexa.platforms.gitlab import GitLabPlatform

        return GitLabPlatform(env)
    from annexa.platforms.github import GitHubPlatform

    return GitHubPlatform(env)


def run_ci(args: argparse.Namespace, env: Mapping[str, str], today: dt.date | None = None) -> RunOutcome:
    """``annexa ci`` on the platform the job runs in (GitHub Actions or GitLab CI)."""
    return run(platform_for(env), args, env, today=today)
