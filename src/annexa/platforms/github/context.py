"""The GitHub Actions job: its context (environment and event file) and the base revision a pull request is
judged by (the merge commit's first parent, the local base commit, or the contents API for a shallow clone)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from github import GithubException

from annexa.collect.base_revision import MAX_BYTES, BaseFiles, BaseRevision, check_path
from annexa.collect.checkout import Checkout
from annexa.errors import AnnexaError, CollectError, UnreadableFile
from annexa.facts import ChangeSet
from annexa.platforms.base import ChangeRead
from annexa.platforms.github.client import GitHubClient, Unavailable

TOKEN_VARIABLES = ("ANNEXA_GITHUB_TOKEN", "GITHUB_TOKEN")
"""Where the token is looked for, in order."""
PR_EVENTS = ("pull_request", "pull_request_target", "pull_request_review")

PULL_REQUEST_TARGET_REFUSAL = (
    "annexa ci does not run on pull_request_target: that event checks out the base branch, so the pull request's "
    "code is not what would be checked, and checking out and running the pull request's code there (with a "
    "write token and the repository's secrets) is how such workflows get taken over. Run annexa on the "
    "pull_request event (fork pull requests get the job summary, SARIF and exit code)."
)


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
            raise AnnexaError("annexa ci runs inside GitHub Actions or GitLab CI: GITHUB_REPOSITORY (owner/name) "
                              "is not set, nor GITLAB_CI")
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


def change_and_base(
    checkout: Checkout, ctx: ActionsContext, client: GitHubClient | None, pull: ChangeRead, notes: list[str]
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
