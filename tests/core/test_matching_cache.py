"""Path classes are matched once per tree and pattern tuple, and a config's ``paths:`` override still counts."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from annexa.catalog import load_catalog
from annexa.collect.checkout import Checkout
from annexa.config import DEFAULT_PATHS, Config
from annexa.facts import Facts
from annexa.paths import match_any
from annexa.rules.base import RuleContext
from tests.support import make_checkout


def test_matching_is_memoised_per_patterns_and_follows_a_config_override(tmp_path: Path) -> None:
    make_checkout(tmp_path, {"a.pt": b"x", "m/b.safetensors": b"x", "data/c.csv": "x\n", "w/d.weights": b"x"})
    checkout = Checkout(tmp_path)
    spec = load_catalog()["weights-in-lfs"]
    default = RuleContext(spec, Facts(platform="local", checkout=checkout), Config(), {}, dt.date(2026, 1, 1))
    custom = RuleContext(spec, Facts(platform="local", checkout=checkout),
                         Config(paths={**DEFAULT_PATHS, "weights": ("w/**",)}), {}, dt.date(2026, 1, 1))
    assert default.files_in("weights") == ["a.pt", "m/b.safetensors", "w/d.weights"]
    assert custom.files_in("weights") == ["w/d.weights"]
    assert default.files_in("weights") == ["a.pt", "m/b.safetensors", "w/d.weights"]
    default.files_in("weights").clear()  # callers get a copy; the memo is not theirs to change
    assert default.files_in("weights") == ["a.pt", "m/b.safetensors", "w/d.weights"]
    assert len(checkout._matches) == 2
    assert custom.in_class("w/d.weights", "weights") and not custom.in_class("a.pt", "weights")
    assert match_any(["./data/**"], "data/c.csv") and not match_any([], "data/c.csv")
