"""The catalog, the registry, the policies, the tests and the docs agree with each other."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from annexa.catalog import builtin_dir, load_catalog, load_policies
from annexa.docs import generate
from annexa.rules import registry

ROOT = Path(__file__).parents[1]
CATALOG = load_catalog()

DESIGN_RULE_IDS = [
    "branch-protected", "force-push-blocked", "deletion-blocked", "pull-request-required", "approvals-required",
    "code-owner-review-required", "stale-approvals-dismissed", "author-approval-blocked", "admins-cannot-bypass",
    "status-checks-required", "signed-commits-required", "codeowners-valid", "sensitive-paths-owned",
    "repository-not-public", "secret-scanning-enabled", "secret-push-protection-enabled", "no-secrets-in-change",
    "workflow-permissions-scoped", "actions-pinned", "untrusted-checkout-blocked", "script-injection-blocked",
    "security-checks-in-ci", "torch-load-unsafe", "unsafe-deserialization", "yaml-unsafe-load",
    "tls-verification-disabled", "llm-output-executed", "langchain-dangerous-option", "weights-in-lfs",
    "weights-lfs-attributes", "weights-codeowned", "weights-owner-approved", "weights-safe-format",
    "weights-not-public", "remote-code-disabled", "model-revision-pinned", "training-data-pii-free",
    "dataset-card-present", "policy-approved", "policy-reviewed", "waivers-valid",
]


def test_every_design_rule_id_is_in_the_catalog() -> None:
    assert sorted(set(DESIGN_RULE_IDS) - set(CATALOG)) == []


def test_the_shipped_rules_read_by_libyaml_alone_are_what_the_full_reader_gives() -> None:
    from annexa.yamlio import load_document

    paths = sorted(builtin_dir("rules").glob("*.yml"))
    assert len(paths) == len(CATALOG)
    for path in paths:
        fast, full = load_document(path, path.name, shipped=True), load_document(path, path.name)
        assert (fast.data, fast.sha256) == (full.data, full.sha256), path.name
        assert fast.lines == {} and full.lines[("id",)] == 1


def test_the_stored_rules_json_is_current_and_is_what_the_yaml_says() -> None:
    from annexa.catalog import _shipped_data
    from annexa.yamlio import load_document

    paths = sorted(builtin_dir("rules").glob("*.yml"))
    stored = _shipped_data(paths)
    assert stored, "stale: run `python -m annexa.catalog` after editing a rule file"
    fresh = {p.name: load_document(p, p.name).data for p in paths}
    assert json.dumps(stored) == json.dumps(fresh)  # the same data in the same order (the docs follow it)


def test_a_stale_rules_json_is_not_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from annexa import catalog

    stale = tmp_path / "rules.json"
    stale.write_text('{"digest": "0", "rules": {"x.yml": {}}}', encoding="utf-8")
    monkeypatch.setattr(catalog, "SHIPPED_RULES_JSON", stale)
    assert catalog._shipped_data(sorted(builtin_dir("rules").glob("*.yml"))) == {}
    catalog._load_catalog.cache_clear()
    try:
        assert catalog.load_catalog() == CATALOG
    finally:
        catalog._load_catalog.cache_clear()


def test_registry_and_catalog_match() -> None:
    implemented = set(registry())
    assert sorted(implemented - set(CATALOG)) == [], "registered rules without a catalog entry"
    assert sorted(set(CATALOG) - implemented) == [], "catalog rules without an implementation"


def test_every_family_module_holds_only_its_family() -> None:
    from annexa.rules import FAMILIES

    for module in FAMILIES:
        family = module.__name__.rsplit(".", 1)[1]
        for rule_id in module.RULES:
            assert CATALOG[rule_id].family == family, rule_id


def test_every_rule_is_required_by_a_shipped_policy() -> None:
    policies = load_policies([builtin_dir("policies")], CATALOG)
    required = {req.rule for p in policies for req in p.requirements}
    assert sorted(set(CATALOG) - required) == []


@pytest.mark.parametrize("rule_id", sorted(CATALOG))
def test_every_rule_is_exercised_by_a_rule_test(rule_id: str) -> None:
    pattern = re.compile(rf"[\"']{re.escape(rule_id)}[\"']")
    sources = [p for p in (ROOT / "tests").rglob("test_*.py") if p.name != Path(__file__).name]
    assert any(pattern.search(p.read_text(encoding="utf-8")) for p in sources), f"no test names {rule_id}"


def test_rule_docs_are_generated_from_the_catalog() -> None:
    policies = load_policies([builtin_dir("policies")], CATALOG)
    pages = generate(CATALOG, policies, set(registry()))
    docs = ROOT / "docs" / "rules"
    stale = [name for name, page in pages.items() if not (docs / name).exists()
             or (docs / name).read_text(encoding="utf-8") != page]
    extra = sorted(p.name for p in docs.glob("*.md") if p.name not in pages)
    assert (stale, extra) == ([], []), "run `annexa rules docs docs/rules` and commit the result"


def test_shipped_rules_and_policies_match_their_schemas() -> None:
    """At run time the shipped catalog and pack skip JSON Schema validation (start-up); this test is the check."""
    from annexa.yamlio import load_document, validate

    for name, schema in (("rules", "rule.schema.json"), ("policies", "policy.schema.json")):
        files = sorted(builtin_dir(name).glob("*.yml"))
        assert files
        for path in files:
            validate(load_document(path), schema)
