"""`.annexa.yml`: which policies apply, what fails the run, owners, path classes, parameters, waivers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from annexa.errors import InputError, InputErrors
from annexa.model import Severity
from annexa.yamlio import Document, load_document, parse_date, validate

CONFIG_NAME = ".annexa.yml"

WEIGHT_EXTENSIONS = (
    "safetensors", "pt", "pth", "bin", "ckpt", "pkl", "pickle", "joblib", "dill", "npy", "npz", "h5", "hdf5",
    "keras", "onnx", "gguf", "ggml", "tflite", "pb", "mlmodel", "mlpackage", "model", "pte", "mar", "nemo",
    "msgpack", "ot", "llamafile", "caffemodel", "params", "weights", "engine", "plan", "torchscript", "ptl",
)  # fmt: skip

DEFAULT_PATHS: dict[str, tuple[str, ...]] = {
    "weights": (*(f"**/*.{ext}" for ext in WEIGHT_EXTENSIONS), "**/saved_model/**"),
    "training_data": ("data/**", "datasets/**", "dataset/**", "training_data/**", "training-data/**"),
    "ci": (".github/workflows/**", ".github/actions/**", ".gitlab-ci.yml", ".gitlab/ci/**", ".gitlab/**/*.yml"),
    "codeowners": ("CODEOWNERS", ".github/CODEOWNERS", "docs/CODEOWNERS", ".gitlab/CODEOWNERS"),
    "policies": ("policies/**",),
    "config": (CONFIG_NAME,),
    "tests": (
        "tests/**", "test/**", "**/tests/**", "**/test/**", "**/test_*.py", "**/*_test.py", "**/*_test.go",
        "**/conftest.py", "**/testdata/**", "**/__tests__/**", "**/*.test.ts", "**/*.test.js", "**/fixtures/**",
    ),
}
"""Path classes annexa knows out of the box; ``.annexa.yml`` ``paths:`` replaces a class."""

SENSITIVE_CLASSES = ("ci", "codeowners", "config", "policies")
"""Path classes that the security owners must own (``sensitive-paths-owned``)."""


@dataclass(frozen=True)
class Waiver:
    """A documented exception to one rule, optionally limited to some paths."""

    rule: str
    paths: tuple[str, ...]
    justification: str | None
    risk: str | None
    requested_by: str | None
    approved_by: str | None
    ticket: str | None
    expires: dt.date | None
    line: int | None
    index: int


@dataclass(frozen=True)
class Config:
    """The validated configuration of one checked repository (defaults when it has no `.annexa.yml`)."""

    policies: tuple[str, ...] = ("builtin",)
    fail_on: Severity = Severity.HIGH
    owners: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    paths: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(DEFAULT_PATHS))
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    waivers: tuple[Waiver, ...] = ()
    source: str | None = None

    def path_class(self, name: str) -> tuple[str, ...]:
        """The globs of a path class; an unknown class is empty."""
        return self.paths.get(name, ())

    def owners_of(self, role: str) -> tuple[str, ...]:
        """The owners configured for a role (``models``, ``security``, ...)."""
        return self.owners.get(role, ())


def load_config(
    path: Path, display: str = CONFIG_NAME, rule_params: Mapping[str, Collection[str]] | None = None
) -> Config:
    """Read and validate a config file; errors name the file, line and field.

    ``rule_params`` maps every known rule id to its parameter names, to reject unknown ones.
    """
    doc = load_document(path, display)
    if doc.data is None:
        return Config(source=display)
    validate(doc, "config.schema.json")
    if rule_params is not None:
        _check_rule_ids(doc, rule_params)
    return config_from(doc)


def _check_rule_ids(doc: Document, rule_params: Mapping[str, Collection[str]]) -> None:
    errors = [
        InputError(doc.path, doc.line(["waivers", i, "rule"]), f"waivers.{i}.rule", f"unknown rule id {w['rule']!r}")
        for i, w in enumerate(doc.data.get("waivers", []))
        if w["rule"] not in rule_params
    ]
    for rule, params in doc.data.get("params", {}).items():
        if rule not in rule_params:
            where = doc.line(["params", rule])
            errors.append(InputError(doc.path, where, f"params.{rule}", f"unknown rule id {rule!r}"))
            continue
        errors += [
            InputError(doc.path, doc.line(["params", rule, key]), f"params.{rule}.{key}",
                       f"rule {rule} has no parameter {key!r}")
            for key in params
            if key not in rule_params[rule]
        ]
        known = rule_params[rule]
        if isinstance(known, Mapping):
            for key, value in params.items():
                problem = param_problem(known.get(key), value)
                if problem:
                    errors.append(InputError(doc.path, doc.line(["params", rule, key]), f"params.{rule}.{key}",
                                             problem))
    if errors:
        raise InputErrors(errors)


MAX_PARAM_INT = 1_000
"""Numeric parameters are non-negative and at most this, or a thousand times their default if larger, unless the
rule's catalog entry gives the parameter its own ``minimum``/``maximum``."""

