"""The rule catalog (`rules/*.yml`) and the policy pack (`policies/*.yml`): loading and validation."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from annexa.config import param_problem
from annexa.controls import control_problem, is_iso_control
from annexa.errors import InputError, InputErrors
from annexa.model import Location, Severity
from annexa.redact import trust_shipped
from annexa.yamlio import Document, load_document, parse_date, validate


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
    scope: str = "change"
    """In PR mode: ``change`` (a costly content scan: only what the change adds) or ``repository`` (the whole
    checkout; findings on what the change adds are marked introduced)."""

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


FAMILY_SCOPE = {"content": "change", "model_files": "change", "pull_request": "change"}
"""PR-mode scope of a family's rules when the catalog entry does not say: costly content scans look at the
change only; every other family reads the whole checkout."""


def builtin_dir(name: str) -> Path:
    """A data folder shipped inside the package (``rules``, ``policies``, ``schemas``)."""
    return Path(str(resources.files("annexa").joinpath("data", name)))


def load_catalog(folder: Path | None = None) -> dict[str, RuleSpec]:
    """Every rule of the catalog by id; invalid entries raise with file, line and field.

    Parsed once per process per folder and file state (name, size, mtime of each ``*.yml``): every caller of one
    run shares the same parse; a new dict is returned so a caller's edits never leak into another's.
    """
    folder = (folder or builtin_dir("rules")).resolve()
    paths = sorted(folder.glob("*.yml"))
    stamp = tuple((p.name, *_stat(p)) for p in paths)
    return dict(_load_catalog(folder, stamp))


def _stat(path: Path) -> tuple[int, int]:
    try:
        info = path.stat()
    except OSError:
        return (-1, -1)
    return (info.st_size, info.st_mtime_ns)


SHIPPED_RULES_JSON = Path(__file__).resolve().parent / "data" / "rules.json"
"""The shipped rule files as parsed data, with a digest of their bytes (``python -m annexa.catalog`` writes it)."""


def _rules_digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _shipped_data(paths: list[Path]) -> dict[str, Any]:
    """The shipped rule files' data from ``rules.json`` when its digest is theirs; else ``{}`` (parse them)."""
    try:
        stored = json.loads(SHIPPED_RULES_JSON.read_text(encoding="utf-8"))
        if stored.get("digest") == _rules_digest(paths):
            return dict(stored["rules"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return {}


def write_shipped_rules() -> Path:
    """Write ``rules.json`` from the shipped rule files (run after editing one; a test fails until then)."""
    paths = sorted(builtin_dir("rules").glob("*.yml"))
    rules = {p.name: load_document(p, f"rules/{p.name}").data for p in paths}
    SHIPPED_RULES_JSON.write_text(json.dumps({"digest": _rules_digest(paths), "rules": rules},
                                             separators=(",", ":")) + "\n", encoding="utf-8")
    return SHIPPED_RULES_JSON


@lru_cache(maxsize=8)
def _load_catalog(folder: Path, stamp: tuple[tuple[str, int, int], ...]) -> Mapping[str, RuleSpec]:
    specs: dict[str, RuleSpec] = {}
    errors: list[InputError] = []
    shipped = folder == builtin_dir("rules").resolve()
    paths = [folder / name for name, _, _ in stamp]
    parsed = _shipped_data(paths) if shipped else {}
    for path in paths:
        try:
            doc = Document(f"rules/{path.name}", parsed[path.name], {}) if path.name in parsed else \
                load_document(path, f"rules/{path.name}", shipped=shipped)
            if not shipped:  # the shipped catalog is schema-checked by tests/test_catalog_meta.py
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
            scope=data.get("scope") or FAMILY_SCOPE.get(data["family"], "repository"),
        )
    if errors:
        raise InputErrors(errors)
    if shipped:
        trust_shipped(text for spec in specs.values() for text in (spec.title, spec.question, spec.why, spec.fix))
    return specs


def load_policies(folders: list[Path], catalog: Mapping[str, RuleSpec], root: Path | None = None,
                  strict: bool = False) -> list[Policy]:
    """Every policy in ``folders``; all errors of all files are gathered before raising.

    The shipped pack is schema-validated only when ``strict`` (``annexa policies validate``) and by the tests;
    policies from a checkout always are.

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
                policy = _load_policy(path, catalog, root, strict)
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


def _load_policy(path: Path, catalog: Mapping[str, RuleSpec], root: Path | None, strict: bool) -> Policy:
    builtin = path.resolve().is_relative_to(builtin_dir("policies").resolve())
    doc = load_document(path, f"builtin:policies/{path.name}" if builtin else _display(path, root), root)
    errors: list[InputError] = _control_errors(doc)
    try:
        if not (builtin and not strict):  # the shipped pack is schema-checked by tests/test_catalog_meta.py
            validate(doc, "policy.schema.json")
    except InputErrors as exc:
        raise InputErrors(sorted([*errors, *exc.errors], key=lambda e: (e.line or 0, e.field))) from exc
    data = doc.data
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
    if builtin:
        trust_shipped([data["title"], str(data.get("owner", "")), *(r.text for r in requirements)])
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


_CONTROL_FORM = re.compile(r"^(A\.[5-8]\.[0-9]{1,2}|(?:[4-9]|10)(\.[0-9]{1,2})*)$")
"""The form the policy schema accepts; ids of that form that ISO 27001:2022 does not have are caught here."""


def _control_errors(doc: Document) -> list[InputError]:
    """Control ids of the policy (top level and per requirement) that ISO/IEC 27001:2022 does not have."""
    data = doc.data if isinstance(doc.data, dict) else {}
    places: list[tuple[tuple[str | int, ...], Any]] = [(("controls",), data.get("controls"))]
    requirements = data.get("requirements")
    if isinstance(requirements, list):
        places += [(("requirements", i, "controls"), r.get("controls"))
                   for i, r in enumerate(requirements) if isinstance(r, dict)]
    errors = []
    for where, controls in places:
        for j, control in enumerate(controls if isinstance(controls, list) else []):
            if isinstance(control, str) and _CONTROL_FORM.match(control) and not is_iso_control(control):
                field = ".".join(str(p) for p in (*where, j))
                errors.append(InputError(doc.path, doc.line((*where, j)), field, control_problem(control)))
    return errors


def _display(path: Path, root: Path | None) -> str:
    try:
        return Path(os.path.abspath(path)).relative_to(os.path.abspath(root or Path.cwd())).as_posix()
    except ValueError:
        return str(path)


if __name__ == "__main__":
    print(f"wrote {write_shipped_rules()}")
