"""Publish on GitLab: one merge request note created once and updated in place, the Code Quality and JUnit
artifacts the pipeline picks up (``artifacts: reports:``), and the job log (the caller prints the text report).

The note is found by the hidden marker on its first line AND by its author being the token's own user
(``GET /user``), so a note that quotes the marker, or an older note of another bot, is never overwritten.
A refused write (CI_JOB_TOKEN, a read-only token on a fork MR) is a line in ``Published.notes``, not an error.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gitlab.exceptions import GitlabError

from annexa.platforms.base import PlatformError, Published
from annexa.platforms.gitlab.client import GitLabClient, describe, quote, status_of
from annexa.render.markdown import MARKER
from annexa.report import Report

NOTE_LIMIT = 1_000_000
"""GitLab's maximum note body, in characters."""
ARTIFACTS = {"codequality": "gl-code-quality-report.json", "junit": "annexa-junit.xml"}
"""Artifact file per format, as ``templates/annexa.yml`` declares them under ``artifacts: reports:``."""


class GitLabPublisher:
    """Writes one run's results to one merge request and the job's artifact folder."""

    def __init__(self, client: GitLabClient | None, project: str, mr_iid: int | None, fork: bool = False) -> None:
        self.client = client
        self.project = project
        self.mr_iid = mr_iid
        self.fork = fork
        """The MR comes from a fork: a refusal is most likely the fork pipeline's token, and is said so."""

    def publish(self, report: Report, rendered: Mapping[str, str], out_dir: Path, comment: bool, post: bool = True,
                options: argparse.Namespace | None = None) -> Published:
        """Write the artifacts, then post or update the note when there is a merge request and a token."""
        published = Published()
        for fmt, name in ARTIFACTS.items():
            if fmt in rendered:
                path = out_dir / name
                path.write_text(rendered[fmt], encoding="utf-8")
                published.artifacts[fmt] = path
        if not comment or self.client is None or self.mr_iid is None or "markdown" not in rendered:
            return published
        try:
            published.comment_action, published.comment_url = self.upsert_note(rendered["markdown"])
        except GitlabError as exc:
            published.notes.append(self._refusal(exc))
        except PlatformError as exc:
            published.notes.append(f"merge request note not posted: {exc.reason}")
        return published

    def _refusal(self, exc: Exception) -> str:
        reason = describe(exc, "merge request note not posted")
        if self.fork and status_of(exc) in (401, 403, 404):
            return (f"Merge request !{self.mr_iid} comes from a fork and this pipeline's token cannot write to it "
                    f"({reason}), so no note was posted; the report is in the job log and the Code Quality and "
                    "JUnit artifacts. To post, run fork MR pipelines in the parent project, with a project access "
                    "token that has the api scope.")
        if status_of(exc) in (401, 403, 404):
            return (f"{reason}; posting needs a project access token with the api scope and at least the Reporter "
                    "role (CI_JOB_TOKEN cannot write notes)")
        return reason

    def _me(self) -> int | None:
        assert self.client is not None
        try:
            user = self.client.get("/user", what="the token's user")
        except (GitlabError, PlatformError):
            return None
        ident = user.get("id") if isinstance(user, dict) else None
        return int(ident) if isinstance(ident, int) else None

    def find_note(self, me: int | None) -> dict[str, Any] | None:
        """The report note: its first line is the marker and the token's user wrote it."""
        assert self.client is not None
        notes = self.client.get_all(self._notes_path(), {"sort": "asc", "order_by": "created_at"},
                                    what="merge request notes")
        for note in notes:
            body = str(note.get("body") or "")
            if note.get("system") or not body.startswith(MARKER):
                continue
            if me is not None and (note.get("author") or {}).get("id") != me:
                continue
            return dict(note)
        return None

    def _notes_path(self) -> str:
        return f"/projects/{quote(self.project)}/merge_requests/{self.mr_iid}/notes"

    def _url(self, note: Mapping[str, Any]) -> str | None:
        assert self.client is not None
        web = self.client.gl.url
        return f"{web}/{self.project}/-/merge_requests/{self.mr_iid}#note_{note.get('id')}"

    def upsert_note(self, body: str) -> tuple[str, str | None]:
        """Create the note once, then edit it in place; returns (created|updated|unchanged, url).

        A create that failed with 5xx is followed by a fresh look-up before trying again, so a create that GitLab
        applied but answered badly never doubles the note.
        """
        assert self.client is not None
        body = body[:NOTE_LIMIT]
        me = self._me()
        last: PlatformError | None = None
        for _ in range(max(1, self.client.policy.attempts)):
            existing = self.find_note(me)
            try:
                if existing is None:
                    created = self.client.post(self._notes_path(), {"body": body}, "merge request note")
                    return "created", self._url(created if isinstance(created, dict) else {})
                if existing.get("body") == body:
                    return "unchanged", self._url(existing)
                self.client.put(f"{self._notes_path()}/{existing['id']}", {"body": body}, "merge request note")
                return "updated", self._url(existing)
            except PlatformError as exc:
                last = exc
        assert last is not None
        raise last
