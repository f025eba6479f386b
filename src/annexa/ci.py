"""``annexa ci``: the thin entry point over ``annexa.platforms``.

``run_ci`` detects GitHub Actions or GitLab CI and runs the one platform-neutral job of
``annexa.platforms.run`` on it: collect settings and the pull or merge request through the platform's API, check,
write the report files, publish (one comment or note updated in place; a check run or Code Quality and JUnit
artifacts). Nothing here prints or exits: ``cli.py`` prints ``CiOutcome.messages`` and exits with
``CiOutcome.exit_code``. The token is read from the environment only (never a command-line argument) and never
appears in a message.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Mapping
from pathlib import Path

from annexa.model import Severity
from annexa.platforms.github.context import PR_EVENTS, PULL_REQUEST_TARGET_REFUSAL, TOKEN_VARIABLES, ActionsContext
from annexa.platforms.run import EXIT_FAIL, EXIT_OK, branch_patterns
from annexa.platforms.run import RunOutcome as CiOutcome

__all__ = [
    "EXIT_FAIL", "EXIT_OK", "PR_EVENTS", "PULL_REQUEST_TARGET_REFUSAL", "TOKEN_VARIABLES", "ActionsContext",
    "CiOutcome", "add_arguments", "branch_patterns", "run_ci",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``annexa ci``."""
    parser.add_argument("--path", type=Path, help="the checkout (default: $GITHUB_WORKSPACE, $CI_PROJECT_DIR or .)")
    parser.add_argument("--config", type=Path, help="config file (default: .annexa.yml of the pull request's base "
                        "revision, so a pull request cannot loosen its own check); an explicit file is used as given")
    parser.add_argument("--policies", type=Path, action="append",
                        help="policy folder or file (repeatable; default: the config's, read from the base "
                             "revision); explicit ones are used as given")
    parser.add_argument("--fail-on", choices=[s.value for s in Severity], help="override the config's fail_on")
    parser.add_argument("--comment", action=argparse.BooleanOptionalAction, default=True,
                        help="post or update the report comment (pull request) or note (merge request) "
                             "(default: on)")
    parser.add_argument("--check-run", action=argparse.BooleanOptionalAction, default=True,
                        help="GitHub: create a check run with annotations on the changed lines (default: on)")
    parser.add_argument("--upload-sarif", action=argparse.BooleanOptionalAction, default=False,
                        help="upload the SARIF file to GitHub code scanning (needs security-events: write)")
    parser.add_argument("--output-dir", type=Path,
                        help="where report.json, report.md and the platform's artifacts go (default: "
                             "$RUNNER_TEMP/annexa on GitHub, $CI_PROJECT_DIR/annexa-report on GitLab)")
    parser.add_argument("--history", help="history store URL (default: $ANNEXA_HISTORY_URL)")


def run_ci(args: argparse.Namespace, env: Mapping[str, str], today: dt.date | None = None) -> CiOutcome:
    """Run ``annexa ci`` on the platform the job runs in; see the module docstring."""
    from annexa.platforms import run as platform_run

    return platform_run.run_ci(args, env, today=today)
