"""The platform-neutral ``annexa ci``: context -> collect -> ``engine.run_check`` -> render -> publish -> outputs.

It runs over the ``annexa.platforms.base`` seam only, so any platform that implements it (GitLab today, GitHub
after the merge) gets the same job. Nothing here prints or exits: ``cli.py`` prints ``RunOutcome.messages`` and
exits with ``RunOutcome.exit_code``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from annexa.collect.checkout import Checkout
from annexa.engine import Inputs, load_inputs, run_check
from annexa.errors import AnnexaError
from annexa.facts import Facts
from annexa.model import Severity
from annexa.paths import match_any
from annexa.platforms.base import ChangeCollector, ChangeRead, Platform, ReviewState, SettingsRead, neutral_review_state
from annexa.report import Report, RunInfo

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
    for policy in inputs.policies:
        for req in policy.requirements:
            spec = inputs.catalog[req.rule]
            params = {**spec.defaults(), **req.params, **inputs.config.params.get(req.rule, {})}
            patterns += [str(p) for p in params.get("branches") or [] if str(p) not in patterns]
    return patterns


def with_owner_members(collector: ChangeCollector, read: ChangeRead, inputs: Inputs) -> ChangeRead:
    """Resolve the model owners' teams or groups, only when the change touches weights and a non-owner approved."""
    pr, change = read.pull_request, read.change
    if pr is None or change is None:
        return read
    weights = inputs.config.path_class("weights")
    if not any(match_any(weights, path) for path in change.files):
        return read
    owners = inputs.config.owners_of("models")
    users = {o.lstrip("@").lower() for o in owners if "/" not in o}
    teams = [o for o in owners if "/" in o]
    approved = [r for r in pr.reviews if neutral_review_state(r.state) == ReviewState.APPROVED.value]
    if not teams or not any(r.user.lower() not in users for r in approved):
        return read
    members, reasons = collector.members(teams)
    return replace(read, pull_request=replace(pr, team_members=members, team_reasons=reasons))


def run(platform: Platform, args: argparse.Namespace, env: Mapping[str, str],
        today: dt.date | None = None) -> RunOutcome:
    """Run ``annexa ci`` on ``platform``; see the module docstring."""
    from annexa.render import render

    ctx = platform.context()
    root: Path = args.path or ctx.workspace
    if not root.is_dir():
        raise AnnexaError(f"{root}: not a directory")
    inputs = load_inputs(root, args.config, args.policies, Severity(args.fail_on) if args.fail_on else None)
    notes: list[str] = []
    no_token = getattr(platform, "no_token_reason", lambda: "no API token")()

    settings_reader = platform.settings_collector()
    settings = SettingsRead(None, no_token) if settings_reader is None else settings_reader.collect(
        branch_patterns(inputs))
    if settings.empty:
        notes.append(f"{ctx.repository} is empty (no commits on any branch): branch rules are unknown.")
    change = ChangeRead(None, None, ctx.no_change_reason, state="none")
    if ctx.change_number is not None:
        change_reader = platform.change_collector()
        if change_reader is None:
            change = ChangeRead(None, None, no_token, state="unreadable")
        else:
            change = with_owner_members(change_reader, change_reader.collect(ctx.change_number), inputs)
    elif ctx.no_change_reason:
        notes.append(ctx.no_change_reason[0].upper() + ctx.no_change_reason[1:] + ".")

    facts = Facts(
        platform=ctx.platform,
        checkout=Checkout(root),
        change=change.change,
        settings=settings.settings,
        settings_reason=settings.reason or Facts.settings_reason,
        pull_request=change.pull_request,
        pull_request_reason=change.reason or Facts.pull_request_reason,
    )
    pr = change.pull_request
    info = RunInfo(
        id=str(uuid.uuid4()),
        started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        platform=ctx.platform,
        repository=ctx.repository,
        ref=ctx.ref,
        commit=pr.head_sha if pr and pr.head_sha else ctx.commit,
        pull_request=ctx.change_number,
        base=pr.base_ref if pr else None,
    )
    report = run_check(inputs, facts, info, today=today)

    out_dir: Path = args.output_dir or ctx.output_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    rendered = {fmt: render(report, fmt) for fmt in ("json", "codequality", "junit")}
    rendered["markdown"] = render(report, "markdown", max_chars=1_000_000, full_report_url=ctx.job_url)
    files = {"report-json": out_dir / "report.json", "report-markdown": out_dir / "report.md"}
    files["report-json"].write_text(rendered["json"], encoding="utf-8")
    files["report-markdown"].write_text(rendered["markdown"], encoding="utf-8")

    why_not = platform.why_not_post(settings, change)
    if why_not:
        notes.append(why_not)
    published = platform.publisher().publish(report, rendered, out_dir, comment=args.comment and not why_not)
    files.update({fmt: path for fmt, path in published.artifacts.items()})
    notes += published.notes

    counts = ", ".join(f"{n} {status}" for status, n in report.summary.items() if n)
    messages = [render(report, "text").rstrip("\n"), f"annexa: {report.verdict} ({counts}); report in {out_dir}"]
    if published.comment_url:
        messages.append(f"annexa: merge request note {published.comment_action}: {published.comment_url}")
    messages += [f"annexa: {note}" for note in notes]
    return RunOutcome(
        report=report,
        messages=messages,
        exit_code=EXIT_FAIL if report.verdict == "fail" else EXIT_OK,
        history=args.history or env.get("ANNEXA_HISTORY_URL"),
        files=files,
    )


def run_ci(args: argparse.Namespace, env: Mapping[str, str], today: dt.date | None = None) -> RunOutcome | None:
    """``annexa ci`` on the platform the job runs in; ``None`` for GitHub Actions (still run by ``annexa.ci``)."""
    from annexa.platforms.base import detect

    if detect(env) != "gitlab":
        return None
    from annexa.platforms.gitlab import GitLabPlatform

    return run(GitLabPlatform(env), args, env, today=today)
