"""``annexa fix ruleset``: write (and with ``--apply``, apply) the settings that make a repository conform."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from annexa.errors import AnnexaError

TOKEN_VARIABLES = ("ANNEXA_GITHUB_TOKEN", "GITHUB_TOKEN")
GITLAB_TOKEN_VARIABLES = ("ANNEXA_GITLAB_TOKEN", "GITLAB_TOKEN")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``fix`` command and its ``ruleset`` sub-command."""
    commands = parser.add_subparsers(dest="fix_command", required=True, metavar="COMMAND")
    ruleset = commands.add_parser("ruleset", help="the ruleset / protected-branch settings that would conform")
    ruleset.add_argument("--repo", required=True, help="owner/name (GitHub) or group/project (GitLab)")
    ruleset.add_argument("--platform", choices=("github", "gitlab"), default="github")
    ruleset.add_argument("--path", type=Path, default=Path("."), help="checkout whose .annexa.yml and policies apply")
    ruleset.add_argument("--config", type=Path, help="config file (default: PATH/.annexa.yml)")
    ruleset.add_argument("--policies", type=Path, action="append", help="policy folder or file (repeatable)")
    ruleset.add_argument("--branch", help="GitLab: the protected branch (default: the project's default branch "
                                          "with --apply, else main)")
    ruleset.add_argument("--out", type=Path, help="write the JSON here (default: standard output)")
    ruleset.add_argument("--apply", action="store_true",
                         help="show the diff against the live settings, then apply them (GitHub: token from "
                              "ANNEXA_GITHUB_TOKEN or GITHUB_TOKEN with administration: write; GitLab: "
                              "ANNEXA_GITLAB_TOKEN or GITLAB_TOKEN, api scope, Maintainer)")
    ruleset.add_argument("--api-url", default=os.environ.get("GITHUB_API_URL", "https://api.github.com"))
    ruleset.add_argument("--gitlab-url", default=os.environ.get("CI_SERVER_URL") or "https://gitlab.com",
                         help="GitLab server (default: $CI_SERVER_URL or https://gitlab.com)")


def run(args: argparse.Namespace) -> tuple[str, list[str]]:
    """The JSON to write (or ``""`` when written to ``--out``) and messages for the user."""
    from annexa import fix
    from annexa.engine import load_inputs

    if not args.path.is_dir():  # else the shipped defaults would silently stand in for the repository's policies
        raise AnnexaError(f"--path {args.path}: not a directory (the checkout whose .annexa.yml and policies apply)")
    inputs = load_inputs(args.path, args.config, args.policies)
    want = fix.desired(inputs)
    gitlab_token = next((os.environ[v] for v in GITLAB_TOKEN_VARIABLES if os.environ.get(v)), None)
    if args.apply and args.platform == "gitlab" and not gitlab_token:
        raise AnnexaError("--apply needs a GitLab token with api scope (Maintainer) in ANNEXA_GITLAB_TOKEN or "
                          "GITLAB_TOKEN")
    branch = args.branch
    if branch is None and args.apply and args.platform == "gitlab" and gitlab_token:
        branch = fix.gitlab_default_branch(args.repo, gitlab_token, args.gitlab_url)
    payload = fix.github_ruleset(want) if args.platform == "github" else fix.gitlab_payload(want, branch or "main")
    text = json.dumps(payload, indent=2) + "\n"
    messages = [f"note: {n}" for n in fix.notes(want)]
    if args.apply and args.platform == "gitlab" and gitlab_token:

        def show(diff: str) -> None:
            sys.stdout.write(diff + "\n")
            sys.stdout.flush()

        done = fix.apply_gitlab(args.repo, payload, gitlab_token, args.gitlab_url, write=show)
        messages += [f"annexa: {args.repo}: {line}" for line in done.actions]
        messages += [f"annexa: {args.repo}: not applied: {line}" for line in done.skipped]
        if not done.actions and not done.skipped:
            messages.append(f"annexa: {args.repo}: settings unchanged (already as the policies require)")
    elif args.apply:
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
