"""The command line: the only place that parses arguments, prints and exits."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from annexa import __version__
from annexa.catalog import builtin_dir, load_catalog, load_policies
from annexa.collect.base_revision import BaseRevision
from annexa.collect.checkout import Checkout
from annexa.collect.snapshot import load_snapshot
from annexa.config import CONFIG_NAME, STARTER_CONFIG
from annexa.docs import generate, rule_page
from annexa.engine import load_inputs, run_check
from annexa.errors import AnnexaError, InputError, InputErrors
from annexa.facts import Facts
from annexa.model import Severity
from annexa.redact import redact_text
from annexa.report import Report, RunInfo
from annexa.rules import registry
from annexa.safeio import check_usage, write_output

if TYPE_CHECKING:
    from rich.console import Console

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
FORMATS = ("text", "json", "markdown", "sarif", "codequality", "junit")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose arguments can be added when it is first used (``populate``).

    A sub-command whose options live in a heavy module (``annexa ci`` imports PyGithub, ``history`` SQLAlchemy)
    passes ``populate=`` to ``add_parser`` so that ``annexa check`` never imports them.
    """

    def __init__(self, *args: Any, populate: Callable[[argparse.ArgumentParser], None] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._populate = populate

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        if self._populate is not None:
            populate, self._populate = self._populate, None
            populate(self)
        return super().parse_known_args(args, namespace)


def _snapshot_arguments(parser: argparse.ArgumentParser) -> None:
    from annexa.platforms import snapshot as platform_snapshot

    platform_snapshot.add_arguments(parser)


def _ci_arguments(parser: argparse.ArgumentParser) -> None:
    from annexa import ci as ci_command

    ci_command.add_arguments(parser)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every command."""
    parser = _Parser(
        prog="annexa", description="ISO 27001:2022 policies as code for AI repositories."
    )
    parser.add_argument("--version", action="version", version=f"annexa {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="check a checkout offline")
    check.add_argument("path", nargs="?", default=".", type=Path, help="the checkout (default: .)")
    check.add_argument("--base", help="git ref: only what the diff from REF adds counts as introduced; config, "
                       "policies, waivers and secrets baseline are read from REF, not from the change")
    check.add_argument("--config", type=Path, help=f"config file (default: PATH/{CONFIG_NAME}, from REF with "
                       "--base); an explicit file is used as given")
    check.add_argument("--policies", type=Path, action="append", help="policy folder or file (repeatable); "
                       "used as given, even with --base")
    check.add_argument("--settings", type=Path, help="JSON/YAML snapshot of repository settings")
    check.add_argument("--format", choices=FORMATS, default="text")
    check.add_argument("--output", type=Path, help="write the report here instead of standard output")
    check.add_argument("--fail-on", choices=[s.value for s in Severity], help="override the config's fail_on")
    check.add_argument("--history", help="record the run in this history store (default: $ANNEXA_HISTORY_URL)")
    check.add_argument("--rule", action="append", metavar="ID",
                       help="list only this rule's findings in text/markdown (repeatable); the verdict and exit "
                            "code still follow the full run")
    check.add_argument("--min-severity", choices=[s.value for s in Severity], metavar="SEV",
                       help="list only findings at or above SEV in text/markdown; the verdict and exit code still "
                            "follow the full run")

    commands.add_parser("ci", help="inside GitHub Actions or GitLab CI: check the pull or merge request and "
                        "publish the report",
                        populate=_ci_arguments)
    settings_parser = commands.add_parser("settings", help="repository settings from the platform API")
    settings_parser.add_subparsers(dest="settings_command", required=True, metavar="COMMAND").add_parser(
        "snapshot", help="write the --settings file from the live API", populate=_snapshot_arguments)

    policies = commands.add_parser("policies", help="policy authoring helpers")
    policy_commands = policies.add_subparsers(dest="policies_command", required=True, metavar="COMMAND")
    validate = policy_commands.add_parser("validate", help="validate policy files")
    validate.add_argument("dir", nargs="?", type=Path,
                          help=f"policy folder or file (default: the policies {CONFIG_NAME} names, "
                               "else the shipped pack)")
    validate.add_argument("--config", type=Path, help=f"config naming the policies (default: ./{CONFIG_NAME})")

    rules = commands.add_parser("rules", help="the rule catalog")
    rule_commands = rules.add_subparsers(dest="rules_command", required=True, metavar="COMMAND")
    rule_commands.add_parser("list", help="list every rule and where it can run")
    docs = rule_commands.add_parser("docs", help="generate the rule documentation pages")
    docs.add_argument("out", type=Path, help="output folder, e.g. docs/rules")

    from annexa.history import cli as history_cli

    history_cli.add_commands(commands)

    dashboard = commands.add_parser("dashboard", help="write the self-contained HTML dashboard from the history")
    from annexa.dashboard import cli as dashboard_cli

    dashboard_cli.add_arguments(dashboard)

    org_scan = commands.add_parser("org-scan", help="scan every repository of a GitHub organisation or GitLab group")
    from annexa.orgscan import cli as org_cli

    org_cli.add_arguments(org_scan)

    fix = commands.add_parser("fix", help="settings that would make a repository conform")
    from annexa import fix_cli

    fix_cli.add_arguments(fix)

    explain = commands.add_parser("explain", help="explain one rule")
    explain.add_argument("rule")

    init = commands.add_parser("init", help=f"write a starter {CONFIG_NAME}")
    init.add_argument("path", nargs="?", default=".", type=Path)
    init.add_argument("--force", action="store_true", help="overwrite an existing config")
    return parser


class _LazyConsole:
    """A rich ``Console`` made on first use: ``check`` writes its report itself and needs no console."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return getattr(self._console, name)


def _console(**options: Any) -> Console:
    return cast("Console", _LazyConsole(**options))


def main(argv: Sequence[str] | None = None) -> int:
    """Run annexa; returns (and, as a console script, exits with) 0 conformant, 1 failing, 2 usage error."""
    args = build_parser().parse_args(argv)
    out = _console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160, emoji=False)
    err = _console(stderr=True, highlight=False, soft_wrap=True, emoji=False, markup=False)
    try:
        return _dispatch(args, out)
    except (InputErrors, InputError) as exc:
        errors = exc.errors if isinstance(exc, InputErrors) else [exc]
        for error in errors:
            err.print(f"error: {redact_text(str(error))}", markup=False, emoji=False)
        return EXIT_USAGE
    except AnnexaError as exc:
        err.print(f"error: {redact_text(str(exc))}", markup=False, emoji=False)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace, out: Console) -> int:
    if args.command == "check":
        return _check(args, out)
    if args.command == "settings":
        from annexa.platforms import snapshot as platform_snapshot

        out.print(platform_snapshot.snapshot(args, os.environ), markup=False)
        return EXIT_OK
    if args.command == "ci":
        from annexa import ci as ci_command

        outcome = ci_command.run_ci(args, os.environ)
        for message in outcome.messages:
            out.print(message, markup=False)
        from annexa.history import cli as history_cli

        if getattr(args, "output_dir", None) is None and "report-json" in outcome.files:
            args.output_dir = outcome.files["report-json"].parent  # the platform's artifact folder
        for message in history_cli.after_ci(outcome.report, outcome.history, args, os.environ):
            out.print(message, markup=False)
        return outcome.exit_code
    if args.command in ("history", "export"):
        from annexa.history import cli as history_cli

        return history_cli.run(args, out)
    if args.command == "policies":
        catalog = load_catalog()
        found = load_policies(_policy_folders(args), catalog, Path.cwd(), strict=True)
        out.print(f"{len(found)} policies valid: {', '.join(p.id for p in found)}", markup=False)
        return EXIT_OK
    if args.command == "rules":
        return _rules(args, out)
    if args.command == "org-scan":
        return _org_scan(args, out)
    if args.command == "fix":
        from annexa import fix_cli

        text, messages = fix_cli.run(args)
        sys.stdout.write(text)
        for message in messages:
            out.print(message, markup=False)
        return EXIT_OK
    if args.command == "dashboard":
        from annexa.dashboard import cli as dashboard_cli

        out.print(dashboard_cli.run(args), markup=False)
        return EXIT_OK
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


