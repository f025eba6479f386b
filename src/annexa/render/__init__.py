"""Renderers: a report as text, JSON, a PR comment (markdown), SARIF or GitLab Code Quality.

Each renderer is a pure function of the report returning a string; none prints or writes a file.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

from annexa.redact import redact_report
from annexa.report import Report

FORMATS = ("text", "json", "markdown", "sarif", "codequality", "junit")
"""Each is the module ``annexa.render.<format>``, imported when used (``text`` loads rich)."""


def render(report: Report, fmt: str, **options: Any) -> str:
    """Render ``report`` in ``fmt`` (one of ``FORMATS``); ``options`` go to that renderer.

    ``text`` takes ``width``; ``markdown`` takes ``max_chars`` and ``full_report_url``; the others take none.
    An unknown format or option raises ``ValueError``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    renderer: Callable[..., str] = importlib.import_module(f"annexa.render.{fmt}").render
    accepted = set(inspect.signature(renderer).parameters) - {"report"}
    unexpected = sorted(set(options) - accepted)
    if unexpected:
        allowed = ", ".join(sorted(accepted)) or "none"
        raise ValueError(f"format {fmt!r} does not take {', '.join(unexpected)} (options: {allowed})")
    return renderer(redact_report(report), **options)
