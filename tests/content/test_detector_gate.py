"""The redaction gate's detector pre-check (``annexa.scan.detector_gate``): current, sound, and used."""

from __future__ import annotations

import json
import random
import re
import string
import subprocess
import sys
import time
from pathlib import Path

import pytest

from annexa import redact
from annexa.scan import detector_gate
from annexa.scan.detector_gate import DATA, Gate, derive, gate, loosened
from tests.content.common import fake_keys

ROOT = Path(__file__).resolve().parents[2]
_rng = random.Random(2026)
ALNUM = string.ascii_letters + string.digits


def _r(alphabet: str, n: int) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


HEX = "0123456789abcdef"
KEYS = fake_keys(seed=99)
# one line per detector shape, written for this test (random values, never real keys)
SHAPES = [
    *(f"export TOKEN={value}" for value in KEYS.values()),
    *(f'value = "{value}"' for value in KEYS.values()),
    *KEYS.values(),
    f"xoxb-{_r(string.digits, 11)}-{_r(string.digits, 12)}-{_r(ALNUM, 24)}",
    f"https://hooks.slack.com/services/T{_r(ALNUM, 8)}/B{_r(ALNUM, 10)}/{_r(ALNUM, 24)}",
    f"stripe = 'sk_live_{_r(ALNUM, 24)}'",
    f"twilio AC{_r(HEX, 32)} and SK{_r(HEX, 32)}",
    f"mailchimp {_r(HEX, 32)}-us12",
    f"SG.{_r(ALNUM, 22)}.{_r(ALNUM, 43)}",
    f"sq0csp-{_r(ALNUM, 43)}",
    f"discord M{_r(ALNUM, 23)}.{_r(ALNUM, 6)}.{_r(ALNUM, 27)}",
    f"bot {_r(string.digits, 9)}:{_r(ALNUM, 35)}",
    f"jwt eyJ{_r(ALNUM, 30)}.eyJ{_r(ALNUM, 40)}.{_r(ALNUM, 43)}",
    f"//registry.npmjs.org/:_authToken=npm_{_r(ALNUM, 36)}",
    f"pypi-AgEIcHlwaS5vcmc{_r(ALNUM, 70)}",
    f"DefaultEndpointsProtocol=https;AccountName=x;AccountKey={_r(ALNUM, 86)}==",
    f"artifactory AKC{_r(ALNUM, 70)}",
    f'ibm_cloud_iam_api_key = "{_r(ALNUM, 44)}"',
    f'softlayer_api_key = "{_r(HEX, 64)}"',
    f"https://user:{_r(HEX, 64)}@acct.cloudant.com",
    f"https://alice:{_r(ALNUM, 14)}@db.example.com/x",
    f'password = "{_r(ALNUM, 18)}"',
    f'secret: "{_r(ALNUM, 18)}"',
    f'if ("{_r(ALNUM, 18)}" == my_password) {{',
    f'api_key := "{_r(ALNUM, 18)}"',
    f'blob "{_r(ALNUM + "+/", 44)}"',
    f"digest '{_r(HEX, 24)}'",
    f'aws_secret_access_key = "{_r(ALNUM + "+/", 40)}"',
    f'wandb.login(key="{_r(HEX, 40)}")',
    f'  "private_key_id": "{_r(HEX, 40)}",',
    "-----BEGIN RSA PRIVATE KEY-----",
    "-----BEGIN OPENSSH PRIVATE KEY-----",
]