def _policy_folders(args: argparse.Namespace) -> list[Path]:
    """What ``policies validate`` checks: the folder given, else what the config names, else the shipped pack."""
    if args.dir:
        return [args.dir]
    config_path = args.config or Path.cwd() / CONFIG_NAME
    if args.config is None and not config_path.exists():
        return [builtin_dir("policies")]
    from annexa.config import load_config

    config = load_config(config_path, str(args.config) if args.config else CONFIG_NAME)
    base = config_path.parent
    return [builtin_dir("policies") if p == "builtin" else base / p for p in config.policies]


def _check(args: argparse.Namespace, out: Console) -> int:
    from annexa.render import render

    root: Path = args.path
    if not root.is_dir():
        raise AnnexaError(f"{root}: not a directory")
    check_usage(args.base, args.output)
    fail_on = Severity(args.fail_on) if args.fail_on else None
    checkout = Checkout(root)
    change = checkout.diff(args.base) if args.base else None
    base = BaseRevision.open(checkout.root, args.base) if args.base else None
    inputs = load_inputs(root, args.config, args.policies, fail_on, base)
    settings = load_snapshot(args.settings) if args.settings else None
    # a snapshot says which platform its settings are from: rules that platform cannot answer are not_applicable
    platform = settings.platform if settings is not None and settings.platform in ("github", "gitlab") else "local"
    facts = Facts(platform=platform, checkout=checkout, change=change, settings=settings, base=base)
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
    unknown_rules = sorted(set(args.rule or ()) - set(inputs.catalog))
    if unknown_rules:
        raise AnnexaError(f"--rule {', '.join(unknown_rules)}: unknown rule id (see `annexa rules list`)")
    report = run_check(inputs, facts, run)
    text = render(report, args.format, **_render_options(args))
    if (args.rule or args.min_severity) and args.format not in ("text", "markdown"):
        sys.stderr.write(f"annexa: --rule/--min-severity narrow text and markdown only; {args.format} keeps every "
                         "finding\n")
    if args.output:
        write_output(args.output, text)
        sys.stdout.write(_one_line(report, args.output) + "\n")
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    history = args.history or os.environ.get("ANNEXA_HISTORY_URL")
    if history:
        sys.stderr.write(_record(history, report, args.config or root / CONFIG_NAME) + "\n")
    return EXIT_FAIL if report.verdict == "fail" else EXIT_OK


