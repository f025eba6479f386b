"""Publish a report on GitHub: one PR comment updated in place, a check run with line annotations, the job
summary, step outputs and an optional code-scanning SARIF upload.

Every write goes through ``GitHubClient`` (retries, secondary rate limits). A refused write (a fork PR's
read-only token, a missing ``permissions:`` entry) is not an error: it is recorded in ``Published.notes`` so the
job summary can say why nothing was posted.
"""

from __future__ import annotations

import base64
import gzip
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from github import GithubException

from annexa.model import Finding, Status
from annexa.platforms.github.client import GitHubClient, Unavailable, describe_error
from annexa.render.markdown import MARKER
from annexa.report import Report

COMMENT_LIMIT = 65_536
"""GitHub's maximum issue comment body, in characters."""
CHECK_TEXT_LIMIT = 65_535
"""GitHub's maximum check run ``output.summary``."""
SUMMARY_LIMIT = 1_000_000
"""Stay under the 1 MiB a step summary may hold."""
ANNOTATION_BATCH = 50
"""GitHub accepts at most 50 annotations per check run request."""
MAX_ANNOTATIONS = 500
"""Annotations beyond this are left to the report (10 requests at most)."""
CHECK_NAME = "annexa"
ACTIONS_BOT = "github-actions[bot]"
"""The login of the Actions GITHUB_TOKEN: its comments are written by this user (``GET /user`` refuses it)."""


@dataclass
class Published:
    """What was posted where, and why anything was not."""

    comment_url: str | None = None
    comment_action: str = "skipped"
    check_run_url: str | None = None
    annotations: int = 0
    annotations_omitted: int = 0
    sarif_id: str | None = None
    notes: list[str] = field(default_factory=list)


def annotation_level(report: Report, finding: Finding) -> str | None:
    """``failure`` for blocking failures, ``warning`` for other failures, ``notice`` for unknowns."""
    if finding.status is Status.FAIL:
        return "failure" if any(finding is b for b in report.blocking) else "warning"
    if finding.status is Status.UNKNOWN:
        return "notice"
    return None


def check_annotations(report: Report) -> list[dict[str, Any]]:
    """Check run annotations on the exact lines of located failures and unknowns, introduced ones first."""
    blocking = {id(f) for f in report.blocking}
    located = [f for f in report.findings if f.location is not None and annotation_level(report, f)]
    located.sort(key=lambda f: (f.introduced is not True, id(f) not in blocking, f.status is not Status.FAIL))
    out = []
    for f in located:
        assert f.location is not None
        start = f.location.line or 1
        end = max(f.location.end_line or start, start)
        level = annotation_level(report, f)
        item: dict[str, Any] = {
            "path": f.location.path,
            "start_line": start,
            "end_line": end,
            "annotation_level": level,
            "message": f.message[:64_000],
            "title": f"{f.rule} ({f.severity.value}{', introduced' if f.introduced else ''})",
        }
        if f.remediation:
            item["raw_details"] = f.remediation[:64_000]
        out.append(item)
    return out


