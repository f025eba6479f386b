"""detect-secrets plugins for the credentials AI teams leak most, written for annexa.

detect-secrets loads these from this file by path (``{"name": ..., "path": "file://..."}``); each class is a
``RegexBasedDetector`` whose pattern captures the secret value only (the caller hashes it, never prints it).
Formats follow each vendor's documented token prefix; lengths are deliberately a little lenient.
"""

from __future__ import annotations

import re

from detect_secrets.plugins.base import RegexBasedDetector


class HuggingFaceTokenDetector(RegexBasedDetector):
    """Hugging Face user access tokens (``hf_``) and legacy organisation tokens (``api_org_``)."""

    secret_type = "Hugging Face Token"
    denylist = (re.compile(r"(?<![A-Za-z0-9_])((?:hf|api_org)_[A-Za-z0-9]{30,40})(?![A-Za-z0-9_])"),)


class OpenAIKeyDetector(RegexBasedDetector):
    """OpenAI project, service-account, admin and legacy user keys (``sk-proj-``, ``sk-svcacct-``, ``sk-``)."""

    secret_type = "OpenAI API Key"
    denylist = (
        re.compile(r"(?<![A-Za-z0-9_-])(sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{40,250})(?![A-Za-z0-9_-])"),
        re.compile(r"(?<![A-Za-z0-9_-])(sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})(?![A-Za-z0-9_-])"),
        re.compile(r"(?<![A-Za-z0-9_-])(sk-[A-Za-z0-9]{48})(?![A-Za-z0-9_-])"),
    )


class AnthropicKeyDetector(RegexBasedDetector):
    """Anthropic API and admin keys (``sk-ant-api03-``, ``sk-ant-admin01-``)."""

    secret_type = "Anthropic API Key"
    denylist = (re.compile(r"(?<![A-Za-z0-9_-])(sk-ant-[a-z]{3,6}\d{2}-[A-Za-z0-9_-]{80,120})(?![A-Za-z0-9_-])"),)


class GitHubFineGrainedTokenDetector(RegexBasedDetector):
    """GitHub fine-grained personal access tokens (``github_pat_``); classic ``ghp_`` is a default plugin."""

    secret_type = "GitHub Fine-grained Token"
    denylist = (re.compile(r"(?<![A-Za-z0-9_])(github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{50,70})(?![A-Za-z0-9_])"),)


class ReplicateTokenDetector(RegexBasedDetector):
    """Replicate API tokens (``r8_``)."""

    secret_type = "Replicate API Token"
    denylist = (re.compile(r"(?<![A-Za-z0-9_])(r8_[A-Za-z0-9]{37})(?![A-Za-z0-9_])"),)


class WandbKeyDetector(RegexBasedDetector):
    """Weights & Biases API keys: 40 hex digits assigned to a W&B key name or passed to ``wandb.login``."""

    secret_type = "Weights & Biases API Key"
    denylist = (
        re.compile(r"(?i)wandb[_.-]?(?:api[_-]?)?key[\"']?\s*(?::=|=>|[:=])\s*[\"']?([0-9a-f]{40})(?![0-9a-f])"),
        re.compile(r"(?i)wandb\.login\([^)]*?key\s*=\s*[\"']([0-9a-f]{40})[\"']"),
    )


class GoogleCloudKeyDetector(RegexBasedDetector):
    """Google Cloud service-account key files (``private_key_id``) and Google API keys (``AIza``)."""

    secret_type = "Google Cloud Key"
    denylist = (
        re.compile(r"\"private_key_id\"\s*:\s*\"([0-9a-f]{40})\""),
        re.compile(r"(?<![A-Za-z0-9_-])(AIza[0-9A-Za-z_-]{35})(?![A-Za-z0-9_-])"),
    )


class AWSSecretKeyDetector(RegexBasedDetector):
    """AWS secret access keys: 40 base64 characters assigned to ``aws_secret_access_key`` (credentials and config
    files, environment variables), quoted or not; detect-secrets' own AWS pattern needs quotes."""

    secret_type = "AWS Secret Access Key"
    denylist = (
        re.compile(r"(?i)aws_?secret_?access_?key[\"']?\s*(?::=|=>|[:=])\s*[\"']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"),
    )


ANNEXA_PLUGINS = (
    HuggingFaceTokenDetector,
    OpenAIKeyDetector,
    AnthropicKeyDetector,
    GitHubFineGrainedTokenDetector,
    ReplicateTokenDetector,
    WandbKeyDetector,
    GoogleCloudKeyDetector,
    AWSSecretKeyDetector,
)
"""Every plugin of this module, for the scanner's settings."""
