"""The rule catalog (`rules/*.yml`) and the policy pack (`policies/*.yml`): loading and validation."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from annexa.config import param_problem
from annexa.errors import InputError, InputErrors
from annexa.model import Location, Severity
from annexa.yamlio import load_document, parse_date, validate


@dataclass(frozen=True)
class RuleSpec:
    """One catalog entry: the single source of truth for a rule's text, needs and defaults."""

    id: str
    title: str
    family: str
    question: str
    why: str
    fix: str
    severity: Severity
    platforms: tuple[str, ...]
    needs: Mapping[str, Any]
    params: Mapping[str, Mapping[str, Any]]
    references: tuple[str, ...]
    examples: Mapping[str, str]
    semgrep: Mapping[str, Any] | None

    def defaults(self) -> dict[str, Any]:
        """Parameter defaults as a plain mapping."""
        return {name: spec.get("default") for name, spec in self.params.items()}

    @property
    def offline(self) -> bool:
        """True when a checkout alone (perhaps with a --settings snapshot) can answer the rule."""
        return "local" in self.platforms


@dataclass(frozen=True)
class Requirement:
    """A policy's demand that one rule holds, with its severity, controls and parameters."""

    rule: str
    severity: Severity
    controls: tuple[str, ...]
    params: Mapping[str, Any]
    text: str
    line: int | None


@dataclass(frozen=True)
class Policy:
    """A policy document with its ISO-style document control."""

    id: str
    title: str
    version: str
    owner: str
    approved_by: str | None
    approved_on: dt.date | None
    review_interval_months: int
    statement: str
    controls: tuple[str, ...]
    requirements: tuple[Requirement, ...]
    path: str
    digest: str
    lines: Mapping[str, int]
    builtin: bool = False

    def location(self, key: str) -> Location | None:
        """Where ``key`` of the document control is, for policies in the checkout (not the shipped pack)."""
        return None if self.builtin else Location(self.path, self.lines.get(key) or self.lines.get("id"))


def builtin_dir(name: str) -> Path:
    """A data folder shipped inside the package (``rules``, ``policies``, ``schemas``)."""
    return Path(str(resources.files("annexa").joinpath("data", name)))


def load_catalog(folder: Path | None = None) -> dict[str, RuleSpec]:
    """Every rule of the catalog by id; invalid entries raise with file, line and field."""
    folder = folder or builtin_dir("rules")
    specs: dict[str, RuleSpec] = {}
    errors: list[InputError] = []
    for path in sorted(folder.glob("*.yml")):
        try:
            doc = load_document(path, f"rules/{path.name}")
            validate(doc, "rule.schema.json")
        except InputError as exc:
            errors.append(exc)
            continue
        except InputErrors as exc:
            errors.extend(exc.errors)
            continue
        data = doc.data
        if data["id"] != path.stem:
            errors.append(InputError(doc.path, doc.line(["id"]), "id", f"must equal the file name {path.stem!r}"))
            continue
        specs[data["id"]] = RuleSpec(
            id=data["id"],
            title=data["title"],
            family=data["family"],
            question=data["question"].strip(),
            why=data["why"].strip(),
            fix=data["fix"].strip(),
            severity=Severity(data["severity"]),
            platforms=tuple(data["platforms"]),
            needs=data.get("needs", {}),
            params=data.get("params", {}),
            references=tuple(data.get("references", ())),
            examples=data.get("examples", {}),
            semgrep=data.get("semgrep"),
        )
    if errors:
        raise InputErrors(errors)
    return specs


def load_policies(folders: list[Path], catalog: Mapping[str, RuleSpec], root: Path | None = None) -> list[Policy]:
    """Every policy in ``folders``; all errors of all files are gathered before raising.

    Paths are shown relative to ``root`` (the checkout); the shipped pack shows as ``builtin:policies/<file>``.
    """
    policies: list[Policy] = []
    errors: list[InputError] = []
    seen: dict[str, str] = {}
    for folder in folders:
        try:
            paths = [folder] if not folder.is_dir() else sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")])
        except OSError as exc:
            errors.append(InputError(str(folder), None, "", f"cannot be read: {exc.strerror or exc}"))
            continue
        if not paths:
            errors.append(InputError(str(folder), None, "", "no policy files (*.yml) found"))
        for path in paths:
            try:
                policy = _load_policy(path, catalog, root)
            except InputError as exc:
                errors.append(exc)
                continue
            except InputErrors as exc:
                errors.extend(exc.errors)
                continue
            if policy.id in seen:
                errors.append(InputError(policy.path, policy.lines.get("id"), "id",
                                         f"policy id {policy.id!r} is also used by {seen[policy.id]}"))
                continue
            seen[policy.id] = policy.path
            policies.append(policy)
    if errors:
        raise InputErrors(errors)
    return policies


def _load_policy(path: Path, catalog: Mapping[str, RuleSpec], root: Path | None) -> Policy:
    builtin = path.resolve().is_relative_to(builtin_dir("policies").resolve())
    doc = load_document(path, f"builtin:policies/{path.name}" if builtin else _display(path, root), root)
    validate(doc, "policy.schema.json")
    data = doc.data
    errors: list[InputError] = []
    requirements: list[Requirement] = []
    for i, req in enumerate(data["requirements"]):
        rule_id = req["rule"]
        spec = catalog.get(rule_id)
        if spec is None:
            errors.append(InputError(doc.path, doc.line(["requirements", i, "rule"]), f"requirements.{i}.rule",
                                     f"unknown rule id {rule_id!r} (see `annexa rules list`)"))
            continue
        unknown_params = sorted(set(req.get("params", {})) - set(spec.params))
        for name in unknown_params:
            errors.append(InputError(doc.path, doc.line(["requirements", i, "params", name]),
                                     f"requirements.{i}.params.{name}",
                                     f"rule {rule_id} has no parameter {name!r}"))
        for name, value in req.get("params", {}).items():
            problem = param_problem(spec.params.get(name), value)
            if problem:
                errors.append(InputError(doc.path, doc.line(["requirements", i, "params", name]),
                                         f"requirements.{i}.params.{name}", problem))
        requirements.append(Requirement(
            rule=rule_id,
            severity=Severity(req.get("severity", spec.severity)),
            controls=tuple(req.get("controls", data.get("controls", ()))),
            params=req.get("params", {}),
            text=req.get("text", spec.title),
            line=doc.line(["requirements", i]),
        ))
    if errors:
        raise InputErrors(errors)
    return Policy(
        id=data["id"],
        title=data["title"],
        version=str(data["version"]),
        owner=data["owner"],
        approved_by=data.get("approved_by"),
        approved_on=parse_date(data.get("approved_on")),
        review_interval_months=int(data["review_interval_months"]),
        statement=data["statement"].strip(),
        controls=tuple(data.get("controls", ())),
        requirements=tuple(requirements),
        path=doc.path,
        digest="sha256:" + doc.sha256,
        lines={str(k[0]): v for k, v in doc.lines.items() if len(k) == 1},
        builtin=builtin,
    )


def _display(path: Path, root: Path | None) -> str:
    try:
        return Path(os.path.abspath(path)).relative_to(os.path.abspath(root or Path.cwd())).as_posix()
    except ValueError:
        return str(path)

