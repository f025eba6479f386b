"""``annexa fix ruleset``: write (and with ``--apply``, apply) the settings that make a repository conform."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from annexa.errors import AnnexaError

TOKEN_VARIABLES = ("ANNEXA_GITHUB_TOKEN", "GITHUB_TOKEN")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``fix`` command and its ``ruleset`` sub-command."""
    commands = parser.add_subparsers(dest="fix_command", required=True, metavar="COMMAND")
    ruleset = commands.add_parser("ruleset", help="the ruleset / protected-branch settings that would conform")
    ruleset.add_argument("--repo", required=True, help="owner/name (GitHub) or group/project (GitLab)")
    ruleset.add_argument("--platform", choices=("github", "gitlab"), default="github")
    ruleset.add_argument("--path", type=Path, default=Path("."), help="checkout whose .annexa.yml and policies apply")
    ruleset.add_argument("--config", type=Path, help="config file (default: PATH/.annexa.yml)")
    ruleset.add_argument("--policies", type=Path, action="append", help="policy folder or file (repeatable)")
    ruleset.add_argument("--branch", default="main", help="GitLab: the protected branch (default: main)")
    ruleset.add_argument("--out", type=Path, help="write the JSON here (default: standard output)")
    ruleset.add_argument("--apply", action="store_true",
                         help="GitHub: show the diff against the repository's ruleset, then create or update it "
                              "(token from ANNEXA_GITHUB_TOKEN or GITHUB_TOKEN, needs administration: write)")
    ruleset.add_argument("--api-url", default=os.environ.get("GITHUB_API_URL", "https://api.github.com"))


def run(args: argparse.Namespace) -> tuple[str, list[str]]:
    """The JSON to write (or ``""`` when written to ``--out``) and messages for the user."""
    from annexa import fix
    from annexa.engine import load_inputs

    inputs = load_inputs(args.path, args.config, args.policies)
    want = fix.desired(inputs)
    payload = fix.github_ruleset(want) if args.platform == "github" else fix.gitlab_payload(want, args.branch)
    text = json.dumps(payload, indent=2) + "\n"
    messages = [f"note: {n}" for n in fix.notes(want)]
    if args.apply:
        if args.platform != "github":
            raise AnnexaError("--apply is available for GitHub; for GitLab send the payloads shown to each endpoint")
        token = next((os.environ[v] for v in TOKEN_VARIABLES if os.environ.get(v)), None)
        if not token:
            raise AnnexaError("--apply needs a token with administration: write in ANNEXA_GITHUB_TOKEN or GITHUB_TOKEN")
        applied = fix.apply_github(args.repo, payload, token, args.api_url)
        if applied.diff:
            messages.append(applied.diff)
        messages.append(f"annexa: ruleset {applied.action} on {args.repo} (id {applied.ruleset_id})")
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        messages.append(f"annexa: wrote {args.out}; nothing was applied" if not args.apply else
                        f"annexa: wrote {args.out}")
        return "", messages
    return text, messages
