"""Scans that wait on another process start before the other rules, and the rules reading them run last."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from annexa import engine
from annexa.collect.checkout import Checkout
from annexa.facts import Facts
from annexa.model import Result, Status
from annexa.report import RunInfo
from annexa.rules.base import RuleContext
from tests.support import TODAY, make_checkout

POLICY = """\
id: POL-A
title: Policy A
version: "1"
owner: CISO
approved_by: CEO
approved_on: 2026-06-01
review_interval_months: 12
statement: Code loads weights safely and weights are stored where access is controlled.
controls: [A.8.28]
requirements:
  - rule: torch-load-unsafe
    severity: high
  - rule: weights-in-lfs
    severity: high
"""

RUN = RunInfo("run-1", "2026-11-27T00:00:00+00:00", "local", "acme/x", "main", None, None)


def _patched(monkeypatch: pytest.MonkeyPatch, prefetch: bool) -> list[str]:
    """``torch-load-unsafe`` reads a slow job that waits (up to 5 s) for ``weights-in-lfs`` to have run."""
    ran = threading.Event()
    order: list[str] = []

    def slow() -> str:
        return "overlapped" if ran.wait(5) else "sequential"

    def job(ctx: RuleContext) -> tuple[str, Callable[[], Any]]:
        return "slow", slow

    def reader(ctx: RuleContext) -> Iterable[Result]:
        order.append("torch-load-unsafe")
        yield Result(Status.PASS, ctx.memo(*job(ctx)))

    def other(ctx: RuleContext) -> Iterable[Result]:
        order.append("weights-in-lfs")
        ran.set()
        yield Result(Status.PASS, "other")

    rules = {"torch-load-unsafe": reader, "weights-in-lfs": other}
    monkeypatch.setattr(engine, "registry", lambda: rules)
    monkeypatch.setattr(engine, "prefetchers", lambda: {"torch-load-unsafe": job} if prefetch else {})
    return order


@pytest.mark.parametrize(("prefetch", "expected"), [(True, "overlapped"), (False, "sequential")])
def test_a_prefetched_scan_runs_beside_the_other_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     prefetch: bool, expected: str) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "a.yml").write_text(POLICY)
    make_checkout(tmp_path / "repo", {"a.py": "x = 1\n"})
    inputs = engine.load_inputs(tmp_path / "repo", policy_dirs=[tmp_path / "policies"])
    order = _patched(monkeypatch, prefetch)
    if not prefetch:
        monkeypatch.setattr(threading.Event, "wait", lambda self, timeout=None: self.is_set())
    report = engine.run_check(inputs, Facts("local", Checkout(tmp_path / "repo")), RUN, TODAY)
    by_rule = {f.rule: f.message for f in report.findings}
    assert by_rule == {"torch-load-unsafe": expected, "weights-in-lfs": "other"}
    assert order == (["weights-in-lfs", "torch-load-unsafe"] if prefetch else ["torch-load-unsafe", "weights-in-lfs"])


def test_a_prefetch_that_raises_leaves_the_rule_to_report_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "a.yml").write_text(POLICY)
    make_checkout(tmp_path / "repo", {"a.py": "x = 1\n"})
    inputs = engine.load_inputs(tmp_path / "repo", policy_dirs=[tmp_path / "policies"])

    def broken(ctx: RuleContext) -> None:
        raise OSError("no")

    def reader(ctx: RuleContext) -> Iterable[Result]:
        yield Result(Status.PASS, "read")

    monkeypatch.setattr(engine, "registry", lambda: {"torch-load-unsafe": reader, "weights-in-lfs": reader})
    monkeypatch.setattr(engine, "prefetchers", lambda: {"torch-load-unsafe": broken})
    report = engine.run_check(inputs, Facts("local", Checkout(tmp_path / "repo")), RUN, TODAY)
    assert sorted((f.rule, f.status) for f in report.findings) == [("torch-load-unsafe", Status.PASS),
                                                                  ("weights-in-lfs", Status.PASS)]