MAX_PARAM_STR = 1_000
"""Longest text parameter (and text item of a list parameter)."""

MAX_PARAM_ITEMS = 10_000
"""Most items of a list parameter."""


def param_problem(spec: Any, value: Any) -> str | None:
    """Why ``value`` cannot stand for a rule parameter whose catalog default is ``spec["default"]``, or None."""
    if not isinstance(spec, Mapping) or spec.get("default") is None:
        return None
    default = spec["default"]
    if isinstance(default, bool):
        return None if isinstance(value, bool) else f"must be true or false, not {_kind(value)}"
    if isinstance(default, int | float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"must be a number, not {_kind(value)}"
        if isinstance(default, int) and not isinstance(value, int):
            return f"must be a whole number, not {_kind(value)}"
        if value != value or abs(value) == float("inf"):
            return f"must be a number, not {_kind(value)}"
        bottom = spec.get("minimum", 0)
        top = spec.get("maximum", max(MAX_PARAM_INT, default * 1_000))
        if not bottom <= value <= top:
            return f"must be between {bottom:,} and {top:,}"
        return None
    if isinstance(default, str) and isinstance(value, str) and len(value) > MAX_PARAM_STR:
        return f"longer than {MAX_PARAM_STR:,} characters"
    if isinstance(default, list):
        if not isinstance(value, list):
            return f"must be a list, not {_kind(value)}"
        if len(value) > MAX_PARAM_ITEMS:
            return f"more than {MAX_PARAM_ITEMS:,} items"
        other = next((i for i, v in enumerate(value) if not isinstance(v, str)), None)
        if other is not None:  # every list parameter in the catalog is a list of names, globs or texts
            return f"item {other} must be text, not {_kind(value[other])}"
        long = next((i for i, v in enumerate(value) if len(v) > MAX_PARAM_STR), None)
        if long is not None:
            return f"item {long} is longer than {MAX_PARAM_STR:,} characters"
    return None


def _kind(value: Any) -> str:
    if isinstance(value, float):
        return "a fraction" if value == value and abs(value) != float("inf") else "an infinite or NaN number"
    return {bool: "true/false", int: "a whole number", str: "text", list: "a list", dict: "a mapping"}.get(
        type(value), type(value).__name__)


def config_from(doc: Document) -> Config:
    """Build a ``Config`` from a validated document."""
    data: dict[str, Any] = doc.data
    paths = dict(DEFAULT_PATHS)
    paths.update({k: tuple(v) for k, v in data.get("paths", {}).items()})
    waivers = tuple(
        Waiver(
            rule=w["rule"],
            paths=tuple(w.get("paths", ())),
            justification=w.get("justification"),
            risk=w.get("risk"),
            requested_by=w.get("requested_by"),
            approved_by=w.get("approved_by"),
            ticket=None if w.get("ticket") is None else str(w["ticket"]),
            expires=parse_date(w.get("expires")),
            line=doc.line(("waivers", i)),
            index=i,
        )
        for i, w in enumerate(data.get("waivers", []))
    )
    return Config(
        policies=tuple(data.get("policies", ("builtin",))),
        fail_on=Severity(data.get("fail_on", "high")),
        owners={k: tuple(v) for k, v in data.get("owners", {}).items()},
        paths=paths,
        params={k: dict(v) for k, v in data.get("params", {}).items()},
        waivers=waivers,
        source=doc.path,
    )


STARTER_CONFIG = """\
# annexa configuration: https://github.com/annexa/annexa#configuration
policies: [builtin]          # or paths to your own policy folders
fail_on: high                # lowest severity that fails the run: critical, high, medium, low, info
owners:
  models: ["@your-org/ml-model-owners"]
  security: ["@your-org/security"]
paths:
  training_data: ["data/**", "datasets/**"]
params:
  approvals-required: {min: 2}
waivers: []
#  - rule: actions-pinned
#    paths: [".github/workflows/legacy.yml"]
#    justification: "vendor action has no releases; reviewed manually"
#    risk: low
#    requested_by: "@bob"
#    approved_by: "@alice"
#    ticket: SEC-123
#    expires: 2027-03-31
"""
