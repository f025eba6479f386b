"""torch-load-unsafe: a ``torch.load`` without ``weights_only`` is safe where torch's default is on.

From torch 2.6, ``torch.load`` defaults to ``weights_only=True``. A call that omits the argument then loads
tensors only, unless ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD`` turns the default off. So such a call fails only where
the file's own package manifest (:mod:`annexa.collect.requirements`) allows a torch older than the rule's
``weights_only_default_from`` version, or names no lower bound, or where the repository sets that variable.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from packaging.version import InvalidVersion, Version

from annexa.errors import UnreadableFile
from annexa.model import Location, Result
from annexa.rules.base import RuleContext, passed

if TYPE_CHECKING:
    from annexa.scan.semgrep import Match

RULE = "torch-load-unsafe"
MAX_LISTED = 20
"""Calls listed in the passing result's evidence (the count is always complete)."""
FORCE_OFF = "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"
"""The environment variable that makes torch 2.6+ load with ``weights_only=False`` again."""

_SETTINGS_FILES = ("**/*.py", "**/*.sh", "**/*.bash", "**/Dockerfile*", "**/*.dockerfile", "**/*.yml", "**/*.yaml",
                   "**/*.env", "**/.env*", "**/*.toml", "**/*.cfg", "**/*.ini", "**/Makefile", "**/*.mk")
"""Where a repository could set ``FORCE_OFF`` for its code: scripts, images, CI, env and tool settings."""


def _threshold(ctx: RuleContext) -> Version | None:
    value = str(ctx.params.get("weights_only_default_from") or "").strip()
    try:
        return Version(value) if value else None
    except InvalidVersion:
        return None


_SETS_FORCE_OFF = re.compile(FORCE_OFF + r"""["']?\s*(?:\]\s*)?(?:=|:|,|\s)\s*["']?(?:1|true|yes|on)\b""",
                             re.IGNORECASE)
"""``VAR=1``, ``export VAR=1``, ``ENV VAR 1``, ``VAR: "1"``, ``os.environ["VAR"] = "1"``, ``setdefault("VAR", "1")``."""


def _forced_off(checkout: Any) -> str | None:
    """The first file and line that set ``FORCE_OFF`` to a true value outside a comment (None: none does). A
    comment or a README telling a user to set it for trusted files is not a setting."""
    for path in checkout.matching(_SETTINGS_FILES):
        try:
            text = checkout.read_text(path)
        except UnreadableFile:
            continue
        if FORCE_OFF not in text:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            code = line.strip()
            if FORCE_OFF in code and not code.startswith(("#", "//", ";")) and _SETS_FORCE_OFF.search(code):
                return f"{path}:{number}"
    return None


def split_default_safe(ctx: RuleContext, matches: Sequence[Match]) -> tuple[list[Match], list[dict[str, Any]]]:
    """The matches that still fail, and the calls that rely on torch's default (each with the manifest and the
    requirement that make it safe)."""
    threshold = _threshold(ctx)
    checkout = ctx.checkout
    if ctx.rule.id != RULE or threshold is None or checkout is None or all(m.variant for m in matches):
        return list(matches), []
    from annexa.collect.requirements import ManifestFloors

    floors = ctx.memo("torch-floors", lambda: ManifestFloors(checkout, "torch"))
    relied: list[dict[str, Any]] = []
    kept: list[Match] = []
    for m in matches:
        floor = floors.for_file(m.path) if not m.variant else None
        if (floor is None or floor.version is None or floor.version < threshold
                or ctx.memo("torch-forced-off", lambda: _forced_off(checkout))):
            kept.append(m)
        else:
            relied.append({"path": m.path, "line": m.line, "manifest": floor.manifest,
                           "requirement": floor.requirement})
    return kept, relied


def relief(ctx: RuleContext, relied: Sequence[dict[str, Any]], **evidence: Any) -> Result:
    """The passing result that lists the calls relying on torch's default and the requirements that allow it."""
    n = len(relied)
    manifests = sorted({r["manifest"] for r in relied})
    requirements = "; ".join(sorted({r["requirement"] for r in relied}))
    return passed(f"{n} torch.load call{'s' if n != 1 else ''} without weights_only {'rely' if n != 1 else 'relies'} "
                  f"on torch's default (weights_only=True from torch {_threshold(ctx)}): {', '.join(manifests)} "
                  f"require{'s' if len(manifests) == 1 else ''} {requirements}",
                  Location(manifests[0]), default_weights_only=list(relied[:MAX_LISTED]), calls=n, **evidence)
