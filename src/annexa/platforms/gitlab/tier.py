"""The GitLab tier of the server, detected once per run from the first Premium endpoint that answers."""

from __future__ import annotations

from dataclasses import dataclass

from annexa.platforms.gitlab.client import PREMIUM, status_of


@dataclass
class Tier:
    """What the server offers beyond Free, detected once per run from the first Premium endpoint."""

    premium: bool | None = None
    reason: str = ""

    def note(self, exc: Exception) -> None:
        """Record the answer of a Premium endpoint that refused (403 Free, 404 CE)."""
        status = status_of(exc)
        if status == 403:
            self.premium, self.reason = False, f"{PREMIUM} (the project's tier answers 403 for this API)"
        elif status == 404:
            self.premium, self.reason = False, f"{PREMIUM} (GitLab CE does not have this API: 404)"