class GitHubPublisher:
    """Writes one run's results to one repository."""

    def __init__(self, client: GitHubClient, full_name: str) -> None:
        self.client = client
        self.full_name = full_name
        self._identity: str | None = None
        self._identity_read = False

    def identity(self) -> str | None:
        """The login the token writes as: ``GET /user`` for a user token (PAT); an installation token (the
        Actions GITHUB_TOKEN) is refused there with "Resource not accessible by integration" and writes as
        github-actions[bot]. ``None`` when it cannot be told (then no existing comment is trusted)."""
        if self._identity_read:
            return self._identity
        found: str | None = None
        try:
            data = self.client.get_json("/user")
            found = str(data.get("login")) if isinstance(data, dict) and data.get("login") else None
        except GithubException as exc:
            message = exc.data.get("message") if isinstance(exc.data, dict) else None
            if exc.status == 403 and message == "Resource not accessible by integration":
                found = ACTIONS_BOT
        except Unavailable:
            found = None
        self._identity, self._identity_read = found, True
        return found

    def _write(self, verb: str, path: str, body: Mapping[str, Any]) -> Any:
        _, data = self.client.call(
            lambda: self.client.gh.requester.requestJsonAndCheck(verb, path, input=dict(body))
        )
        return data

    def upsert_comment(self, number: int, body: str) -> tuple[str, str | None]:
        """Create the report comment once, then update it in place; returns (created|updated|unchanged, url).

        The comment is found by the hidden marker on its first line *and* its author being the token's own
        identity, so a look-alike comment someone else planted is never edited or trusted. A failed create is
        followed by a fresh look-up before trying again, so a create that GitHub applied but answered with 5xx
        never doubles.
        """
        if len(body) > COMMENT_LIMIT:
            raise ValueError(f"comment body has {len(body)} characters; GitHub allows {COMMENT_LIMIT}")
        last: Unavailable | None = None
        for _ in range(max(1, self.client.policy.attempts)):
            existing = self._find_comment(number)
            try:
                if existing is None:
                    data = self._write_once("POST", f"/repos/{self.full_name}/issues/{number}/comments", body)
                    return "created", data.get("html_url")
                if existing.get("body") == body:
                    return "unchanged", existing.get("html_url")
                data = self._write("PATCH", f"/repos/{self.full_name}/issues/comments/{existing['id']}",
                                   {"body": body})
                return "updated", data.get("html_url")
            except Unavailable as exc:
                last = exc
        assert last is not None
        raise last

    def _write_once(self, verb: str, path: str, body: str) -> Any:
        """A non-idempotent write: no retry on 5xx (the caller re-checks), secondary limits still waited out."""
        try:
            _, data = self.client.gh.requester.requestJsonAndCheck(verb, path, input={"body": body})
        except GithubException as exc:
            if exc.status >= 500:
                raise Unavailable(f"GitHub API unavailable (HTTP {exc.status})") from None
            raise
        return data

    def _find_comment(self, number: int) -> dict[str, Any] | None:
        me = self.identity()
        if me is None:
            return None
        comments = self.client.get_all(f"/repos/{self.full_name}/issues/{number}/comments")
        mine = [
            c for c in comments
            if str(c.get("body") or "").startswith(MARKER)
            and str((c.get("user") or {}).get("login") or "").lower() == me.lower()
        ]
        return mine[0] if mine else None

    def check_run(self, report: Report, head_sha: str, summary: str, details_url: str | None = None) -> Published:
        """Create a completed check run; annotations go 50 per request (the first batch with the create)."""
        result = Published()
        notes = check_annotations(report)
        result.annotations_omitted = max(0, len(notes) - MAX_ANNOTATIONS)
        notes = notes[:MAX_ANNOTATIONS]
        batches = [notes[i : i + ANNOTATION_BATCH] for i in range(0, len(notes), ANNOTATION_BATCH)] or [[]]
        counts = report.summary
        title = f"annexa: {report.verdict} ({counts['fail']} failing, {counts['unknown']} unknown)"
        if result.annotations_omitted:
            summary = summary[: CHECK_TEXT_LIMIT - 200] + (
                f"\n\n{result.annotations_omitted} further annotations are in the full report."
            )
        output = {"title": title, "summary": summary[:CHECK_TEXT_LIMIT], "annotations": batches[0]}
        body: dict[str, Any] = {
            "name": CHECK_NAME,
            "head_sha": head_sha,
            "status": "completed",
            "conclusion": "failure" if report.verdict == "fail" else "success",
            "output": output,
        }
        if details_url:
            body["details_url"] = details_url
        created = self._write("POST", f"/repos/{self.full_name}/check-runs", body)
        run_id = created["id"]
        for batch in batches[1:]:
            self._write(
                "PATCH",
                f"/repos/{self.full_name}/check-runs/{run_id}",
                {"output": {"title": title, "summary": output["summary"], "annotations": batch}},
            )
        result.check_run_url = created.get("html_url")
        result.annotations = len(notes)
        return result

    def upload_sarif(self, sarif: str, commit_sha: str, ref: str) -> str:
        """Upload SARIF to code scanning (gzip + base64); returns the upload id."""
        packed = base64.b64encode(gzip.compress(sarif.encode("utf-8"))).decode("ascii")
        data = self._write(
            "POST",
            f"/repos/{self.full_name}/code-scanning/sarifs",
            {"commit_sha": commit_sha, "ref": ref, "sarif": packed, "tool_name": "annexa"},
        )
        return str(data.get("id"))


def refusal(exc: Exception, what: str, permission: str) -> str:
    """Why a write did not happen, naming the ``permissions:`` entry that would allow it."""
    if isinstance(exc, GithubException):
        reason = describe_error(exc, what)
        if exc.status in (403, 404):
            return f"{reason}; the workflow needs `permissions: {permission}`"
        return reason
    return f"{what}: {exc}"


def write_summary(path: Path, preamble: Sequence[str], markdown: str) -> None:
    """Append to ``$GITHUB_STEP_SUMMARY``: notes first (why nothing was posted), then the report."""
    head = "".join(f"> [!NOTE]\n> {line}\n\n" for line in preamble)
    with path.open("a", encoding="utf-8") as out:
        out.write(head + markdown[: SUMMARY_LIMIT - len(head)])
        if not markdown.endswith("\n"):
            out.write("\n")


def write_outputs(path: Path, outputs: Mapping[str, str]) -> None:
    """Append step outputs to ``$GITHUB_OUTPUT`` (one-line values only)."""
    with path.open("a", encoding="utf-8") as out:
        for name, value in outputs.items():
            out.write(f"{name}={value.replace(chr(10), ' ').replace(chr(13), ' ')}\n")
