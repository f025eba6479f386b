"""The one retry loop of every platform client: bounded attempts, exponential backoff, server-asked waits.

A client says, per failed attempt, whether it may be retried (``classify`` returns a ``Retryable``) or not
(``None``: the error propagates, as a 4xx that will not change). Transient failures (5xx, timeouts, refused
connections) back off exponentially; a wait the server asks for (GitLab's 429 ``Retry-After``, GitHub's secondary
rate limit) is honoured up to ``max_wait``. Once attempts run out, ``fail(reason)`` is raised; the reason names
what happened, never the token.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

import requests

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts for 429/5xx/timeouts, backoff base (seconds), the longest server-asked wait honoured, request
    timeout (seconds). Each client subclasses it with its own defaults."""

    attempts: int = 4
    backoff: float = 1.0
    max_wait: float = 60.0
    timeout: float = 20.0


class Policy(Protocol):
    """What a client's retry policy gives the loop."""

    @property
    def attempts(self) -> int: ...

    @property
    def backoff(self) -> float: ...

    @property
    def max_wait(self) -> float: ...


@dataclass(frozen=True)
class Retryable:
    """How to retry one failure, and what to say when retrying stops."""

    gave_up: Callable[[int], str]
    """The reason after this many attempts."""
    wait: float | None = None
    """Seconds the server asked for; ``None`` for exponential backoff."""
    too_long: str = ""
    """The reason when ``wait`` exceeds the policy's ``max_wait``."""
    own_budget: bool = False
    """Server-asked waits counted apart from failures (GitHub's secondary limits), not as failed attempts."""


def transient(label: str, exc: Exception, status: int = 0) -> Retryable | None:
    """A 5xx answer (``status``) or a timeout / refused connection, retried with backoff; else ``None``.

    ``label`` names the API in the reason (``GitHub``, ``protected branches: GitLab``)."""
    if status >= 500:
        return Retryable(lambda n: f"{label} API unavailable (HTTP {status} after {n} attempts)")
    if isinstance(exc, (requests.Timeout, requests.ConnectionError)):
        kind = type(exc).__name__
        return Retryable(lambda n: f"{label} API unreachable ({kind} after {n} attempts)")
    return None


def call_with_retries(fn: Callable[[], T], classify: Callable[[Exception], Retryable | None], policy: Policy,
                      fail: Callable[[str], Exception], sleep: Callable[[float], None] = time.sleep) -> T:
    """Run ``fn`` until it succeeds, a failure is not retryable (re-raised), or retrying stops (``fail``)."""
    failures = waits = 0
    while True:
        try:
            return fn()
        except Exception as exc:
            retry = classify(exc)
            if retry is None:
                raise
            if retry.own_budget:
                waits += 1
                spent, count = waits > policy.attempts, waits
            else:
                failures += 1
                spent, count = failures >= policy.attempts, failures
            if spent:
                raise fail(retry.gave_up(count)) from None
            if retry.wait is not None and retry.wait > policy.max_wait:
                raise fail(retry.too_long) from None
            sleep(retry.wait if retry.wait is not None else policy.backoff * 2 ** (failures - 1))
