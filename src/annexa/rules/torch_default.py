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
from annexa.rules.base import RuleContext

if TYPE_CHECKING:
    from annexa.scan.semgrep import Match

RULE = "torch-load-unsafe"
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
    candidates = [m for m in matches if not m.variant]
    if ctx.rule.id != RULE or threshold is None or not candidates or ctx.checkout is None:
        return list(matches), []
    from annexa.collect.requirements import ManifestFloors

    checkout = ctx.checkout
    floors = ctx.memo("torch-floors", lambda: ManifestFloors(checkout, "torch"))
    relied: list[dict[str, Any]] = []
    kept: list[Match] = []
    forced: str | bool | None = False  # False: not looked for yet
    for m in matches:
        floor = floors.for_file(m.path) if not m.variant else None
        if floor is None or floor.version is None or floor.version < threshold:
            kept.append(m)
            continue
        if forced is False:
            forced = ctx.memo("torch-forced-off", lambda: _forced_off(checkout))
        if forced:
            kept.append(m)
            continue
        relied.append({"path": m.path, "line": m.line, "manifest": floor.manifest, "requirement": floor.requirement})
    return kept, relied
