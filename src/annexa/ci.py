"""``annexa ci`` inside GitHub Actions: collect facts through the API, evaluate, publish to the pull request.

``run_ci`` reads the Actions environment and event file, collects repository settings and the pull request,
runs the check, writes the report files, the job summary and step outputs, and posts one PR comment (updated
in place) and a check run. Nothing here prints or exits: ``cli.py`` prints ``CiOutcome.messages`` and exits with
``CiOutcome.exit_code``. The token is read from the environment only (never a command-line argument) and never
appears in a message.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from github import GithubException

from annexa.collect.checkout import Checkout
from annexa.collect.github import GitHubClient, PullCollector, PullFacts, RetryPolicy, SettingsCollector, Unavailable
from annexa.engine import Inputs, load_inputs, run_check
from annexa.errors import AnnexaError
from annexa.facts import Facts, RepoSettings
from annexa.model import Severity
from annexa.paths import match_any
from annexa.publish.github import (
    COMMENT_LIMIT,
    SUMMARY_LIMIT,
    GitHubPublisher,
    Published,
    refusal,
    write_outputs,
    write_summary,
)
from annexa.report import Report, RunInfo
from annexa.rules.pull_request import owner_roles, weight_paths

TOKEN_VARIABLES = ("ANNEXA_GITHUB_TOKEN", "GITHUB_TOKEN")
"""Where the token is looked for, in order."""
PR_EVENTS = ("pull_request", "pull_request_target", "pull_request_review")
EXIT_OK, EXIT_FAIL = 0, 1


@dataclass(frozen=True)
class CiOutcome:
    """The result of ``annexa ci``: the report, one-line messages for the user, the exit code."""

    report: Report
    messages: list[str] = field(default_factory=list)
    exit_code: int = EXIT_OK
    history: str | None = None
    """Where to record the run (``--history`` or ``ANNEXA_HISTORY_URL``), for the caller to act on."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``annexa ci``."""
    parser.add_argument("--path", type=Path, help="the checkout (default: $GITHUB_WORKSPACE or .)")
    parser.add_argument("--config", type=Path, help="config file (default: PATH/.annexa.yml)")
    parser.add_argument("--policies", type=Path, action="append", help="policy folder or file (repeatable)")
    parser.add_argument("--fail-on", choices=[s.value for s in Severity], help="override the config's fail_on")
    parser.add_argument("--comment", action=argparse.BooleanOptionalAction, default=True,
                        help="post or update the report comment on the pull request (default: on)")
    parser.add_argument("--check-run", action=argparse.BooleanOptionalAction, default=True,
                        help="create a check run with annotations on the changed lines (default: on)")
    parser.add_argument("--upload-sarif", action=argparse.BooleanOptionalAction, default=False,
                        help="upload the SARIF file to GitHub code scanning (needs security-events: write)")
    parser.add_argument("--output-dir", type=Path,
                        help="where report.json, report.md and annexa.sarif go (default: $RUNNER_TEMP/annexa)")
    parser.add_argument("--history", help="history store URL (default: $ANNEXA_HISTORY_URL)")


