"""Rule documentation pages, generated from the catalog (the single source of truth)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from annexa.catalog import Policy, RuleSpec


def rule_page(spec: RuleSpec, required_by: list[tuple[Policy, str]] | None = None) -> str:
    """The Markdown page of one rule: what it does, why, how to fix, parameters, needs, examples."""
    lines = [
        f"# `{spec.id}`: {spec.title}",
        "",
        f"*Family:* {spec.family} · *Default severity:* {spec.severity.value} · "
        f"*Platforms:* {', '.join(spec.platforms)} · *In a pull request:* "
        + ("what the change adds" if spec.scope == "change" else "the whole repository, additions marked introduced"),
        "",
        "## What it checks",
        "",
        spec.question,
        "",
        "## Why it matters",
        "",
        spec.why,
        "",
        "## How to fix",
        "",
        spec.fix,
        "",
    ]
    if required_by:
        lines += ["## Required by", ""]
        lines += [f"- {p.title} (`{p.id}`): {', '.join(controls)}" for p, controls in required_by]
        lines.append("")
    lines += ["## What it needs", ""]
    needs = spec.needs
    lines.append(f"- Checkout: {'yes' if needs.get('checkout') else 'no'}")
    lines.append(f"- Repository settings (API or `--settings` snapshot): {'yes' if needs.get('settings') else 'no'}")
    lines.append(f"- Pull request context: {'yes' if needs.get('pull_request') else 'no'}")
    members = needs.get("owner_members")
    if members:
        when = f", when the change touches `{members['when_changed']}`" if members.get("when_changed") else ""
        lines.append(f"- Members of the owners' teams or groups (of the role the `{members['role_param']}` "
                     f"parameter names){when}")
    for platform, permission in needs.get("permissions", {}).items():
        lines.append(f"- {platform} permission: {permission}")
    for tool in needs.get("tools", []):
        lines.append(f"- Runs: {tool}")
    lines.append("")
    if spec.params:
        lines += ["## Parameters", "", "| name | default | meaning |", "|---|---|---|"]
        for name, param in spec.params.items():
            default = json.dumps(param.get("default"))
            lines.append(f"| `{name}` | `{default}` | {param['description']} |")
        lines.append("")
    if spec.examples:
        language = spec.examples.get("language", "")
        for label, key in (("Fails", "bad"), ("Passes", "good")):
            if key in spec.examples:
                lines += [f"## Example: {label.lower()}", "", f"```{language}", spec.examples[key].rstrip(), "```", ""]
    if spec.references:
        lines += ["## References", ""]
        lines += [f"- <{ref}>" for ref in spec.references]
        lines.append("")
    return "\n".join(lines)


def required_by(spec: RuleSpec, policies: list[Policy]) -> list[tuple[Policy, str]]:
    """Which policies require the rule, with the controls each cites."""
    found: list[tuple[Policy, str]] = []
    for policy in policies:
        for req in policy.requirements:
            if req.rule == spec.id:
                found.append((policy, ", ".join(req.controls)))
    return found


def index_page(catalog: Mapping[str, RuleSpec], implemented: set[str]) -> str:
    """The rule index: one row per rule, grouped by family."""
    lines = [
        "# annexa rules",
        "",
        "Generated from `rules/*.yml` by `annexa rules docs docs/rules`; do not edit by hand.",
        "",
        "| rule | family | severity | platforms | implemented |",
        "|---|---|---|---|---|",
    ]
    for spec in sorted(catalog.values(), key=lambda s: (s.family, s.id)):
        done = "yes" if spec.id in implemented else "planned"
        lines.append(
            f"| [`{spec.id}`]({spec.id}.md) | {spec.family} | {spec.severity.value} | "
            f"{', '.join(spec.platforms)} | {done} |"
        )
    return "\n".join(lines) + "\n"


def generate(catalog: Mapping[str, RuleSpec], policies: list[Policy], implemented: set[str]) -> dict[str, str]:
    """Every docs file by name: one page per rule plus ``README.md``."""
    pages = {f"{rule_id}.md": rule_page(spec, required_by(spec, policies)) for rule_id, spec in catalog.items()}
    pages["README.md"] = index_page(catalog, implemented)
    return pages
