"""The one canonical report every renderer test renders, built in code.

It holds every status and every severity, ``introduced`` true/false/null, a waived finding, unknowns with
``needs``, a repository-level finding, a finding required by two policies, a message with ``|`` and ``<script>``,
and evidence with a secret-looking key (``SECRET``) that no renderer may print.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from annexa.catalog import RuleSpec
from annexa.model import Finding, Location, Severity, Status, fingerprint
from annexa.report import PolicyStatus, Report, RequirementStatus, RunInfo, control_statuses

GOLDEN = Path(__file__).parent / "golden"

SECRET = "s3cr3t-DO-NOT-RENDER-7f1c"
"""Placed in evidence under secret-looking keys; must appear in no rendered output."""

HOSTILE = "uses: evil/act@main | not pinned <script>alert(1)</script> *bold* [link](x)"


def _spec(rule: str, family: str, title: str, question: str, why: str, fix: str, severity: Severity) -> RuleSpec:
    return RuleSpec(
        id=rule, title=title, family=family, question=question, why=why, fix=fix, severity=severity,
        platforms=("local", "github", "gitlab"), needs={}, params={},
        references=(f"https://example.invalid/docs/{rule}",), examples={}, semgrep=None,
    )


SPECS = {
    s.id: s
    for s in (
        _spec("no-secrets-in-change", "content", "No secrets are added by the change",
              "Does the change add a credential, token or private key?",
              "A secret in git is readable by everyone with read access, forever (ISO 27001:2022 A.5.17, A.8.12).",
              "Revoke the credential at its issuer first. Then remove it from the change and load it from the "
              "CI secret store.", Severity.CRITICAL),
        _spec("weights-in-lfs", "lfs", "Model weight files are stored in Git LFS",
              "Is every model weight file a Git LFS pointer?",
              "Raw weights in git are copied to every clone (ISO 27001:2022 A.8.3, A.5.15).",
              "Track the format with `git lfs track \"*.safetensors\"` and migrate the file with "
              "`git lfs migrate import`. Remove the raw blob from history if the repository was shared.",
              Severity.HIGH),
        _spec("branch-protected", "settings", "The default branch is protected",
              "Is the default branch protected by branch protection or an active ruleset?",
              "Unprotected branches accept any push (ISO 27001:2022 A.8.4, A.8.32).",
              "Add a ruleset targeting the default branch with enforcement active. Protect it in every fork.",
              Severity.HIGH),
        _spec("actions-pinned", "workflows", "Third-party actions are pinned to a commit",
              "Does every `uses:` of a third-party action name a full commit SHA?",
              "A tag can be moved to malicious code (ISO 27001:2022 A.8.28, A.5.21).",
              "Replace the tag with the full 40-character commit SHA and keep the tag in a comment.",
              Severity.MEDIUM),
        _spec("dataset-card-present", "data", "Training data sets have a dataset card",
              "Does every training data folder have a dataset card?",
              "A card records provenance and PII handling (ISO 27001:2022 A.5.34).",
              "Add a README.md dataset card with source, licence and PII handling.", Severity.LOW),
        _spec("model-revision-pinned", "model", "Hub models are loaded at a pinned revision",
              "Does every `from_pretrained` call pass a commit `revision`?",
              "A moving revision can change the model under you (ISO 27001:2022 A.5.21).",
              "Pass `revision=` with a commit hash.", Severity.INFO),
        _spec("secret-scanning-enabled", "settings", "Secret scanning is enabled",
              "Is secret scanning enabled for the repository?",
              "Secret scanning finds leaked credentials (ISO 27001:2022 A.8.12).",
              "Enable secret scanning in the repository's security settings.", Severity.MEDIUM),
        _spec("codeowners-valid", "ownership", "CODEOWNERS is valid",
              "Does CODEOWNERS parse and name existing owners?",
              "Broken CODEOWNERS silently removes required reviews (ISO 27001:2022 A.5.15).",
              "Fix the lines that GitHub reports as errors.", Severity.HIGH),
        _spec("policy-reviewed", "governance", "Policies were reviewed on time",
              "Was every policy reviewed within its review interval?",
              "Policies must be reviewed at planned intervals (ISO 27001:2022 A.5.1).",
              "Review the policy and bump its approved_on date.", Severity.MEDIUM),
        _spec("training-data-pii-free", "data", "Training data holds no unmasked PII",
              "Do training data files contain unmasked personal data?",
              "PII must be masked (ISO 27001:2022 A.8.11).",
              "Mask or remove the personal data.", Severity.LOW),
    )
}


def _finding(
    rule: str,
    status: Status,
    severity: Severity,
    message: str,
    location: Location | None,
    controls: tuple[str, ...],
    policies: tuple[str, ...],
    introduced: bool | None,
    evidence: dict[str, object] | None = None,
) -> Finding:
    return Finding(
        rule=rule, status=status, severity=severity, message=message, location=location, controls=controls,
        policies=policies, introduced=introduced, fingerprint=fingerprint(rule, location, message),
        evidence=evidence or {}, remediation=SPECS[rule].fix,
    )


SCP, MAP, SDP, GOV = "source-code-protection", "model-access", "secure-development", "policy-governance"

FINDINGS = (
    _finding("no-secrets-in-change", Status.FAIL, Severity.CRITICAL,
             "A GitHub token is added on line 12", Location("src/train.py", 12, 12),
             ("A.5.17", "A.8.12"), (SDP,), True,
             {"detector": "GitHubTokenDetector", "api_token": SECRET, "nested": {"password": SECRET}}),
    _finding("weights-in-lfs", Status.FAIL, Severity.HIGH,
             "models/classifier.safetensors is 1.3 GB of raw bytes, not a Git LFS pointer",
             Location("models/classifier.safetensors"), ("A.5.15", "A.8.3"), (MAP, SCP), True,
             {"size": 1342177280}),
    _finding("branch-protected", Status.FAIL, Severity.HIGH,
             "The default branch main is not protected", None, ("A.8.4", "A.8.32"), (SCP,), False,
             {"value": False, "source": "classic branch protection"}),
    _finding("actions-pinned", Status.FAIL, Severity.MEDIUM, HOSTILE,
             Location(".github/workflows/ci.yml", 14, 14), ("A.5.21", "A.8.28"), (SDP,), False),
    _finding("dataset-card-present", Status.FAIL, Severity.LOW,
             "datasets/faces has no dataset card", Location("datasets/faces/data.csv"), ("A.5.34",), (MAP,), None),
    _finding("model-revision-pinned", Status.FAIL, Severity.INFO,
             "from_pretrained('acme/encoder') has no revision", Location("src/load.py", 3), ("A.5.21",), (MAP,),
             True),
    _finding("secret-scanning-enabled", Status.UNKNOWN, Severity.MEDIUM,
             "Secret scanning status could not be read", None, ("A.8.12",), (SDP,), False,
             {"needs": "a token of a repository admin or security manager (security_and_analysis is hidden)"}),
    _finding("codeowners-valid", Status.UNKNOWN, Severity.HIGH,
             "CODEOWNERS could not be read: symlink leaves the checkout", Location(".github/CODEOWNERS"),
             ("A.5.15",), (SCP,), False, {"needs": "a readable file", "token": SECRET}),
    _finding("actions-pinned", Status.WAIVED, Severity.MEDIUM,
             "vendor/legacy-action@v1 is not pinned to a commit", Location(".github/workflows/legacy.yml", 7),
             ("A.5.21", "A.8.28"), (SDP,), False,
             {"waiver": {"ticket": "SEC-123", "expires": "2027-03-31", "approved_by": "@alice",
                         "requested_by": "@bob", "risk": "low",
                         "justification": "vendor action has no releases; reviewed manually"}}),
    _finding("weights-in-lfs", Status.PASS, Severity.HIGH,
             "models/encoder.safetensors is a Git LFS pointer", Location("models/encoder.safetensors"),
             ("A.5.15", "A.8.3"), (MAP, SCP), False, {"oid": "sha256:4d7a2146"}),
    _finding("policy-reviewed", Status.PASS, Severity.MEDIUM,
             "Policy source-code-protection was reviewed on 2026-05-02", Location("policies/source-code.yml", 4),
             ("A.5.1",), (GOV,), False),
    _finding("training-data-pii-free", Status.NOT_APPLICABLE, Severity.LOW,
             "No training data files", None, ("A.8.11",), (MAP,), False),
)


def _requirement(rule: str, severity: Severity, controls: tuple[str, ...], status: Status) -> RequirementStatus:
    return RequirementStatus(rule, severity, controls, status, SPECS[rule].title)


POLICIES = (
    PolicyStatus(SCP, "Source Code Protection", "1.2", "sha256:" + "a" * 64, "@acme/security", Status.FAIL, (
        _requirement("branch-protected", Severity.HIGH, ("A.8.4", "A.8.32"), Status.FAIL),
        _requirement("codeowners-valid", Severity.HIGH, ("A.5.15",), Status.UNKNOWN),
        _requirement("weights-in-lfs", Severity.HIGH, ("A.5.15", "A.8.3"), Status.FAIL),
    )),
    PolicyStatus(SDP, "Secure Development", "2.0", "sha256:" + "b" * 64, "@acme/security", Status.FAIL, (
        _requirement("no-secrets-in-change", Severity.CRITICAL, ("A.5.17", "A.8.12"), Status.FAIL),
        _requirement("actions-pinned", Severity.MEDIUM, ("A.8.28", "A.5.21"), Status.FAIL),
        _requirement("secret-scanning-enabled", Severity.MEDIUM, ("A.8.12",), Status.UNKNOWN),
    )),
    PolicyStatus(MAP, "Model Access | Data", "1.0", "sha256:" + "c" * 64, "@acme/ml", Status.FAIL, (
        _requirement("weights-in-lfs", Severity.HIGH, ("A.5.15", "A.8.3"), Status.FAIL),
        _requirement("model-revision-pinned", Severity.INFO, ("A.5.21",), Status.FAIL),
        _requirement("dataset-card-present", Severity.LOW, ("A.5.34",), Status.FAIL),
        _requirement("training-data-pii-free", Severity.LOW, ("A.8.11",), Status.NOT_APPLICABLE),
    )),
    PolicyStatus(GOV, "Policy Governance", "3.1", "sha256:" + "d" * 64, "@acme/ciso", Status.PASS, (
        _requirement("policy-reviewed", Severity.MEDIUM, ("A.5.1", "clause 7.5"), Status.PASS),
    )),
)

RUN = RunInfo(
    id="run-2026-11-27-0001", started_at="2026-11-27T09:30:00Z", platform="github", repository="acme/model-zoo",
    ref="refs/pull/42/merge", commit="0123456789abcdef0123456789abcdef01234567", pull_request=42, base="main",
)


def canonical_report() -> Report:
    """The shared report (a pull request run with ``fail_on: high``)."""
    return Report(
        run=RUN, fail_on=Severity.HIGH, findings=FINDINGS, policies=POLICIES,
        controls=control_statuses(FINDINGS), rules=dict(sorted(SPECS.items())),
    )


@pytest.fixture
def report() -> Report:
    return canonical_report()


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))