@dataclass(frozen=True)
class ActionsContext:
    """What the Actions environment and event file say about this run."""

    repository: str
    event_name: str
    event: Mapping[str, Any]
    api_url: str
    server_url: str
    sha: str | None
    ref: str | None
    run_url: str | None
    token: str | None

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ActionsContext:
        """Read the context; a missing repository or unreadable event file is a usage error."""
        repository = env.get("GITHUB_REPOSITORY")
        if not repository or "/" not in repository:
            raise AnnexaError("annexa ci runs inside GitHub Actions: GITHUB_REPOSITORY (owner/name) is not set")
        event: Mapping[str, Any] = {}
        event_path = env.get("GITHUB_EVENT_PATH")
        if event_path:
            try:
                loaded = json.loads(Path(event_path).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise AnnexaError(f"cannot read the event file GITHUB_EVENT_PATH={event_path}: {exc}") from None
            event = loaded if isinstance(loaded, dict) else {}
        server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
        run_id = env.get("GITHUB_RUN_ID")
        return cls(
            repository=repository,
            event_name=env.get("GITHUB_EVENT_NAME", ""),
            event=event,
            api_url=env.get("GITHUB_API_URL", "https://api.github.com"),
            server_url=server,
            sha=env.get("GITHUB_SHA"),
            ref=env.get("GITHUB_REF"),
            run_url=f"{server}/{repository}/actions/runs/{run_id}" if run_id else None,
            token=next((env[v] for v in TOKEN_VARIABLES if env.get(v)), None),
        )

    @property
    def pull_number(self) -> int | None:
        """The pull request number of a pull request (or review) event."""
        if self.event_name not in PR_EVENTS:
            return None
        number = (self.event.get("pull_request") or {}).get("number") or self.event.get("number")
        return int(number) if isinstance(number, int) else None

    @property
    def head_sha(self) -> str | None:
        """The commit under check: the PR head (not the merge commit), the merge group head, or GITHUB_SHA."""
        pull = self.event.get("pull_request") or {}
        group = self.event.get("merge_group") or {}
        return (pull.get("head") or {}).get("sha") or group.get("head_sha") or self.sha


def branch_patterns(inputs: Inputs) -> list[str]:
    """Every ``branches`` glob any settings rule is run with (policy requirement, config or default)."""
    patterns: list[str] = []
    for policy in inputs.policies:
        for req in policy.requirements:
            spec = inputs.catalog[req.rule]
            params = {**spec.defaults(), **req.params, **inputs.config.params.get(req.rule, {})}
            for pattern in params.get("branches") or []:
                if pattern not in patterns:
                    patterns.append(str(pattern))
    return patterns


def run_ci(args: argparse.Namespace, env: Mapping[str, str], today: dt.date | None = None) -> CiOutcome:
    """Run ``annexa ci``; see the module docstring."""
    ctx = ActionsContext.from_env(env)
    root: Path = args.path or Path(env.get("GITHUB_WORKSPACE") or ".")
    if not root.is_dir():
        raise AnnexaError(f"{root}: not a directory")
    inputs = load_inputs(root, args.config, args.policies, Severity(args.fail_on) if args.fail_on else None)
    messages: list[str] = []
    notes: list[str] = []
    number = ctx.pull_number
    client = GitHubClient(ctx.token, ctx.api_url, RetryPolicy()) if ctx.token else None

    pull = PullFacts(None, None, "no pull request: this run is for a " + (ctx.event_name or "non-PR") + " event")
    settings: RepoSettings | None = None
    settings_reason = "no GitHub token: pass inputs.token (or set ANNEXA_GITHUB_TOKEN) to read repository settings"
    archived = False
    if client is None:
        notes.append("No GitHub token was given, so settings were not read and nothing was posted.")
        if number is not None:
            pull = PullFacts(None, None, "no GitHub token to read the pull request", state="unreadable")
    else:
        if number is not None:
            pull = _collect_pull(client, ctx, number, inputs)
        collector = SettingsCollector(client, ctx.repository)
        base = [pull.pull_request.base_ref] if pull.pull_request else []
        settings = collector.collect(branch_patterns(inputs), base, ref=ctx.sha or ctx.head_sha)
        archived = collector.archived

    checkout = Checkout(root)
    facts = Facts(
        platform="github",
        checkout=checkout,
        change=pull.change,
        settings=settings,
        settings_reason=settings_reason,
        pull_request=pull.pull_request,
        pull_request_reason=pull.reason or Facts.pull_request_reason,
    )
    pr = pull.pull_request
    run = RunInfo(
        id=str(uuid.uuid4()),
        started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        platform="github",
        repository=ctx.repository,
        ref=f"refs/pull/{number}/head" if number is not None else ctx.ref,
        commit=ctx.head_sha,
        pull_request=number,
        base=pr.base_ref if pr else None,
    )
    report = run_check(inputs, facts, run, today=today)

    from annexa.render import render

    out_dir: Path = args.output_dir or Path(env.get("RUNNER_TEMP") or ".annexa") / "annexa"
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "report-json": out_dir / "report.json",
        "report-markdown": out_dir / "report.md",
        "sarif": out_dir / "annexa.sarif",
    }
    sarif = render(report, "sarif")
    paths["report-json"].write_text(render(report, "json"), encoding="utf-8")
    paths["report-markdown"].write_text(render(report, "markdown"), encoding="utf-8")
    paths["sarif"].write_text(sarif, encoding="utf-8")

    published = Published()
    if client is not None:
        why_not = _why_not_post(ctx, pull, archived)
        if why_not:
            notes.append(why_not)
        else:
            published = _publish(client, ctx, args, report, pull, notes)
            if args.upload_sarif and ctx.head_sha:
                _upload_sarif(client, ctx, sarif, run.ref or ctx.ref or "", published, notes)

    summary_path = env.get("GITHUB_STEP_SUMMARY")
    if summary_path:
        write_summary(Path(summary_path), notes, render(report, "markdown", max_chars=SUMMARY_LIMIT,
                                                       full_report_url=ctx.run_url))
    output_path = env.get("GITHUB_OUTPUT")
    if output_path:
        outputs = {"verdict": report.verdict, **{k: str(v) for k, v in report.summary.items()}}
        outputs.update({name: str(path) for name, path in paths.items()})
        outputs["comment-url"] = published.comment_url or ""
        outputs["check-run-url"] = published.check_run_url or ""
        write_outputs(Path(output_path), outputs)

    counts = ", ".join(f"{n} {status}" for status, n in report.summary.items() if n)
    messages.append(f"annexa: {report.verdict} ({counts}); report in {out_dir}")
    if published.comment_url:
        messages.append(f"annexa: PR comment {published.comment_action}: {published.comment_url}")
    if published.check_run_url:
        extra = f", {published.annotations_omitted} more in the report" if published.annotations_omitted else ""
        messages.append(f"annexa: check run: {published.check_run_url} ({published.annotations} annotations{extra})")
    if published.sarif_id:
        messages.append(f"annexa: SARIF uploaded to code scanning (id {published.sarif_id})")
    messages += [f"annexa: {note}" for note in notes]
    return CiOutcome(
        report=report,
        messages=messages,
        exit_code=EXIT_FAIL if report.verdict == "fail" else EXIT_OK,
        history=args.history or env.get("ANNEXA_HISTORY_URL"),
    )


