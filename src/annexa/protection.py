"""Effective branch protection: one answer per setting, merged from every source that protects a branch.

Platform-neutral and pure (no I/O). A platform collector turns what it reads into ``Source`` values (classic
protection, a repository or organisation ruleset, a read-only view, a protected-branch entry) and names what
it could not read as ``Unread``; ``merge`` then gives the branch's ``BranchProtection``.

Input types:

- ``Source.values`` maps a field of ``FIELDS`` to what the source enforces: ``True``/``False`` for booleans,
  an ``int`` for ``required_approvals``, a tuple of names for ``required_status_checks``. A field the source
  does not state is absent (it is then decided by the other sources, or unknown).
- ``Source.bypass`` lists who may bypass the source (``BypassActor``), or is ``None`` when the list could not
  be read. ``Source.admins_bound`` says whether administrators are held to it: ``True``/``False``, or
  ``None`` to derive it from ``bypass`` (unreadable bypass list: unknown).
- ``Unread(label, reason, fields)``: a source that protects the branch but could not be read; ``partial``
  when another view of the same source answered some of its fields.

Merging: a boolean holds when any source enforces it; the approvals count is the highest; status checks are
the union; bypass actors are those that may bypass every enforcing source. A field an unread source covers is
``unknown`` (a count, a check list or a ``False`` from the readable sources alone could be wrong either way),
except that a boolean already enforced by a readable source holds: enforcement only adds up, so what one
source enforces stays enforced whatever the hidden source says. ``admins_cannot_bypass`` is ``True`` only when
every protecting source binds administrators.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from annexa.facts import BranchProtection, BypassActor, Setting

FIELDS = (
    "protected", "force_push_blocked", "deletion_blocked", "pull_request_required", "required_approvals",
    "code_owner_review_required", "stale_approvals_dismissed", "author_approval_blocked", "admins_cannot_bypass",
    "required_status_checks", "signed_commits_required",
)  # fmt: skip
"""The fields of ``BranchProtection`` after ``branch``."""
_ENFORCEMENT_FIELDS = tuple(f for f in FIELDS if f != "admins_cannot_bypass")


@dataclass(frozen=True)
class Source:
    """What one protection source enforces on one branch (see the module docstring)."""

    label: str
    values: Mapping[str, Any]
    bypass: tuple[BypassActor, ...] | None = ()
    admins_bound: bool | None = None
    bypass_reason: str | None = None
    """Why ``bypass`` is ``None`` (what reading it needs)."""

    def binds_admins(self) -> bool | None:
        """Whether administrators are held to this source; ``None`` when that cannot be told."""
        if self.admins_bound is not None:
            return self.admins_bound
        if "admins_cannot_bypass" in self.values:
            return bool(self.values["admins_cannot_bypass"])
        if self.bypass is None:
            return None
        return not any(actor.is_admin for actor in self.bypass)

    @property
    def protects(self) -> bool:
        """True when the source enforces anything at all."""
        return any(
            v is True or (isinstance(v, int) and not isinstance(v, bool) and v > 0) or (isinstance(v, tuple) and v)
            for k, v in self.values.items()
            if k in _ENFORCEMENT_FIELDS
        )


@dataclass(frozen=True)
class Unread:
    """A source that protects (or may protect) the branch but could not be read."""

    label: str
    reason: str
    fields: tuple[str, ...] = FIELDS
    partial: bool = False
    """True when another view of the same source answered the fields not listed."""


def nothing(label: str) -> Source:
    """A source known to enforce nothing (no classic protection, an unprotected branch)."""
    values: dict[str, Any] = {f: False for f in FIELDS}
    values["required_approvals"] = 0
    values["required_status_checks"] = ()
    return Source(label, values, (), admins_bound=False)


def unknown_branch(branch: str, reason: str) -> BranchProtection:
    """A branch none of whose protection could be read."""
    return BranchProtection(branch, **{f: Setting.unknown(reason) for f in FIELDS})


def _common_bypass(sources: Sequence[Source]) -> tuple[BypassActor, ...]:
    """Actors that may bypass every one of ``sources`` (anyone else is bound by at least one)."""
    if not sources:
        return ()
    lists = [s.bypass or () for s in sources]
    return tuple(a for a in lists[0] if all(any(a.same_actor(b) for b in other) for other in lists[1:]))


def _said(field_name: str, sources: Sequence[Source]) -> str:
    stated = [f"{s.label}: {s.values[field_name]!r}" for s in sources if field_name in s.values]
    return "; the readable sources say " + ", ".join(stated) if stated else ""


def merge_field(
    field_name: str, sources: Sequence[Source], unread: Sequence[Unread] = (), not_enforced: tuple[str, ...] = ()
) -> Setting[Any]:
    """One effective answer for one enforcement field (not ``admins_cannot_bypass``)."""
    missing = [u for u in unread if field_name in u.fields]
    stating = [s for s in sources if field_name in s.values]
    if field_name == "required_approvals":
        enforcing = [s for s in stating if int(s.values[field_name]) > 0]
    elif field_name == "required_status_checks":
        enforcing = [s for s in stating if s.values[field_name]]
    else:
        enforcing = [s for s in stating if s.values[field_name] is True]
    boolean = field_name not in ("required_approvals", "required_status_checks")
    if missing and not (boolean and enforcing):
        reason = "; ".join(dict.fromkeys(u.reason for u in missing)) + _said(field_name, sources)
        return Setting(None, reason=reason, not_enforced=not_enforced)
    if not stating:
        return Setting(None, reason="no protection source states this setting", not_enforced=not_enforced)
    if not enforcing:
        source = stating[0].label if len(sources) == 1 else "none of: " + ", ".join(s.label for s in sources)
        zero: Any = 0 if field_name == "required_approvals" else (() if field_name == "required_status_checks"
                                                                   else False)
        return Setting(zero, source, not_enforced=not_enforced)
    if field_name == "required_approvals":
        best = max(enforcing, key=lambda s: int(s.values[field_name]))
        return Setting(int(best.values[field_name]), best.label, bypass=best.bypass or (), not_enforced=not_enforced)
    value: Any = True
    if field_name == "required_status_checks":
        value = tuple(sorted({c for s in enforcing for c in s.values[field_name]}))
    source = ", ".join(s.label for s in enforcing)
    return Setting(value, source, bypass=_common_bypass(enforcing), not_enforced=not_enforced)


def merge_admins(sources: Sequence[Source], unread: Sequence[Unread] = ()) -> Setting[bool]:
    """Whether administrators are held to the branch's protection: ``True`` only when every source that
    protects it binds them; one that lets them bypass is ``False``; one whose bypass list is hidden, ``unknown``."""
    protecting = [s for s in sources if s.protects]
    loose = [s for s in protecting if s.binds_admins() is False]
    if loose:
        admins = tuple(a for s in loose for a in (s.bypass or ()) if a.is_admin)
        return Setting(False, ", ".join(s.label for s in loose), bypass=admins)
    hidden = [s for s in protecting if s.binds_admins() is None]
    missing = [u for u in unread if "admins_cannot_bypass" in u.fields]
    if hidden or missing:
        reasons = [s.bypass_reason or f"whether {s.label} binds administrators" for s in hidden]
        reasons += [u.reason for u in missing]
        return Setting.unknown("; ".join(dict.fromkeys(reasons)))
    if not protecting:
        return Setting(False, "none of: " + ", ".join(s.label for s in sources) if sources else "no protection")
    return Setting(True, ", ".join(s.label for s in protecting))


@dataclass(frozen=True)
class BranchInput:
    """Everything known about one branch's protection, ready to merge."""

    branch: str
    sources: tuple[Source, ...] = ()
    unread: tuple[Unread, ...] = ()
    not_enforced: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Per field, sources that would set it but are not enforced (for example a ruleset in evaluate mode)."""
    protected_flag: bool | None = None
    """The platform's own "this branch is protected" flag, when it has one."""


def merge(branch: BranchInput) -> BranchProtection:
    """The effective protection of one branch."""
    settings: dict[str, Setting[Any]] = {}
    for name in FIELDS:
        if name == "admins_cannot_bypass":
            settings[name] = merge_admins(branch.sources, branch.unread)
        else:
            settings[name] = merge_field(name, branch.sources, branch.unread, branch.not_enforced.get(name, ()))
    if branch.protected_flag is True and settings["protected"].value is not True:
        flagged = settings["protected"].not_enforced
        settings["protected"] = Setting(True, "branch 'protected' flag", not_enforced=flagged)
    return BranchProtection(branch.branch, **settings)
