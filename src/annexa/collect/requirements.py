"""The lowest version of a package that a file's own package manifest allows.

Read, never executed: ``pyproject.toml`` (``[project].dependencies`` and Poetry's ``[tool.poetry.dependencies]``),
``setup.cfg`` (``install_requires``) and the quoted requirement strings of ``setup.py``. Extras and dependency
groups only add constraints to the package's own dependencies, so they cannot lower its floor and are not read.
The manifest that decides for a file is the nearest one above it that declares a package (a monorepo's
sub-package has its own); when that manifest does not name the package, or names it without a lower bound, or
cannot be read, there is no floor.
"""

from __future__ import annotations

import posixpath
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from annexa.errors import UnreadableFile

MANIFESTS = ("pyproject.toml", "setup.cfg", "setup.py")
"""Files that declare a package, in the order they are consulted within one folder."""

DYNAMIC = "\0file:"
"""Marks a requirements file that ``[tool.setuptools.dynamic]`` names as the package's dependencies."""

_LOWER_OPERATORS = (">=", "~=", "==", "===", ">")
_SETUP_STRING = re.compile(r"""["']([A-Za-z0-9][A-Za-z0-9._-]*\s*(?:\[[^\]]*\])?\s*[<>=!~][^"'\n]*)["']""")
_POETRY = re.compile(r"^\s*(?:\^|~(?!=))\s*([0-9][0-9a-zA-Z.*+-]*)\s*$")


@dataclass(frozen=True)
class Floor:
    """The lowest allowed version (None: no lower bound) and where it was read."""

    version: Version | None
    manifest: str
    requirement: str


def _floor_of(requirements: Iterable[str], package: str) -> tuple[bool, Version | None, str]:
    """(named, lowest version every mention allows, the mentions) over requirement strings."""
    name = canonicalize_name(package)
    named = False
    lows: list[Version] = []
    unbounded = False
    texts: list[str] = []
    for text in requirements:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue
        if canonicalize_name(req.name) != name:
            continue
        named = True
        texts.append(text.strip())
        bounds = []
        for spec in req.specifier:
            if spec.operator in _LOWER_OPERATORS:
                try:
                    bounds.append(Version(spec.version.removesuffix(".*")))
                except InvalidVersion:
                    continue
        if req.url or not bounds:
            unbounded = True
        else:
            lows.append(max(bounds))
    if not named or unbounded:
        return named, None, "; ".join(texts)
    return True, min(lows), "; ".join(texts)


def _poetry_requirements(table: Any, package: str) -> list[str]:
    """Poetry's ``torch = "^2.6"`` / ``{version = ">=2.6"}`` as PEP 508 strings."""
    if not isinstance(table, dict):
        return []
    out = []
    for key, value in table.items():
        if canonicalize_name(str(key)) != canonicalize_name(package):
            continue
        values = value if isinstance(value, list) else [value]
        for item in values:
            spec = item.get("version") if isinstance(item, dict) else item
            if not isinstance(spec, str) or spec.strip() in ("", "*"):
                out.append(str(key))
                continue
            caret = _POETRY.match(spec)
            out.append(f"{key}>={caret.group(1)}" if caret else f"{key}{spec if spec[0] in '<>=!~' else '==' + spec}")
    return out


def _declares(name: str, text: str, package: str) -> tuple[bool, list[str]]:
    """Whether a manifest declares a package, and its requirement strings."""
    if name == "pyproject.toml":
        try:
            data = tomllib.loads(text)
        except (tomllib.TOMLDecodeError, ValueError):
            return False, []
        project = data.get("project")
        tool = data.get("tool")
        poetry = tool.get("poetry") if isinstance(tool, dict) else None
        if not isinstance(project, dict) and not isinstance(poetry, dict):
            return False, []  # a tool-only pyproject.toml (ruff, black) declares no package
        deps = project.get("dependencies") if isinstance(project, dict) else None
        reqs = [r for r in deps or [] if isinstance(r, str)]
        setuptools = tool.get("setuptools") if isinstance(tool, dict) else None
        dynamic = (setuptools or {}).get("dynamic") if isinstance(setuptools, dict) else None
        listed = (dynamic or {}).get("dependencies") if isinstance(dynamic, dict) else None
        files = listed.get("file") if isinstance(listed, dict) else None
        if isinstance(project, dict) and "dependencies" in (project.get("dynamic") or ()) and files:
            # setuptools reads the dependencies from requirements files: marked here, read by the caller
            reqs += [f"{DYNAMIC}{f}" for f in ([files] if isinstance(files, str) else files) if isinstance(f, str)]
        if isinstance(poetry, dict):
            reqs += _poetry_requirements(poetry.get("dependencies"), package)
        return True, reqs
    if name == "setup.cfg":
        match = re.search(r"^install_requires\s*=[ \t]*(.*\n(?:[ \t]+.*(?:\n|$))*)", text, re.MULTILINE)
        lines = [ln.split("#", 1)[0].strip() for ln in (match.group(1).splitlines() if match else [])]
        return "[metadata]" in text or "[options]" in text, [ln for ln in lines if ln]
    return True, [m.group(1) for m in _SETUP_STRING.finditer(text)]  # setup.py: its quoted requirement strings


class ManifestFloors:
    """Per-folder cache of the nearest package manifest's floor for one package in one tree."""

    def __init__(self, checkout: Any, package: str) -> None:
        self._checkout = checkout
        self._package = package
        self._files = set(checkout.files())
        self._by_folder: dict[str, Floor | None] = {}

    def for_file(self, path: str) -> Floor | None:
        """The floor that applies to ``path`` (None: no manifest above it names the package with a bound)."""
        folder = path.rsplit("/", 1)[0] if "/" in path else ""
        chain: list[str] = []
        found: Floor | None = None
        while True:
            if folder in self._by_folder:
                found = self._by_folder[folder]
                break
            chain.append(folder)
            decided, floor = self._folder(folder)
            if decided:
                found = floor
                break
            if not folder:
                break
            folder = folder.rsplit("/", 1)[0] if "/" in folder else ""
        for f in chain:
            self._by_folder[f] = found
        return found

    def _expand(self, folder: str, item: str) -> list[str]:
        """A requirement, or the lines of a requirements file named by ``[tool.setuptools.dynamic]`` (options,
        includes and comments skipped; an unreadable file gives an unbounded mention, so no floor)."""
        if not item.startswith(DYNAMIC):
            return [item]
        path = posixpath.normpath(posixpath.join(folder, item[len(DYNAMIC):]))
        try:
            text = self._checkout.read_text(path) if path in self._files else None
        except UnreadableFile:
            text = None
        if text is None:
            return [self._package]
        lines = (line.split(" #", 1)[0].strip() for line in text.splitlines())
        return [line for line in lines if line and not line.startswith(("#", "-"))]

    def _folder(self, folder: str) -> tuple[bool, Floor | None]:
        """(whether a manifest here declares a package, its floor)."""
        for name in MANIFESTS:
            path = f"{folder}/{name}" if folder else name
            if path not in self._files:
                continue
            try:
                text = self._checkout.read_text(path)
            except UnreadableFile:
                return True, None  # the package's manifest cannot be read: no floor
            declares, reqs = _declares(name, text, self._package)
            if not declares:
                continue
            reqs = [r for item in reqs for r in self._expand(folder, item)]
            named, version, texts = _floor_of(reqs, self._package)
            if not named and name == "pyproject.toml" and not reqs:
                continue  # dependencies declared elsewhere (dynamic, setup.py beside it)
            return True, Floor(version, path, texts) if named else None
        return False, None
