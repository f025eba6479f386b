"""What every rule implementation receives, and small helpers for building its results."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from annexa.errors import UnreadableFile
from annexa.facts import Facts, Setting
from annexa.model import Location, Result, Status
from annexa.paths import match_any

if TYPE_CHECKING:
    from annexa.catalog import RuleSpec
    from annexa.collect.checkout import Checkout
    from annexa.config import Config

T = TypeVar("T")


@dataclass(frozen=True)
class RuleContext:
    """The facts, configuration and parameters one rule is evaluated with.

    ``params`` merges the rule's catalog defaults, the policy requirement and the config's ``params``.
    ``cache`` is shared by every rule of one run, so an expensive scan (semgrep, model files) runs once.
    """

    rule: RuleSpec
    facts: Facts
    config: Config
    params: Mapping[str, Any]
    today: date
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def checkout(self) -> Checkout | None:
        """The checkout, when the run has one."""
        return self.facts.checkout

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """Compute a value once per run and share it between rules. A value the engine started early (a
        ``Prefetch``) is waited for here."""
        if key not in self.cache:
            self.cache[key] = compute()
        value = self.cache[key]
        if isinstance(value, Future):
            value = value.result()
            self.cache[key] = value
        result: T = value
        return result

    def files_in(self, path_class: str) -> list[str]:
        """Every checkout file in a configured path class (for example ``weights``)."""
        if self.checkout is None:
            return []
        return self.checkout.matching(self.config.path_class(path_class))

    def in_class(self, path: str, path_class: str) -> bool:
        """True when ``path`` belongs to the path class."""
        return match_any(self.config.path_class(path_class), path)

    def in_scope(self, path: str) -> bool:
        """True when the rule should look at ``path``: every file, or in PR mode for a rule of ``scope: change``
        (the catalog field) only the files the change adds or modifies."""
        change = self.facts.change
        return change is None or self.rule.scope == "repository" or change.touches(path)

    def scoped_files(self, path_class: str | None = None) -> list[str]:
        """Files the rule should read: the class (or every file), narrowed to the change for ``scope: change``."""
        if self.checkout is None:
            return []
        files = self.checkout.files() if path_class is None else self.files_in(path_class)
        return [f for f in files if self.in_scope(f)]

    def added_lines(self, path: str) -> frozenset[int] | None:
        """For a ``scope: change`` rule in PR mode the lines the change adds to ``path`` (``None``: every line);
        ``None`` in a full scan and for ``scope: repository`` rules."""
        change = self.facts.change
        return None if change is None or self.rule.scope == "repository" else change.added_lines(path)


PENDING_EVIDENCE = "pending_after_merge"
"""Evidence key of a result that an edit of the change itself could not silence (an allow-pragma the change
adds): its value says what; the engine lists it among the report's pending changes."""

RuleFn = Callable[[RuleContext], Iterable[Result]]
"""A rule implementation: a pure function of its context."""

Prefetch = Callable[[RuleContext], "tuple[str, Callable[[], Any]] | None"]
"""A rule's slow scan that waits on another process (semgrep), as ``(memo key, compute)`` for the engine to start
in a thread before the other rules run; the rule then reads it with ``ctx.memo(key, ...)``. ``None``: nothing to
start for this context."""


def passed(message: str, location: Location | None = None, **evidence: Any) -> Result:
    """A passing result."""
    return Result(Status.PASS, message, location, evidence)


def failed(message: str, location: Location | None = None, key: str = "", **evidence: Any) -> Result:
    """A failing result. A ``fix=`` keyword (a string, or ``None``) is not evidence but the result's own
    remediation text, shown instead of the catalog's generic fix."""
    fix = evidence.pop("fix", None)
    return Result(Status.FAIL, message, location, evidence, key, str(fix) if fix else None)


def unknown(message: str, needs: str, location: Location | None = None, **evidence: Any) -> Result:
    """A result that could not be decided; ``needs`` says what would decide it (a permission, a file)."""
    return Result(Status.UNKNOWN, message, location, {"needs": needs, **evidence})


def not_applicable(message: str, location: Location | None = None, **evidence: Any) -> Result:
    """The rule does not apply here (no weight files, no workflows, ...)."""
    return Result(Status.NOT_APPLICABLE, message, location, evidence)


NOT_GAPS = ("symbolic link", "notebook is not valid JSON; scanned as plain text", "baseline ignored")
"""Skip reasons that leave nothing unread (a symlink's target is scanned itself; a notebook read as text)."""

TEXT_SUFFIXES = frozenset({
    "py", "pyi", "ipynb", "js", "ts", "tsx", "jsx", "go", "rs", "java", "kt", "rb", "php", "c", "h", "cc", "cpp",
    "hpp", "cs", "swift", "scala", "sh", "bash", "zsh", "ps1", "sql", "r", "jl", "lua", "pl", "tf", "hcl", "yml",
    "yaml", "json", "jsonl", "toml", "ini", "cfg", "conf", "env", "properties", "xml", "html", "md", "rst", "txt",
    "csv", "tsv", "dockerfile", "gradle", "mk", "cmake",
})
"""Suffixes of files that are meant to be text: binary content there is a file a text scan failed to read."""


def coverage_gaps(skipped: Iterable[Any], needs: str) -> list[Result]:
    """One ``unknown`` per file a content scan should have read and did not (oversize, unreadable, a parse error,
    binary where text is expected), so a scan that skipped files is never a plain pass for them.

    ``skipped`` holds objects with ``path`` and ``reason`` (the scanners' ``Skipped``); binary files whose name
    does not say text (images, archives) and the reasons in ``NOT_GAPS`` are not gaps.
    """
    gaps: list[Result] = []
    for item in skipped:
        path, reason = str(item.path), str(item.reason)
        if reason.startswith(NOT_GAPS):
            continue
        suffix = path.rsplit("/", 1)[-1].rsplit(".", 1)[-1].lower()
        if reason.startswith("binary content") and suffix not in TEXT_SUFFIXES:
            continue
        gaps.append(unknown(f"{path} was not scanned: {reason}", needs, Location(path), reason=reason))
    return gaps


def unreadable(exc: UnreadableFile) -> Result:
    """An ``unknown`` result for a file that could not be read."""
    return unknown(f"{exc.path} could not be read: {exc.reason}", "a readable file", Location(exc.path))


def setting_result(
    setting: Setting[T],
    ok: Callable[[T], bool],
    good: str,
    bad: str,
    undecided: str,
    **evidence: Any,
) -> Result:
    """Judge one effective setting: ``undecided`` when unread, else pass/fail with its source and bypass actors."""
    detail: dict[str, Any] = dict(evidence)
    if setting.source:
        detail["source"] = setting.source
    if setting.bypass:
        detail["bypass_actors"] = setting.bypass_labels
    if setting.not_enforced:
        detail["not_enforced"] = list(setting.not_enforced)
    if setting.value is None:
        return unknown(undecided, setting.reason or "repository settings", **detail)
    detail["value"] = list(setting.value) if isinstance(setting.value, tuple) else setting.value
    if ok(setting.value):
        where = f" ({setting.source})" if setting.source else ""
        return Result(Status.PASS, good + where, None, detail)
    return Result(Status.FAIL, bad, None, detail)