def _corpus() -> list[str]:
    """Every shape above, plus every line of annexa's own sources and tests (prose, code, planted keys)."""
    lines = list(SHAPES)
    for folder in ("src", "tests"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            lines.extend(path.read_text(encoding="utf-8").splitlines()[:400])
    return lines


def _ungated(monkeypatch: pytest.MonkeyPatch, line: str) -> list[tuple[int, int]]:
    with monkeypatch.context() as m:
        m.setattr(detector_gate, "gate", lambda: None)
        return redact._detector_spans(line)


def test_the_stored_gate_is_the_one_derived_from_the_installed_detectors() -> None:
    stored = json.loads(DATA.read_text(encoding="utf-8"))
    assert stored == json.loads(json.dumps(derive())), "stale: run `python -m annexa.scan.detector_gate`"
    assert stored["patterns"], "every detector must have a known shape"
    assert gate() is not None


def test_the_gate_lets_through_every_line_a_detector_reports_a_value_in(monkeypatch: pytest.MonkeyPatch) -> None:
    current = gate()
    assert current is not None
    flagged = rejected = 0
    for line in _corpus():
        if not current.may_hit(line):
            rejected += 1
            assert _ungated(monkeypatch, line) == [], line
        else:
            flagged += 1
    reported = [line for line in SHAPES if _ungated(monkeypatch, line)]
    assert len(reported) >= 40 and all(current.may_hit(line) for line in reported)
    assert rejected > 3 * flagged  # and it is worth having: most lines need no detector


@pytest.mark.parametrize(("line", "expected"), [
    ("No CODEOWNERS file that GitHub reads: add one at .github/CODEOWNERS", False),
    ("Read it from the environment or a secret manager (`os.environ[\"HF_TOKEN\"]`).", False),
    ("searched", False),
    (f"GH_TOKEN={KEYS['github_classic']}", True),
    (f'password = "{_r(ALNUM, 18)}"', True),
    (f'x = "{_r(ALNUM, 30)}"', True),
])
def test_the_gate_on_typical_output_lines(line: str, expected: bool) -> None:
    current = gate()
    assert current is not None and current.may_hit(line) is expected


@pytest.mark.parametrize(("pattern", "expected"), [
    (r"(?<![A-Z0-9])AKIA[0-9A-Z]{16}\b", "AKIA(?:[0-9A-Z]){16,16}"),
    (r"^(['\"])([a-f0-9]{8,})(\1)$", "(?:['\"])(?:(?:[a-f0-9]){8,})(?:(?:['\"]))"),
    (r"(a)(?(1)a|b)c", r"(?:a)[\s\S]*c"),
    (r"(?i)token(?=\s*=)\s*=\s*(\w+?)", r"(?i)token(?:[\s]){0,}=(?:[\s]){0,}(?:(?:[\w]){1,})"),
    (r"a(?i:b)c", "a(?i:b)c"),
    (r"x|yz", "(?:x|yz)"),
])
def test_loosened_drops_what_only_narrows(pattern: str, expected: str) -> None:
    assert loosened(re.compile(pattern)) == expected


def test_loosened_matches_wherever_the_original_does() -> None:
    patterns = [re.compile(p["regex"]) for p in json.loads(DATA.read_text(encoding="utf-8"))["patterns"]]
    for line in SHAPES:
        for window in (line, line[3:], line[:-3]):
            for original in [*(p for plugin, ps in redact._detectors() for p in ps)]:
                if original.search(window):
                    assert any(p.search(window) for p in patterns), (original.pattern, window)


def test_a_stale_gate_is_not_used_and_every_line_goes_to_the_detectors(monkeypatch: pytest.MonkeyPatch) -> None:
    gate.cache_clear()
    monkeypatch.setattr(detector_gate, "sources_digest", lambda: "0" * 64)
    try:
        assert gate() is None
        key = KEYS["github_classic"]
        assert redact.redact_text(f"GH_TOKEN={key}") == "GH_TOKEN=[redacted]"
    finally:
        gate.cache_clear()
        monkeypatch.undo()
    assert gate() is not None


def test_a_gate_file_that_cannot_be_read_means_no_gate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    gate.cache_clear()
    bad = tmp_path / "gate.json"
    bad.write_text("{not json", encoding="utf-8")
    monkeypatch.setattr(detector_gate, "DATA", bad)
    try:
        assert gate() is None
    finally:
        gate.cache_clear()


def test_gate_with_no_patterns_rejects_nothing_it_cannot_judge() -> None:
    always = Gate([{"regex": "", "fold": False, "words": None}])
    assert always.may_hit("anything") is True


def test_checking_an_empty_directory_does_not_load_the_detectors(tmp_path: Path) -> None:
    code = ("import sys, io, contextlib\nfrom annexa import cli\n"
            f"with contextlib.redirect_stdout(io.StringIO()):\n    cli.main(['check', {str(tmp_path)!r}])\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('detect_secrets', 'requests')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_a_gate_narrowed_to_a_text_keeps_the_patterns_whose_words_it_holds() -> None:
    current = gate()
    assert current is not None
    line = f"GH_TOKEN={KEYS['github_classic']}"
    clean = current.narrowed("No CODEOWNERS file that GitHub reads")
    assert len(clean._patterns) < len(current._patterns)
    assert current.narrowed(f"intro\n{line}\noutro").may_hit(line) is True
    with detector_gate.narrowed_to("plain words only"):
        assert detector_gate.current() is not current
    assert detector_gate.current() is current


def test_the_report_redaction_masks_through_the_narrowed_gate() -> None:
    key = KEYS["huggingface"]
    assert redact.redact_json({"a": ["plain", {"k": f"HF_TOKEN={key}"}]}) == {
        "a": ["plain", {"k": "HF_TOKEN=[redacted]"}]}


@pytest.mark.parametrize("line", [
    '"' + "a" * 4000 + " secret", "password " + '"x' * 2000, " ".join(["secret"] * 600) + "==",
    '"' * 3000 + "secret", "api_key" + "'" * 3000,
])
def test_long_adversarial_lines_are_gated_in_linear_time(line: str) -> None:
    current = gate()
    assert current is not None
    started = time.perf_counter()
    current.may_hit(line)
    assert time.perf_counter() - started < 1.0
