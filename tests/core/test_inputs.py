"""Config and policy validation: every error names file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from annexa.catalog import load_catalog, load_policies
from annexa.config import DEFAULT_PATHS, STARTER_CONFIG, load_config
from annexa.errors import InputError, InputErrors
from annexa.model import Severity
from annexa.paths import glob_match
from annexa.yamlio import parse_document


def errors_of(exc: InputErrors | InputError) -> list[str]:
    return [str(e) for e in (exc.errors if isinstance(exc, InputErrors) else [exc])]


def test_config_unknown_key_and_bad_values_name_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / ".annexa.yml"
    path.write_text(
        "fail_on: high\nowners:\n  models: [not-a-handle]\nfial_on: low\nwaivers:\n  - rule: x\n    risk: huge\n"
    )
    with pytest.raises(InputErrors) as caught:
        load_config(path, ".annexa.yml")
    assert errors_of(caught.value) == [
        ".annexa.yml:3: owners.models.0: 'not-a-handle' does not match "
        "'^(@[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*|@@[a-z]+|[^@\\\\s]+@[^@\\\\s]+)$'",
        ".annexa.yml:4: fial_on: unknown key",
        ".annexa.yml:7: waivers.0.risk: 'huge' is not one of ['low', 'medium', 'high', 'critical']",
    ]


def test_unparseable_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / ".annexa.yml"
    path.write_text("fail_on: high\nowners: [\n  a: b\n")
    with pytest.raises(InputError) as caught:
        load_config(path, ".annexa.yml")
    assert str(caught.value).startswith(".annexa.yml:4: not valid YAML")


def test_non_utf8_config_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / ".annexa.yml"
    path.write_bytes(b"fail_on: h\xe9gh\n")
    with pytest.raises(InputError, match="not valid UTF-8"):
        load_config(path, ".annexa.yml")


def test_starter_config_and_defaults() -> None:
    doc = parse_document(STARTER_CONFIG, ".annexa.yml")
    assert doc.data["fail_on"] == "high"
    path_globs = DEFAULT_PATHS["weights"]
    for name in ["m.safetensors", "a/b/c.pt", "x.pth", "w.bin", "c.ckpt", "p.pkl", "p.pickle", "j.joblib",
                 "n.npy", "n.npz", "k.h5", "k.keras", "o.onnx", "g.gguf", "t.tflite", "s.pb", "c.mlmodel",
                 "exported/saved_model/variables/variables.data-00000-of-00001"]:
        assert any(glob_match(g, name) for g in path_globs), name
    assert not any(glob_match(g, "src/model.py") for g in path_globs)


def test_config_loads_waivers_with_lines(tmp_path: Path) -> None:
    path = tmp_path / ".annexa.yml"
    path.write_text("fail_on: medium\nwaivers:\n  - rule: actions-pinned\n    expires: 2027-01-31\n    ticket: 42\n")
    config = load_config(path, ".annexa.yml")
    assert config.fail_on is Severity.MEDIUM
    [waiver] = config.waivers
    assert (waiver.line, waiver.ticket, waiver.expires.isoformat() if waiver.expires else None) == (
        3, "42", "2027-01-31",
    )


POLICY_BAD = """\
id: POL-BAD
title: Bad
version: 1
owner: CISO
approved_by: CEO
approved_on: 2026-13-01
review_interval_months: 0
statement: too short
controls: [A.9.9]
requirements:
  - rule: no-such-rule
  - rule: approvals-required
    params: {mnimum: 2}
    severity: urgent
"""


def test_broken_policy_reports_every_error_with_line_and_field(tmp_path: Path) -> None:
    (tmp_path / "bad.yml").write_text(POLICY_BAD)
    with pytest.raises(InputErrors) as caught:
        load_policies([tmp_path], load_catalog(), tmp_path)
    assert errors_of(caught.value) == [
        "bad.yml:6: approved_on: '2026-13-01' is not a 'date'",
        "bad.yml:7: review_interval_months: 0 is less than the minimum of 1",
        "bad.yml:8: statement: 'too short' is too short",
        "bad.yml:9: controls.0: 'A.9.9' does not match '^(A\\\\.[5-8]\\\\.[0-9]{1,2}|(?:[4-9]|10)(\\\\.[0-9]{1,2})*)$'",
        "bad.yml:14: requirements.1.severity: 'urgent' is not one of ['critical', 'high', 'medium', 'low', 'info']",
    ]
    fixed = (
        POLICY_BAD.replace("2026-13-01", "2026-01-01")
        .replace("review_interval_months: 0", "review_interval_months: 12")
        .replace("too short", "a statement long enough")
        .replace("A.9.9", "A.8.4")
        .replace("    severity: urgent\n", "")
    )
    (tmp_path / "bad.yml").write_text(fixed)
    with pytest.raises(InputErrors) as caught:
        load_policies([tmp_path], load_catalog(), tmp_path)
    assert errors_of(caught.value) == [
        "bad.yml:11: requirements.0.rule: unknown rule id 'no-such-rule' (see `annexa rules list`)",
        "bad.yml:13: requirements.1.params.mnimum: rule approvals-required has no parameter 'mnimum'",
    ]


def test_empty_policy_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputErrors, match="no policy files"):
        load_policies([tmp_path], load_catalog(), tmp_path)


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [("**/*.pt", "a.pt", True), ("**/*.pt", "a/b/c.pt", True), ("*.pt", "a/b.pt", False), ("data/**", "data/x/y", True),
     ("data/**", "database/x", False), ("m?.bin", "m1.bin", True), ("[!a]*.bin", "b.bin", True),
     ("/CODEOWNERS", "CODEOWNERS", True), ("**/saved_model/**", "x/saved_model/v/a", True)],
)
def test_glob_match(pattern: str, path: str, matches: bool) -> None:
    assert glob_match(pattern, path) is matches
