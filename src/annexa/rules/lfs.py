"""Git LFS rules: weight files stored as LFS pointers, and `.gitattributes` sending them to LFS."""

from __future__ import annotations

from collections.abc import Iterable

from annexa.errors import UnreadableFile
from annexa.model import Location, Result
from annexa.rules.base import RuleContext, RuleFn, failed, not_applicable, passed, unknown, unreadable
from annexa.rules.model_files import weight_files
from annexa.scan.lfs import POINTER_MAX, LfsError, lfs_filtered, parse_pointer


def scoped_weights(ctx: RuleContext) -> tuple[list[str], list[Result]]:
    """The weight files (by content, see ``weight_files``) a rule checks, and ``unknown`` results for the
    weight-named files that could not be read to tell."""
    classified = weight_files(ctx)
    weights = [w for w in classified.weights if ctx.in_scope(w)]
    unknowns = [unknown(f"{path} could not be read to tell whether it is a weight file: {reason}",
                        "a readable file", Location(path), reason=reason)
                for path, reason in sorted(classified.unreadable.items()) if ctx.in_scope(path)]
    return weights, unknowns


def _none_message(ctx: RuleContext) -> str:
    text = [p for p in weight_files(ctx).not_weights if ctx.in_scope(p)]
    if not text:
        return "No model weight files to check"
    return f"No model weight files to check ({len(text)} weight-named files hold text, not model content)"


def check_weights_in_lfs(ctx: RuleContext) -> Iterable[Result]:
    """Each weight file is a Git LFS pointer in git (or, untracked, will be filtered to LFS)."""
    checkout = ctx.checkout
    weights, unknowns = scoped_weights(ctx)
    yield from unknowns
    if checkout is None or not weights:
        if not unknowns:
            yield not_applicable(_none_message(ctx))
        return
    try:
        blobs = checkout.blobs(weights)
        untracked = [w for w in weights if w not in blobs]
        filtered = lfs_filtered(checkout.root, untracked, checkout.is_git)
    except LfsError as exc:
        yield unknown(f"Git could not tell which files go to LFS: {exc}", "a readable .gitattributes and git index")
        return
    for path in weights:
        where = Location(path)
        if path in blobs:
            blob = blobs[path]
            pointer = parse_pointer(blob) if isinstance(blob, bytes) else None
            if pointer:
                yield passed(f"{path} is stored in Git LFS", where, oid=pointer.oid, size=pointer.size)
            else:
                size = len(blob) if isinstance(blob, bytes) else blob
                yield failed(f"{path} is committed to git as {size:,} raw bytes, not as a Git LFS pointer",
                             where, key="raw", blob_size=size)
            continue
        try:
            head = checkout.read_bytes(path, POINTER_MAX)
        except UnreadableFile as exc:
            yield unreadable(exc)
            continue
        pointer = parse_pointer(head)
        if pointer:
            yield passed(f"{path} is a Git LFS pointer", where, oid=pointer.oid, size=pointer.size)
        elif filtered.get(path):
            yield passed(f"{path} is not committed yet; .gitattributes sends it to Git LFS", where, tracked=False)
        else:
            yield failed(f"{path} holds raw bytes and .gitattributes does not send it to Git LFS",
                         where, key="raw", size=checkout.size(path))


def check_weights_lfs_attributes(ctx: RuleContext) -> Iterable[Result]:
    """`.gitattributes` has a ``filter=lfs`` rule for every weight file present."""
    checkout = ctx.checkout
    weights, unknowns = scoped_weights(ctx)
    yield from unknowns
    if checkout is None or not weights:
        if not unknowns:
            yield not_applicable(_none_message(ctx))
        return
    try:
        filtered = lfs_filtered(checkout.root, weights, checkout.is_git)
    except LfsError as exc:
        yield unknown(f"Git could not tell which files go to LFS: {exc}", "a readable .gitattributes")
        return
    for path in weights:
        if filtered.get(path):
            yield passed(f"{path} is sent to Git LFS by .gitattributes", Location(path))
        else:
            suffix = path.rsplit(".", 1)[-1] if "." in path.rsplit("/", 1)[-1] else None
            pattern = f"*.{suffix}" if suffix else path
            yield failed(f"{path} is not matched by any `filter=lfs` rule in .gitattributes", Location(path),
                         key="no-lfs-attribute", suggested=f"{pattern} filter=lfs diff=lfs merge=lfs -text")


RULES: dict[str, RuleFn] = {
    "weights-in-lfs": check_weights_in_lfs,
    "weights-lfs-attributes": check_weights_lfs_attributes,
}
