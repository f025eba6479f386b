"""The report in the ``annexa.report/v1`` JSON format of DESIGN.md.

Evidence is emitted as the rules wrote it, except that values under secret-looking keys (``token``,
``password``, ``api_key`` ...) are replaced by ``"[redacted]"``: rules must never put a secret in evidence,
and this renderer does not rely on it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from annexa.report import Report

REDACTED = "[redacted]"

_SECRET_KEY = re.compile(
    r"(^|[_\-.])(password|passwd|passphrase|secret|secret[_\-]?value|token|api[_\-]?key|apikey|private[_\-]?key"
    r"|access[_\-]?key|client[_\-]?secret|credentials?|authorization|cookie)$",
    re.IGNORECASE,
)


def is_secret_key(key: str) -> bool:
    """True when an evidence key looks like it names a secret (``api_token``, ``password``, ``private-key``)."""
    return bool(_SECRET_KEY.search(key))


def redact(value: Any) -> Any:
    """A copy of ``value`` with every value under a secret-looking key replaced, at any depth."""
    if isinstance(value, dict):
        return {k: REDACTED if is_secret_key(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def render(report: Report) -> str:
    """``report.to_json()`` with redacted evidence, indented by two spaces, ending in a newline."""
    data = report.to_json()
    for finding in data["findings"]:
        finding["evidence"] = redact(finding["evidence"])
    return json.dumps(data, indent=2, sort_keys=False) + "\n"
