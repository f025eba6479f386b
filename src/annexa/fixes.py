"""Finding-specific fix texts: a rule passes one as ``Result.fix`` so the report names what was found.

Pure functions of what a rule already knows (a secret's type, a workflow expression); no I/O. Every text is
whole sentences of markdown whose code spans are closed, so renderers can shorten it at a sentence boundary.
"""

from __future__ import annotations

import re

SECRET_VARIABLES: dict[str, str] = {
    "OpenAI API Key": "OPENAI_API_KEY",
    "OpenAI Token": "OPENAI_API_KEY",
    "Anthropic API Key": "ANTHROPIC_API_KEY",
    "Hugging Face Token": "HF_TOKEN",
    "Replicate API Token": "REPLICATE_API_TOKEN",
    "Weights & Biases API Key": "WANDB_API_KEY",
    "AWS Access Key": "AWS_SECRET_ACCESS_KEY",
    "GitHub Token": "GITHUB_TOKEN",
    "GitHub Fine-grained Token": "GITHUB_TOKEN",
    "GitLab Token": "GITLAB_TOKEN",
    "Slack Token": "SLACK_TOKEN",
    "Stripe Access Key": "STRIPE_API_KEY",
    "SendGrid API Key": "SENDGRID_API_KEY",
    "PyPI Token": "PYPI_TOKEN",
    "NPM tokens": "NPM_TOKEN",
}
"""The environment variable each provider's client conventionally reads, by detect-secrets secret type."""


def secret_fix(secret_type: str) -> str | None:
    """The fix for a committed secret of ``secret_type``, naming that provider's variable; ``None`` if generic."""
    variable = SECRET_VARIABLES.get(secret_type)
    if variable is None:
        return None
    return (f"Revoke this {secret_type} at its provider first (it is compromised once pushed). Remove it from the "
            f'change and read it from the environment or a secret manager: `os.environ["{variable}"]`, set from a '
            f"CI secret. If it is a test fixture and not a real credential, mark the line with "
            f"`# pragma: allowlist secret`.")


def injection_fix(expression: str, sink: str) -> str:
    """The fix for ``${{ expression }}`` expanded inside a ``run:`` script or ``github-script``: an ``env:`` entry."""
    body = expression.strip()
    if body.startswith("${{") and body.endswith("}}"):
        body = body[3:-2].strip()
    name = env_name(body)
    use = f"`process.env.{name}`" if sink == "github-script" else f'`"${name}"` (quoted)'
    return (f"Move the expression into the step's `env:` (`env: {name}: ${{{{ {body} }}}}`) and use {use} in the "
            f"script instead of `${{{{ {body} }}}}`; the shell then treats the text as data, not code.")


def env_name(expression: str) -> str:
    """An environment variable name for an expression: its last property (``github.event.issue.title`` → TITLE)."""
    refs = re.findall(r"[A-Za-z_][\w-]*(?:\.[A-Za-z_*][\w-]*)+", expression)
    last = (refs[0] if refs else expression).rsplit(".", 1)[-1]
    name = re.sub(r"\W", "_", last.replace("-", "_")).strip("_").upper() or "VALUE"
    return name if not name[0].isdigit() else f"V_{name}"
