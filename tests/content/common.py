"""Helpers for content rule tests: generated fake credentials and several rules run with one shared cache."""

from __future__ import annotations

import random
import string
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

from annexa.catalog import load_catalog
from annexa.collect.checkout import Checkout
from annexa.config import Config
from annexa.facts import ChangeSet, Facts, FileChange
from annexa.model import Result
from annexa.rules import registry
from annexa.rules.base import RuleContext
from annexa.scan.secrets import base62
from tests.support import TODAY

CATALOG = load_catalog()

SEMGREP_RULES = ("torch-load-unsafe", "unsafe-deserialization", "yaml-unsafe-load", "tls-verification-disabled",
                 "llm-output-executed", "langchain-dangerous-option", "remote-code-disabled",
                 "model-revision-pinned")


def _rand(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def github_token(body: str, prefix: str = "ghp_") -> str:
    """A classic GitHub token around 30 random characters, with its CRC32 checksum in base62."""
    return prefix + body + base62(zlib.crc32(body.encode()), 6)


def fake_keys(seed: int = 7) -> dict[str, str]:
    """One fake credential per supported type, in the vendor's format (random, never a real key)."""
    rng = random.Random(seed)
    alnum = string.ascii_letters + string.digits
    return {
        "huggingface": "hf_" + _rand(rng, string.ascii_letters, 34),
        "openai_project": "sk-proj-" + _rand(rng, alnum + "_-", 60) + _rand(rng, alnum, 4),
        "openai_legacy": "sk-" + _rand(rng, alnum, 48),
        "anthropic": "sk-ant-api03-" + _rand(rng, alnum + "_-", 93) + "AA",
        "github_classic": github_token(_rand(rng, alnum, 30)),
        "github_fine_grained": "github_pat_" + _rand(rng, alnum, 22) + "_" + _rand(rng, alnum, 59),
        "gitlab": "glpat-" + _rand(rng, alnum, 20),
        "replicate": "r8_" + _rand(rng, alnum, 37),
        "wandb": _rand(rng, "0123456789abcdef", 40),
        "aws": "AKIA" + _rand(rng, string.ascii_uppercase + "234567", 16),
        "gcp_key_id": _rand(rng, "0123456789abcdef", 40),
        "google_api": "AIza" + _rand(rng, alnum + "_-", 35),
    }


def run_rules(
    rule_ids: Iterable[str],
    checkout: Checkout | None,
    *,
    change: ChangeSet | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    config: Config | None = None,
    cache: dict[str, Any] | None = None,
) -> dict[str, list[Result]]:
    """Run several rules over one checkout with one shared per-run cache (one semgrep process for all)."""
    shared: dict[str, Any] = {} if cache is None else cache
    out: dict[str, list[Result]] = {}
    for rule_id in rule_ids:
        spec = CATALOG[rule_id]
        ctx = RuleContext(
            rule=spec,
            facts=Facts(platform="local", checkout=checkout, change=change),
            config=config or Config(),
            params={**spec.defaults(), **(params or {}).get(rule_id, {})},
            today=TODAY,
            cache=shared,
        )
        out[rule_id] = list(registry()[rule_id](ctx))
    return out


def change_of(files: Mapping[str, frozenset[int] | None], status: str = "modified") -> ChangeSet:
    """A change that touches ``files`` (``None``: the whole file is new)."""
    return ChangeSet(base="base", files={p: FileChange(p, "added" if lines is None else status, lines)
                                         for p, lines in files.items()})


def outcome(result: Result) -> tuple[str, str | None, int | None]:
    """(status, path, line) of one result."""
    loc = result.location
    return result.status.value, loc.path if loc else None, loc.line if loc else None