def _collect_pull(client: GitHubClient, ctx: ActionsContext, number: int, inputs: Inputs) -> PullFacts:
    """The pull request; owning teams are resolved only when the PR changes weight files."""
    collector = PullCollector(client, ctx.repository)
    pull = collector.collect(number)
    pr = pull.pull_request
    if pr is None or pull.change is None:
        return pull
    weights = inputs.config.path_class("weights")
    if not weight_paths(pull.change, lambda path: match_any(weights, path)):  # renamed weights count too
        return pull
    rule, cfg = "weights-owner-approved", inputs.config.params.get("weights-owner-approved", {})
    roles = {owner_roles({**inputs.catalog[rule].defaults(), **req.params, **cfg})
             for policy in inputs.policies for req in policy.requirements if req.rule == rule}
    owners = [o for role in sorted(roles) for o in inputs.config.owners_of(role)]
    users = {o.lstrip("@").lower() for o in owners if "/" not in o}
    teams = [o for o in owners if "/" in o]
    if not teams or not any(r.state == "APPROVED" and r.user.lower() not in users for r in pr.reviews):
        return pull
    members, reasons = collector.team_members(teams)
    return replace(pull, pull_request=replace(pr, team_members=members, team_reasons=reasons))


def _why_not_post(ctx: ActionsContext, pull: PullFacts, archived: bool) -> str | None:
    """Why nothing may be posted on this run, or None."""
    if archived:
        return "The repository is archived (read-only), so no comment or check run was posted."
    if ctx.pull_number is None:
        return None
    if pull.state == "missing":
        return f"Pull request #{ctx.pull_number} no longer exists, so nothing was posted to it."
    if pull.state in ("closed", "merged"):
        return f"Pull request #{ctx.pull_number} is {pull.state}, so the report was not posted to it."
    if pull.fork and ctx.event_name in ("pull_request", "pull_request_review"):
        return (
            f"Pull request #{ctx.pull_number} comes from a fork: GitHub gives its workflow a read-only token, so "
            "no comment and no check run were posted. The full report is in this summary and the SARIF file."
        )
    return None


def _publish(
    client: GitHubClient,
    ctx: ActionsContext,
    args: argparse.Namespace,
    report: Report,
    pull: PullFacts,
    notes: list[str],
) -> Published:
    from annexa.render import render

    publisher = GitHubPublisher(client, ctx.repository)
    published = Published()
    number = ctx.pull_number
    if args.comment and number is not None and pull.pull_request is not None:
        body = render(report, "markdown", max_chars=COMMENT_LIMIT, full_report_url=ctx.run_url)
        try:
            published.comment_action, published.comment_url = publisher.upsert_comment(number, body)
        except (GithubException, Unavailable) as exc:
            notes.append(refusal(exc, "PR comment not posted", "pull-requests: write"))
    if args.check_run and ctx.head_sha:
        summary = render(report, "markdown", max_chars=60_000, full_report_url=ctx.run_url)
        try:
            run = publisher.check_run(report, ctx.head_sha, summary, ctx.run_url)
            published.check_run_url = run.check_run_url
            published.annotations = run.annotations
            published.annotations_omitted = run.annotations_omitted
        except (GithubException, Unavailable) as exc:
            notes.append(refusal(exc, "check run not created", "checks: write"))
    return published


def _upload_sarif(
    client: GitHubClient, ctx: ActionsContext, sarif: str, ref: str, published: Published, notes: list[str]
) -> None:
    try:
        published.sarif_id = GitHubPublisher(client, ctx.repository).upload_sarif(sarif, ctx.head_sha or "", ref)
    except (GithubException, Unavailable) as exc:
        notes.append(refusal(exc, "SARIF not uploaded to code scanning", "security-events: write"))
