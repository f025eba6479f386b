"""``annexa ci`` inside GitHub Actions: collect facts through the API, evaluate, publish to the pull request.

``run_ci`` reads the Actions environment and event file, collects repository settings and the pull request,
runs the check, writes the report files, the job summary and step outputs, and posts one PR comment (updated
in place) and a check run. Nothing here prints or exits: ``cli.py`` prints ``CiOutcome.messages`` and exits with
``CiOutcome.exit_code``. The token is read from the environment only (never a command-line argument) and never
appears in a message.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from github import GithubException

from annexa.collect.base_revision import MAX_BYTES, BaseFiles, BaseRevision, check_path
from annexa.collect.checkout import Checkout
from annexa.collect.github import GitHubClient, PullCollector, PullFacts, RetryPolicy, SettingsCollector, Unavailable
from annexa.engine import Inputs, load_inputs, rule_params, run_check
from annexa.errors import AnnexaError, CollectError, UnreadableFile
from annexa.facts import ChangeSet, Facts, RepoSettings
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

PULL_REQUEST_TARGET_REFUSAL = (
    "annexa ci does not run on pull_request_target: that event checks out the base branch, so the pull request's "
    "code is not what would be checked, and checking out and running the pull request's code there (with a "
    "write token and the repository's secrets) is how such workflows get taken over. Run annexa on the "
    "pull_request event (fork pull requests get the job summary, SARIF and exit code)."
)


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
    parser.add_argument("--config", type=Path, help="config file (default: .annexa.yml of the pull request's base "
                        "revision, so a pull request cannot loosen its own check); an explicit file is used as given")
    parser.add_argument("--policies", type=Path, action="append",
                        help="policy folder or file (repeatable; default: the config's, read from the base "
                             "revision); explicit ones are used as given")
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
    rules = dict.fromkeys(req.rule for policy in inputs.policies for req in policy.requirements)
    for rule in rules:
        for params in rule_params(inputs, rule):
            for pattern in params.get("branches") or []:
                if pattern not in patterns:
                    patterns.append(str(pattern))
    return patterns


def run_ci(args: argparse.Namespace, env: Mapping[str, str], today: dt.date | None = None) -> CiOutcome:
    """Run ``annexa ci``; see the module docstring."""
    ctx = ActionsContext.from_env(env)
    if ctx.event_name == "pull_request_target":
        raise AnnexaError(PULL_REQUEST_TARGET_REFUSAL)
    root: Path = args.path or Path(env.get("GITHUB_WORKSPACE") or ".")
    if not root.is_dir():
        raise AnnexaError(f"{root}: not a directory")
    fail_on = Severity(args.fail_on) if args.fail_on else None
    messages: list[str] = []
    notes: list[str] = []
    number = ctx.pull_number
    client = GitHubClient(ctx.token, ctx.api_url, RetryPolicy()) if ctx.token else None
    checkout = Checkout(root)

    pull = PullFacts(None, None, "no pull request: this run is for a " + (ctx.event_name or "non-PR") + " event")
    if number is not None:
        pull = _read_pull(client, ctx, number)
    change, base = pull.change, None
    if number is not None:
        change, base = _change_and_base(checkout, ctx, client, pull, notes)
    inputs = load_inputs(root, args.config, args.policies, fail_on, base)
    if number is not None and base is None:
        inputs = replace(inputs, rules_from=_unjudged(args, change))
    settings: RepoSettings | None = None
    settings_reason = "no GitHub token: pass inputs.token (or set ANNEXA_GITHUB_TOKEN) to read repository settings"
    archived = False
    if client is None:
        notes.append("No GitHub token was given, so settings were not read and nothing was posted.")
    else:
        if number is not None:
            pull = _with_team_members(client, ctx, pull, inputs)
        collector = SettingsCollector(client, ctx.repository)
        base_branches = [pull.pull_request.base_ref] if pull.pull_request else []
        settings = collector.collect(branch_patterns(inputs), base_branches, ref=ctx.sha or ctx.head_sha)
        archived = collector.archived

    facts = Facts(
        platform="github",
        checkout=checkout,
        base=base,
        change=change,
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


def _read_pull(client: GitHubClient | None, ctx: ActionsContext, number: int) -> PullFacts:
    if client is None:
        return PullFacts(None, None, "no GitHub token to read the pull request", state="unreadable")
    return PullCollector(client, ctx.repository).collect(number)


def _change_and_base(
    checkout: Checkout, ctx: ActionsContext, client: GitHubClient | None, pull: PullFacts, notes: list[str]
) -> tuple[ChangeSet | None, BaseFiles | None]:
    """The change set and the base revision the change is judged by.

    On the merge commit (GitHub's checkout for ``pull_request``) the change is ``HEAD^1..HEAD`` read locally, so
    introduced lines are lines of the files on disk, and the base is ``HEAD^1``. On the PR head itself the API's
    files and patch lines fit the files on disk; the base is the PR's base commit, read locally when the clone
    has it, else through the contents API.
    """
    pr = pull.pull_request
    head_sha = pr.head_sha if pr else ctx.head_sha
    head = checkout.head_commit() if checkout.is_git else None
    parents = BaseRevision.parents(checkout.root) if head else []
    if head and len(parents) == 2 and (not head_sha or parents[1] == head_sha):
        change = checkout.diff(parents[0], "HEAD")
        if pull.change is not None:
            change = replace(change, truncated=pull.change.truncated)
        return change, BaseRevision(checkout.root, parents[0], f"{parents[0][:12]} (the merge commit's first parent)")
    base_sha = pull.change.base if pull.change is not None else None
    if head and head_sha and head != head_sha:
        notes.append(f"The checkout ({head[:12]}) is neither the pull request head nor a merge commit with it as "
                     "second parent (a shallow clone? use actions/checkout with fetch-depth: 2): introduced lines "
                     "come from the pull request's patch and can be off where the base changed the same files.")
    if not base_sha:
        return pull.change, None
    if head:
        try:
            return pull.change, BaseRevision.open(checkout.root, base_sha)
        except CollectError:
            pass
    if client is not None:
        return pull.change, ApiBaseFiles(client, ctx.repository, base_sha)
    return pull.change, None


def _unjudged(args: argparse.Namespace, change: ChangeSet | None) -> str:
    """What to say when the base revision cannot be read at all (no git history and no API)."""
    if args.config is not None or args.policies:
        return "config and policies from the command line; the base revision could not be read"
    return ("the checkout's own config, policies and secrets baseline: the base revision could not be read (no git "
            "history and no API access), so the change's edits to them, if any, are applied")


def _with_team_members(client: GitHubClient, ctx: ActionsContext, pull: PullFacts, inputs: Inputs) -> PullFacts:
    """Owning teams are resolved only when the PR changes weight files."""
    collector = PullCollector(client, ctx.repository)
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


class ApiBaseFiles(BaseFiles):
    """The base revision read through GitHub's contents API, for a checkout without the base commit (a shallow
    clone): ``GET /repos/{o}/{r}/contents/{path}?ref=SHA``, bounded like the local reader."""

    def __init__(self, client: GitHubClient, repository: str, commit: str) -> None:
        self.client = client
        self.repository = repository
        self.commit = commit
        self.label = f"{commit[:12]} (read through the GitHub API)"

    def _get(self, path: str) -> Any:
        check_path(path)
        try:
            return self.client.get_json(f"/repos/{self.repository}/contents/{path}", {"ref": self.commit})
        except GithubException as exc:
            if exc.status == 404:
                return None
            raise CollectError(f"{path} of the base revision {self.commit[:12]}: GitHub answered {exc.status}") \
                from None
        except Unavailable as exc:
            raise CollectError(f"{path} of the base revision {self.commit[:12]}: {exc.reason}") from None

    def read_bytes(self, path: str, limit: int = MAX_BYTES) -> bytes | None:
        data = self._get(path)
        if data is None or isinstance(data, list):
            return None
        if data.get("type") != "file":
            raise UnreadableFile(path, f"{data.get('type')} in the base revision; not read")
        if int(data.get("size") or 0) > limit:
            raise UnreadableFile(path, f"{data.get('size'):,} bytes in the base revision, over the {limit:,}-byte "
                                       "limit")
        if data.get("encoding") != "base64":
            raise UnreadableFile(path, "the contents API gave no content (too large)")
        return base64.b64decode(str(data.get("content") or ""))

    def exists(self, path: str) -> bool:
        data = self._get(path)
        return isinstance(data, dict) and data.get("type") == "file"

    def files_under(self, folder: str) -> list[str]:
        data = self._get(folder.rstrip("/"))
        if not isinstance(data, list):
            return []
        return sorted(str(e["path"]) for e in data if isinstance(e, dict) and e.get("type") == "file")
