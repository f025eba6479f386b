"""Shared set-up for the GitHub integration tests: a seeded fake GitHub and clients pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from annexa.collect.github import GitHubClient, RetryPolicy
from tests.fakes.github import FakeGitHub

REPO = "acme/models"
HEAD = "c0ffee" + "0" * 34
MAIN_SHA = "ba5e" + "1" * 36
TOKENS = {"tok-admin": "admin", "tok-gh": "github_token", "tok-read": "read", "tok-fork": "fork_readonly"}
"""Test tokens by kind; the values are fake and only known to the fake server."""

PR_RULES = {
    "required_approving_review_count": 2,
    "dismiss_stale_reviews_on_push": True,
    "require_code_owner_review": True,
    "require_last_push_approval": False,
    "required_review_thread_resolution": False,
}


class Sleeps:
    """A stand-in for ``time.sleep`` that records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    """A fake GitHub holding acme/models (private, branch main) and every test token."""
    with FakeGitHub() as server:
        for token, kind in TOKENS.items():
            server.add_token(token, kind=kind)
        server.add_repo(REPO, default_branch="main", visibility="private",
                        security_and_analysis={"secret_scanning": "enabled",
                                               "secret_scanning_push_protection": "disabled"})
        server.add_branch(REPO, "main", sha=MAIN_SHA)
        yield server


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def client_for(fake: FakeGitHub, token: str, sleeps: Any = None, attempts: int = 3) -> GitHubClient:
    """A client for the fake that never really sleeps."""
    return GitHubClient(token, fake.base_url, RetryPolicy(attempts=attempts, backoff=0.5, max_wait=30, timeout=2),
                        sleep=sleeps or (lambda _s: None))
