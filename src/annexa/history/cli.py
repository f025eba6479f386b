"""``annexa history ...`` and ``annexa export ...``: arguments and command logic (cli.py prints and exits).

``add_commands(subparsers)`` adds the ``history`` and ``export`` commands; ``run(args, out, env)`` runs one and
returns the exit code. ``record_run`` and ``write_run_artifact`` are what ``annexa check`` / ``annexa ci`` call.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from annexa.errors import AnnexaError
from annexa.history import DEFAULT_URL

if TYPE_CHECKING:
    from annexa.history.record import RunContext
    from annexa.report import Report

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class Printer(Protocol):
    """What ``run`` prints through (a rich Console)."""

    def print(self, *objects: Any, markup: bool | None = None) -> None: ...


def add_commands(commands: Any) -> None:
    """Add ``history`` (verify, keygen, checkpoint, import) and ``export`` to the top-level subparsers."""
    history = commands.add_parser("history", help="the tamper-evident run history")
    sub = history.add_subparsers(dest="history_command", required=True, metavar="COMMAND")

    verify = sub.add_parser("verify", help="recompute hash chains and signatures; exit 1 on any gap or edit")
    _store_option(verify)
    verify.add_argument("--checkpoint", type=Path, action="append",
                        help="a checkpoint file kept outside the store (repeatable); finds deleted newest records")
    _public_key_option(verify)

    keygen = sub.add_parser("keygen", help="write an Ed25519 key pair for signing chain heads")
    keygen.add_argument("--out", type=Path, default=Path("."), help="folder for annexa-signing.key / .pub")
    keygen.add_argument("--force", action="store_true", help="overwrite existing key files")

    checkpoint = sub.add_parser("checkpoint", help="write a signed checkpoint of every chain head (keep it as a CI "
                                "artifact)")
    _store_option(checkpoint)
    _signing_key_option(checkpoint)
    checkpoint.add_argument("--out", type=Path, required=True, help="checkpoint file to write")

    imp = sub.add_parser("import", help="load run record artifacts (annexa-record.json) into a store")
    imp.add_argument("files", nargs="+", type=Path)
    _store_option(imp)
    _signing_key_option(imp)
    _public_key_option(imp, "check each artifact's signature with this key")

    export = commands.add_parser("export", help="auditor evidence bundle (zip); `export verify FILE` checks one")
    export.add_argument("verify", nargs="*", metavar="verify FILE", help="check a bundle offline instead")
    export.add_argument("--from", dest="date_from", type=_date, help="first day (YYYY-MM-DD, UTC)")
    export.add_argument("--to", dest="date_to", type=_date, help="last day (YYYY-MM-DD, UTC, inclusive)")
    export.add_argument("--repo", action="append", help="only this repository (repeatable)")
    export.add_argument("--control", action="append", help="only this Annex A control, e.g. A.8.4 (repeatable)")
    export.add_argument("--out", type=Path, help="the bundle to write, e.g. evidence.zip")
    _store_option(export)
    _signing_key_option(export)
    _public_key_option(export, "(export verify) the key that must have signed the bundle")


def _store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--history", help=f"history store URL (default: $ANNEXA_HISTORY_URL or {DEFAULT_URL})")


def _signing_key_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--signing-key", type=Path, help="Ed25519 private key PEM (default: $ANNEXA_SIGNING_KEY)")


def _public_key_option(parser: argparse.ArgumentParser, text: str = "check signatures with this key") -> None:
    parser.add_argument("--public-key", type=Path, help=f"Ed25519 public key PEM: {text} (default: "
                        "$ANNEXA_PUBLIC_KEY)")


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def store_url(args: argparse.Namespace, env: Mapping[str, str]) -> str:
    """``--history``, else ``$ANNEXA_HISTORY_URL``, else the default SQLite file."""
    return str(getattr(args, "history", None) or env.get("ANNEXA_HISTORY_URL") or DEFAULT_URL)


def run(args: argparse.Namespace, out: Printer, env: Mapping[str, str] | None = None) -> int:
    """Run ``history ...`` or ``export ...``; the exit code (0 ok, 1 a problem found, 2 usage error)."""
    from annexa.history.signing import generate, load_signer
    from annexa.history.store import HistoryStore

    env = os.environ if env is None else env
    if args.command == "export":
        return _export(args, out, env)
    command = args.history_command
    if command == "verify":
        return _verify(args, out, env)
    if command == "keygen":
        private, public = args.out / "annexa-signing.key", args.out / "annexa-signing.pub"
        verifier = generate(private, public, force=args.force)
        out.print(f"wrote {private} (secret: keep it in CI secrets, never in the repository or the store) and "
                  f"{public}; key id {verifier.key_id}", markup=False)
        return EXIT_OK
    if command == "checkpoint":
        from annexa.history.checkpoint import make_checkpoint, write_checkpoint

        signer = load_signer(args.signing_key, env)
        store = HistoryStore(store_url(args, env), create=False)
        checkpoint = make_checkpoint(store, signer)
        write_checkpoint(args.out, checkpoint)
        signed = f"signed by key {signer.key_id}" if signer else "UNSIGNED (no --signing-key / $ANNEXA_SIGNING_KEY)"
        out.print(f"wrote checkpoint {args.out}: {len(checkpoint['heads'])} chain heads, {signed}", markup=False)
        return EXIT_OK
    if command == "import":
        return _import(args, out, env)
    raise AnnexaError(f"unknown history command {command}")


def _verify(args: argparse.Namespace, out: Printer, env: Mapping[str, str]) -> int:
    from annexa.history.checkpoint import check_checkpoint, read_checkpoint
    from annexa.history.signing import load_verifier
    from annexa.history.store import HistoryStore

    verifier = load_verifier(args.public_key, env)
    checkpoints = [read_checkpoint(p) for p in args.checkpoint or []]
    store = HistoryStore(store_url(args, env), create=False)
    count, problems = store.verify(verifier)
    for checkpoint in checkpoints:
        problems.extend(check_checkpoint(store, checkpoint, verifier))
    for problem in problems:
        out.print(f"broken: {problem}", markup=False)
    notes = []
    if verifier is None:
        notes.append("signatures not checked (no --public-key)")
    if not checkpoints:
        notes.append("no checkpoint: deletion of the newest records cannot be detected")
    tail = f" ({'; '.join(notes)})" if notes else ""
    out.print(f"{count} run records checked, {len(problems)} problems{tail}", markup=False)
    return EXIT_FAIL if problems else EXIT_OK


def _import(args: argparse.Namespace, out: Printer, env: Mapping[str, str]) -> int:
    from annexa.history.record import read_artifact
    from annexa.history.signing import load_signer, load_verifier
    from annexa.history.store import HistoryStore

    verifier = load_verifier(args.public_key, env)
    signer = load_signer(args.signing_key, env)
    bodies = [(path, read_artifact(path, verifier)) for path in args.files]
    bodies.sort(key=lambda item: (str(item[1]["report"]["run"]["started_at"]), str(item[1]["report"]["run"]["id"])))
    store = HistoryStore(store_url(args, env))
    added = skipped = 0
    for path, body in bodies:
        recorded = store.append(body, signer=signer)
        if recorded.duplicate:
            skipped += 1
            out.print(f"{path}: run {recorded.run_id} already stored as record {recorded.seq} of "
                      f"{recorded.repository}", markup=False)
        else:
            added += 1
            out.print(f"{path}: run {recorded.run_id} -> record {recorded.seq} of {recorded.repository}", markup=False)
    out.print(f"imported {added} run records, {skipped} already present", markup=False)
    return EXIT_OK


def _export(args: argparse.Namespace, out: Printer, env: Mapping[str, str]) -> int:
    from annexa.history.signing import load_signer, load_verifier
    from annexa.history.store import HistoryStore

    if args.verify:
        if args.verify[0] != "verify" or len(args.verify) != 2:
            raise AnnexaError("usage: annexa export verify FILE.zip [--public-key FILE]")
        from annexa.export.verify import verify_bundle

        verifier = load_verifier(args.public_key, env)
        checked, problems = verify_bundle(Path(args.verify[1]), verifier)
        for problem in problems:
            out.print(f"broken: {problem}", markup=False)
        note = "" if verifier else " (signature not checked: no --public-key)"
        out.print(f"{args.verify[1]}: {checked} files and records checked, {len(problems)} problems{note}",
                  markup=False)
        return EXIT_FAIL if problems else EXIT_OK
    missing = [flag for flag, value in (("--from", args.date_from), ("--to", args.date_to), ("--out", args.out))
               if value is None]
    if missing:
        raise AnnexaError(f"annexa export needs {', '.join(missing)}")
    if args.date_to < args.date_from:
        raise AnnexaError(f"--to {args.date_to} is before --from {args.date_from}")
    from annexa.export.bundle import ExportRequest, write_bundle

    signer = load_signer(args.signing_key, env)
    store = HistoryStore(store_url(args, env), create=False)
    request = ExportRequest(args.date_from, args.date_to, tuple(args.repo or ()), tuple(args.control or ()))
    summary = write_bundle(store, request, args.out, signer)
    signed = f"signed by key {signer.key_id}" if signer else "UNSIGNED (no --signing-key / $ANNEXA_SIGNING_KEY)"
    out.print(f"wrote {args.out}: {summary.runs} runs, {summary.findings} findings, {summary.controls} controls, "
              f"{signed}", markup=False)
    return EXIT_OK


# --- what `annexa check` and `annexa ci` call ------------------------------------------------------------


def run_context(env: Mapping[str, str], config_path: Path | None = None) -> RunContext:
    """Who and what started this run, read from the CI environment (GitHub Actions, GitLab CI) or the user."""
    from annexa.catalog import builtin_dir
    from annexa.history.record import RunContext, digest_files

    actor = env.get("GITHUB_ACTOR") or env.get("GITLAB_USER_LOGIN") or env.get("USER") or None
    trigger = env.get("GITHUB_EVENT_NAME") or env.get("CI_PIPELINE_SOURCE") or ("ci" if env.get("CI") else "manual")
    platform_run_id = None
    if env.get("GITHUB_RUN_ID"):
        platform_run_id = f"github:{env['GITHUB_RUN_ID']}/{env.get('GITHUB_RUN_ATTEMPT', '1')}"
    elif env.get("CI_JOB_ID"):
        platform_run_id = f"gitlab:{env.get('CI_PIPELINE_ID', '?')}/{env['CI_JOB_ID']}"
    config_digest = digest_files([config_path]) if config_path is not None else None
    catalog_digest = digest_files(builtin_dir("rules").glob("*.yml"))
    return RunContext(actor, trigger, platform_run_id, None, config_digest, catalog_digest)


def record_run(url: str, report: Report, env: Mapping[str, str], config_path: Path | None = None,
               signing_key: Path | None = None) -> str:
    """Append the run to the store at ``url`` (signed when a key is configured); a one-line message."""
    from annexa.history.record import finalise_body
    from annexa.history.signing import load_signer
    from annexa.history.store import HistoryStore

    signer = load_signer(signing_key, env)
    context = run_context(env, config_path)
    recorded = HistoryStore(url).append(finalise_body(report.to_json(), context), signer=signer)
    signed = f", head signed by {signer.key_id}" if signer else ""
    return f"annexa: recorded run {recorded.run_id} as record {recorded.seq} of {recorded.repository}{signed}"


def write_run_artifact(out_dir: Path, report: Report, env: Mapping[str, str], config_path: Path | None = None,
                       signing_key: Path | None = None) -> Path:
    """Write ``annexa-record.json`` (the record body and its digest) for CI to keep as a job artifact."""
    from annexa.history.record import ARTIFACT_NAME, finalise_body, write_artifact
    from annexa.history.signing import load_signer

    signer = load_signer(signing_key, env)
    body = finalise_body(report.to_json(), run_context(env, config_path))
    return write_artifact(out_dir / ARTIFACT_NAME, body, signer)


def after_ci(report: Report, history: str | None, args: argparse.Namespace, env: Mapping[str, str]) -> list[str]:
    """After ``annexa ci``: write the run record artifact, and append it to the store when one is configured."""
    out_dir = getattr(args, "output_dir", None) or Path(env.get("RUNNER_TEMP") or ".annexa") / "annexa"
    config = getattr(args, "config", None)
    signing_key = getattr(args, "signing_key", None)
    messages = [f"annexa: run record written to {write_run_artifact(out_dir, report, env, config, signing_key)}"]
    if history:
        messages.append(record_run(history, report, env, config, signing_key))
    return messages
