"""The command line: the only place that parses arguments, prints and exits."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from annexa import __version__
from annexa import ci as ci_command
from annexa.catalog import builtin_dir, load_catalog, load_policies
from annexa.collect.checkout import Checkout
from annexa.collect.snapshot import load_snapshot
from annexa.config import CONFIG_NAME, STARTER_CONFIG
from annexa.docs import generate, rule_page
from annexa.engine import load_inputs, run_check
from annexa.errors import AnnexaError, InputError, InputErrors
from annexa.facts import Facts
from annexa.history import DEFAULT_URL, HistoryStore
from annexa.model import Severity
from annexa.platforms import run as platform_run
from annexa.platforms import snapshot as platform_snapshot
from annexa.report import Report, RunInfo
from annexa.rules import registry

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
FORMATS = ("text", "json", "markdown", "sarif", "codequality")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every command."""
    parser = argparse.ArgumentParser(
        prog="annexa", description="ISO 27001:2022 policies as code for AI repositories."
    )
    parser.add_argument("--version", action="version", version=f"annexa {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="check a checkout offline")
    check.add_argument("path", nargs="?", default=".", type=Path, help="the checkout (default: .)")
    check.add_argument("--base", help="git ref: only what the diff from REF adds counts as introduced")
    check.add_argument("--config", type=Path, help=f"config file (default: PATH/{CONFIG_NAME})")
    check.add_argument("--policies", type=Path, action="append", help="policy folder or file (repeatable)")
    check.add_argument("--settings", type=Path, help="JSON/YAML snapshot of repository settings")
    check.add_argument("--format", choices=FORMATS, default="text")
    check.add_argument("--output", type=Path, help="write the report here instead of standard output")
    check.add_argument("--fail-on", choices=[s.value for s in Severity], help="override the config's fail_on")
    check.add_argument("--history", help="record the run in this history store (default: $ANNEXA_HISTORY_URL)")

    ci = commands.add_parser("ci", help="inside GitHub Actions: check the pull request and publish the report")
    ci_command.add_arguments(ci)
    snapshot_cmd = commands.add_parser("settings", help="repository settings").add_subparsers(
        dest="settings_command", required=True, metavar="COMMAND").add_parser("snapshot", help="write --settings F")
    platform_snapshot.add_arguments(snapshot_cmd)

    policies = commands.add_parser("policies", help="policy authoring helpers")
    policy_commands = policies.add_subparsers(dest="policies_command", required=True, metavar="COMMAND")
    validate = policy_commands.add_parser("validate", help="validate policy files")
    validate.add_argument("dir", nargs="?", type=Path, help="policy folder or file (default: the shipped pack)")

    rules = commands.add_parser("rules", help="the rule catalog")
    rule_commands = rules.add_subparsers(dest="rules_command", required=True, metavar="COMMAND")
    rule_commands.add_parser("list", help="list every rule and where it can run")
    docs = rule_commands.add_parser("docs", help="generate the rule documentation pages")
    docs.add_argument("out", type=Path, help="output folder, e.g. docs/rules")

    history = commands.add_parser("history", help="the tamper-evident run history")
    history_commands = history.add_subparsers(dest="history_command", required=True, metavar="COMMAND")
    verify = history_commands.add_parser("verify", help="recompute the hash chains; exit 1 on any gap or edit")
    verify.add_argument("--history", help=f"history store URL (default: $ANNEXA_HISTORY_URL or {DEFAULT_URL})")

    explain = commands.add_parser("explain", help="explain one rule")
    explain.add_argument("rule")

    init = commands.add_parser("init", help=f"write a starter {CONFIG_NAME}")
    init.add_argument("path", nargs="?", default=".", type=Path)
    init.add_argument("--force", action="store_true", help="overwrite an existing config")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run annexa; returns (and, as a console script, exits with) 0 conformant, 1 failing, 2 usage error."""
    args = build_parser().parse_args(argv)
    out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        return _dispatch(args, out)
    except (InputErrors, InputError) as exc:
        errors = exc.errors if isinstance(exc, InputErrors) else [exc]
        for error in errors:
            err.print(f"error: {error}", markup=False)
        return EXIT_USAGE
    except AnnexaError as exc:
        err.print(f"error: {exc}", markup=False)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace, out: Console) -> int:
    if args.command == "check":
        return _check(args, out)
    if args.command == "settings":
        out.print(platform_snapshot.snapshot(args, os.environ), markup=False)
        return EXIT_OK
    if args.command == "ci":
        outcome = platform_run.run_ci(args, os.environ) or ci_command.run_ci(args, os.environ)
        for message in outcome.messages:
            out.print(message, markup=False)
        if outcome.history:
            out.print(_record(outcome.history, outcome.report), markup=False)
        return outcome.exit_code
    if args.command == "history":
        store = HistoryStore(args.history or os.environ.get("ANNEXA_HISTORY_URL") or DEFAULT_URL)
        count, problems = store.verify()
        for problem in problems:
            out.print(f"broken: {problem}", markup=False)
        out.print(f"{count} run records checked, {len(problems)} problems", markup=False)
        return EXIT_FAIL if problems else EXIT_OK
    if args.command == "policies":
        catalog = load_catalog()
        folder = args.dir or builtin_dir("policies")
        found = load_policies([folder], catalog, Path.cwd())
        out.print(f"{len(found)} policies valid: {', '.join(p.id for p in found)}", markup=False)
        return EXIT_OK
    if args.command == "rules":
        return _rules(args, out)
    if args.command == "explain":
        catalog = load_catalog()
        if args.rule not in catalog:
            raise AnnexaError(f"unknown rule {args.rule!r}; `annexa rules list` shows every rule")
        out.print(rule_page(catalog[args.rule]), markup=False)
        return EXIT_OK
    if args.command == "init":
        target = args.path / CONFIG_NAME
        if target.exists() and not args.force:
            raise AnnexaError(f"{target} already exists (use --force to overwrite)")
        target.write_text(STARTER_CONFIG, encoding="utf-8")
        out.print(f"wrote {target}", markup=False)
        return EXIT_OK
    raise AnnexaError(f"unknown command {args.command}")


def _check(args: argparse.Namespace, out: Console) -> int:
    from annexa.render import render

    root: Path = args.path
    if not root.is_dir():
        raise AnnexaError(f"{root}: not a directory")
    fail_on = Severity(args.fail_on) if args.fail_on else None
    inputs = load_inputs(root, args.config, args.policies, fail_on)
    checkout = Checkout(root)
    change = checkout.diff(args.base) if args.base else None
    settings = load_snapshot(args.settings) if args.settings else None
    facts = Facts(platform="local", checkout=checkout, change=change, settings=settings)
    run = RunInfo(
        id=str(uuid.uuid4()),
        started_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        platform="local",
        repository=checkout.repository_name(),
        ref=checkout.branch(),
        commit=checkout.head_commit(),
        pull_request=None,
        base=args.base,
    )
    report = run_check(inputs, facts, run)
    text = render(report, args.format)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        out.print(_one_line(report, args.output), markup=False)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    history = args.history or os.environ.get("ANNEXA_HISTORY_URL")
    if history:
        sys.stderr.write(_record(history, report) + "\n")
    return EXIT_FAIL if report.verdict == "fail" else EXIT_OK


def _record(url: str, report: Report) -> str:
    recorded = HistoryStore(url).record(report)
    return f"annexa: recorded run {recorded.run_id} as record {recorded.seq} of {recorded.repository}"


def _one_line(report: Report, path: Path) -> str:
    counts = ", ".join(f"{n} {status}" for status, n in report.summary.items() if n)
    return f"annexa: {report.verdict} ({counts}); report written to {path}"


def _rules(args: argparse.Namespace, out: Console) -> int:
    catalog = load_catalog()
    implemented = set(registry())
    if args.rules_command == "docs":
        policies = load_policies([builtin_dir("policies")], catalog)
        args.out.mkdir(parents=True, exist_ok=True)
        for name, page in generate(catalog, policies, implemented).items():
            (args.out / name).write_text(page, encoding="utf-8")
        out.print(f"wrote {len(catalog) + 1} pages to {args.out}", markup=False)
        return EXIT_OK
    table = Table("rule", "family", "severity", "offline", "needs", "status", box=None, pad_edge=False)
    for spec in sorted(catalog.values(), key=lambda s: (s.family, s.id)):
        needs = [k for k in ("settings", "pull_request") if spec.needs.get(k)] + list(spec.needs.get("tools", []))
        offline = "yes" if spec.offline and not spec.needs.get("pull_request") else "no"
        if spec.offline and spec.needs.get("settings"):
            offline = "with --settings"
        status = "implemented" if spec.id in implemented else "planned"
        table.add_row(spec.id, spec.family, spec.severity.value, offline, ", ".join(needs) or "-", status)
    out.print(table)
    return EXIT_OK


def console_main() -> None:
    """Entry point of the ``annexa`` console script."""
    if os.environ.get("ANNEXA_DEBUG"):
        sys.exit(main())
    try:
        sys.exit(main())
    except Exception as exc:
        print(f"annexa: internal error: {type(exc).__name__}: {exc} (set ANNEXA_DEBUG=1 for details)", file=sys.stderr)
        sys.exit(EXIT_USAGE)
