"""What both platforms do with a merge-commit checkout (GitHub's ``pull_request`` checkout, GitLab's merged results
pipelines): the change is ``HEAD^1..HEAD`` read locally, so introduced lines are lines of the files on disk, and the
base revision is ``HEAD^1``."""

from __future__ import annotations

from dataclasses import replace

from annexa.collect.base_revision import BaseRevision
from annexa.collect.checkout import Checkout
from annexa.facts import ChangeSet


def merge_commit_change(checkout: Checkout, head_sha: str | None,
                        api_change: ChangeSet | None) -> tuple[ChangeSet, BaseRevision] | None:
    """The change and base of a checkout that is a merge commit with the change's head (``head_sha``) as second
    parent; ``None`` when the checkout is something else (the head itself, a shallow tip without parents)."""
    head = checkout.head_commit() if checkout.is_git else None
    parents = BaseRevision.parents(checkout.root) if head else []
    if not head or len(parents) != 2 or (head_sha and parents[1] != head_sha):
        return None
    change = checkout.diff(parents[0], "HEAD")
    if api_change is not None:
        change = replace(change, truncated=api_change.truncated)
    return change, BaseRevision(checkout.root, parents[0], f"{parents[0][:12]} (the merge commit's first parent)")
