"""A python-gitlab client with annexa's retry, pagination, tier and error policy.

python-gitlab's own retries are switched off (it would sleep for any ``Retry-After``, however long): 429 is
retried with its ``Retry-After`` bounded by ``RetryPolicy.max_wait``, 5xx and connection errors with exponential
backoff, then ``PlatformError`` (the loop is ``annexa.platforms.retry``, shared with GitHub). A 4xx is never
retried. The token never appears in a message.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import gitlab
import requests
from gitlab.exceptions import GitlabError, GitlabHttpError

from annexa.platforms.base import PlatformError
from annexa.platforms.retry import Retryable, call_with_retries, transient
from annexa.platforms.retry import RetryPolicy as BaseRetryPolicy

T = TypeVar("T")

PREMIUM = "GitLab Premium"
ULTIMATE = "GitLab Ultimate"
_NO_RETRY: dict[str, Any] = {"obey_rate_limit": False, "retry_transient_errors": False, "max_retries": 0}


@dataclass(frozen=True)
class RetryPolicy(BaseRetryPolicy):
    """How hard to try on GitLab: the shared defaults (a Retry-After of up to a minute is honoured)."""


def quote(path: str) -> str:
    """A project or group path (``group/sub/project``) as one URL-encoded path segment."""
    return urllib.parse.quote(path, safe="")


def status_of(exc: Exception) -> int:
    """The HTTP status of a python-gitlab error (0 when there was none)."""
    code = getattr(exc, "response_code", None)
    return int(code) if isinstance(code, int) else 0


def describe(exc: Exception, what: str) -> str:
    """A one-line reason for an API refusal (never containing the token)."""
    status = status_of(exc)
    message = str(getattr(exc, "error_message", "") or "").strip()
    if status == 401:
        return f"{what}: GitLab rejected the token (401 Unauthorized)"
    if status and message.startswith(f"{status} "):
        message = message[len(str(status)) + 1:]  # GitLab's messages repeat the status: "404 Project Not Found"
    return f"{what}: HTTP {status} {message}".rstrip()


class GitLabClient:
    """One python-gitlab ``Gitlab`` for one server, with bounded retries."""

    def __init__(
        self,
        url: str,
        token: str,
        token_kind: str = "private",
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.policy = retry or RetryPolicy()
        auth = {"job_token": token} if token_kind == "job" else {"private_token": token}
        self.gl = gitlab.Gitlab(url.rstrip("/"), timeout=self.policy.timeout, keep_base_url=True,
                                retry_transient_errors=False, per_page=100, **auth)
        self.token_kind = token_kind
        self._sleep = sleep
        self._last_headers: Mapping[str, str] = {}
        self.gl.session.hooks["response"].append(self._remember)
        self.requests = 0
        """How many HTTP requests this client sent (for benchmarks)."""

    def _remember(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        self.requests += 1
        self._last_headers = dict(response.headers)

    def call(self, fn: Callable[[], T], what: str = "GitLab API") -> T:
        """Run one API call with retries; ``PlatformError`` once it cannot succeed; 4xx errors propagate."""

        def retryable(exc: Exception) -> Retryable | None:
            if isinstance(exc, GitlabHttpError):
                status = status_of(exc)
                if status == 429:
                    wait = self._retry_after()
                    return Retryable(lambda n: f"{what}: GitLab rate limit (HTTP 429 after {n} attempts)", wait=wait,
                                     too_long=f"{what}: GitLab rate limit (asked to wait {wait:.0f}s)")
                return transient(f"{what}: GitLab", exc, status)
            return transient(f"{what}: GitLab", exc)

        return call_with_retries(fn, retryable, self.policy, PlatformError, self._sleep)

    def _retry_after(self) -> float:
        headers = {k.lower(): v for k, v in self._last_headers.items()}
        value = headers.get("retry-after", "")
        if value.strip().isdigit():
            return float(value)
        reset = headers.get("ratelimit-reset", "")
        if reset.strip().isdigit():
            return max(0.0, float(reset) - time.time())
        return self.policy.backoff

    def get(self, path: str, params: Mapping[str, Any] | None = None, what: str | None = None) -> Any:
        """GET one resource as parsed JSON (``None`` for a literal ``null`` body)."""
        return self.call(lambda: self.gl.http_get(path, query_data=dict(params or {}), **_NO_RETRY), what or path)

    def get_all(self, path: str, params: Mapping[str, Any] | None = None, limit: int | None = None,
                what: str | None = None) -> list[Any]:
        """Every page of a list (python-gitlab follows the ``Link: rel="next"`` header), up to ``limit`` items."""

        def fetch() -> list[Any]:
            items: list[Any] = []
            listed = self.gl.http_list(path, query_data={"per_page": 100, **(params or {})}, iterator=True,
                                       **_NO_RETRY)
            for item in listed:
                items.append(item)
                if limit is not None and len(items) >= limit:
                    break
            return items

        return self.call(fetch, what or path)

    def post(self, path: str, body: Mapping[str, Any], what: str) -> Any:
        """POST once: not retried on 5xx (the caller looks again before trying anew)."""
        try:
            return self.gl.http_post(path, post_data=dict(body), **_NO_RETRY)
        except GitlabHttpError as exc:
            if status_of(exc) >= 500 or status_of(exc) == 429:
                raise PlatformError(f"{what}: GitLab API unavailable (HTTP {status_of(exc)})") from None
            raise

    def put(self, path: str, body: Mapping[str, Any], what: str) -> Any:
        """PUT (idempotent): retried like a GET."""
        return self.call(lambda: self.gl.http_put(path, post_data=dict(body), **_NO_RETRY), what)


__all__ = ["PREMIUM", "ULTIMATE", "GitLabClient", "GitlabError", "RetryPolicy", "describe", "quote", "status_of"]