def _org_scan(args: argparse.Namespace, out: Console) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from annexa.orgscan import cli as org_cli

    err = Console(stderr=True, highlight=False)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
               TextColumn("{task.fields[rate]}"))
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task("scanning", total=None, rate="")

        def progress(name: str, done: int, total: int, rate: int | None) -> None:
            bar.update(task, completed=done, total=total, description=name[-40:],
                       rate="" if rate is None else f"rate limit left {rate}")

        lines = org_cli.run(args, progress)
    for line in lines:
        out.print(line, markup=False)
    return EXIT_OK


def _render_options(args: argparse.Namespace) -> dict[str, Any]:
    """Terminal width and colour for ``text``; the output filter for ``text`` and ``markdown``.

    Machine formats (json, sarif, codequality) always keep every finding: ``--rule``/``--min-severity`` narrow
    only what a person reads, and the output says how many blocking failures the filter hides.
    """
    from annexa.render.view import Filter

    options: dict[str, Any] = {}
    if args.format in ("text", "markdown"):
        min_severity = Severity(args.min_severity) if args.min_severity else None
        options["only"] = Filter(frozenset(args.rule or ()), min_severity)
    if args.format == "text":
        tty = args.output is None and sys.stdout.isatty()
        options["width"] = max(shutil.get_terminal_size((100, 24)).columns, 40) if tty else 100
        options["color"] = tty and not os.environ.get("NO_COLOR")
    return options


def _record(url: str, report: Report, config: Path | None = None) -> str:
    from annexa.history import cli as history_cli

    return history_cli.record_run(url, report, os.environ, config)


def _one_line(report: Report, path: Path) -> str:
    counts = ", ".join(f"{n} {status}" for status, n in report.summary.items() if n)
    return f"annexa: {report.verdict} ({counts}); report written to {path}"


def _rules(args: argparse.Namespace, out: Console) -> int:
    from rich.table import Table

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
        detail = redact_text(f"{type(exc).__name__}: {exc}")
        print(f"annexa: internal error: {detail} (set ANNEXA_DEBUG=1 for details)", file=sys.stderr)
        sys.exit(EXIT_USAGE)
