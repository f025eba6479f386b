"""Queries over the normalised history, the evidence bundle, its offline verification and the OSCAL document."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import regex

from annexa.cli import main
from annexa.history import queries
from annexa.history.signing import generate, load_signer
from annexa.history.store import HistoryStore
from annexa.model import Status
from tests.history.common import finding, report

SCHEMA = Path(__file__).parents[1] / ".cache" / "oscal" / "oscal_assessment-results_schema.json"
FETCH = Path(__file__).with_name("fetch_oscal_schema.sh")
DAY = "2026-11-2{}T10:00:00+00:00"


@pytest.fixture
def history(store_url: str, tmp_path: Path) -> str:
    """acme/models: a secret fails on days 1 and 2 and is fixed on day 3; acme/other runs once on day 2."""
    generate(tmp_path / "k.key", tmp_path / "k.pub")
    signer = load_signer(tmp_path / "k.key", {})
    store = HistoryStore(store_url)
    for day in (1, 2, 3):
        store.record(report(f"r{day}", started_at=DAY.format(day), secret_fixed=day == 3), signer=signer)
    hostile = finding("dataset-card-present", Status.FAIL, "<script>alert(1)</script>.md", 1, ("A.5.34",),
                      message="=HYPERLINK(\"http://x\") <b>bold</b>")
    store.record(report("o1", "acme/<other>", DAY.format(2), extra=(hostile,)), signer=signer)
    return store_url


def secret_fp(store: HistoryStore) -> str:
    with store.connect() as connection:
        rows = queries.findings_in_window(connection, queries.Window(dt.date(2026, 11, 1), dt.date(2026, 11, 30)))
        return next(r["fingerprint"] for r in rows if r["rule"] == "no-secrets-in-change")


def test_first_seen_fixed_at_and_control_trend_are_queries(history: str) -> None:
    store = HistoryStore(history, create=False)
    fp = secret_fp(store)
    with store.connect() as connection:
        assert queries.first_seen(connection, "acme/models", [fp]) == {fp: (1, DAY.format(1))}
        assert queries.fixed_at(connection, "acme/models", fp) == (3, DAY.format(3))
        trend = queries.control_trend(connection, "A.8.4", "acme/models")
        assert [(t["seq"], t["status"]) for t in trend] == [(1, "fail"), (2, "fail"), (3, "pass")]
        early = queries.Window(dt.date(2026, 11, 21), dt.date(2026, 11, 22), ("acme/models",))
        [open_failure] = [f for f in queries.open_failures(connection, early) if f["control"] == "A.8.4"]
        assert (open_failure["rule"], open_failure["first_seen_at"], open_failure["seq"]) == (
            "no-secrets-in-change", DAY.format(1), 2)


def export(history: str, tmp_path: Path, *extra: str, date_from: str = "2026-11-01",
           date_to: str = "2026-11-30") -> Path:
    out = tmp_path / "evidence.zip"
    assert main(["export", "--from", date_from, "--to", date_to, "--history", history, "--out", str(out),
                 "--signing-key", str(tmp_path / "k.key"), *extra]) == 0
    return out


def member(bundle: Path, name: str) -> str:
    return zipfile.ZipFile(bundle).read(name).decode()


def csv_rows(bundle: Path, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(member(bundle, name))))


def test_bundle_contents(history: str, tmp_path: Path) -> None:
    bundle = export(history, tmp_path, "--repo", "acme/models")
    names = set(zipfile.ZipFile(bundle).namelist())
    assert names == {"manifest.json", "controls.json", "runs.csv", "findings.csv", "waivers.csv", "records.jsonl",
                     "report.html", "oscal/assessment-results.json"}
    controls = {c["control"]: c for c in json.loads(member(bundle, "controls.json"))}
    a84 = controls["A.8.4"]
    assert (a84["runs"], a84["passed"], a84["failed"], a84["pass_rate"], a84["status_at_end"]) == (3, 1, 2, 0.3333,
                                                                                                   "pass")
    assert a84["open_failures"] == []
    assert controls["A.8.29"]["status_at_end"] == "unknown"
    assert (controls["A.8.29"]["unknown"], controls["A.8.29"]["pass_rate"]) == (3, 0.0)
    [waiver] = controls["A.8.28"]["waivers"]
    assert (waiver["approved_by"], waiver["expires"], waiver["ticket"], waiver["runs"]) == ("@alice", "2027-03-31",
                                                                                            "SEC-1", 3)
    assert [r["run_id"] for r in csv_rows(bundle, "runs.csv")] == ["r1", "r2", "r3"]
    findings = csv_rows(bundle, "findings.csv")
    assert len(findings) == 12
    secret = [f for f in findings if f["rule"] == "no-secrets-in-change"]
    assert [(f["seq"], f["status"], f["first_failed_at"]) for f in secret] == [
        ("1", "fail", DAY.format(1)), ("2", "fail", DAY.format(1)), ("3", "pass", DAY.format(1))]
    [w] = csv_rows(bundle, "waivers.csv")
    assert (w["rule"], w["approved_by"], w["expires"], w["controls"]) == ("actions-pinned", "@alice", "2027-03-31",
                                                                          "A.8.28")
    manifest = json.loads(member(bundle, "manifest.json"))
    assert manifest["chains"]["acme/models"]["first_seq"] == 1 and manifest["chains"]["acme/models"]["last_seq"] == 3
    assert manifest["counts"] == {"runs": 3, "findings": 12, "controls": 4}


def test_window_and_control_filters(history: str, tmp_path: Path) -> None:
    bundle = export(history, tmp_path, "--control", "A.8.4", "--repo", "acme/models", date_to="2026-11-22")
    controls = json.loads(member(bundle, "controls.json"))
    assert [c["control"] for c in controls] == ["A.8.4"]
    [failure] = controls[0]["open_failures"]
    assert (failure["repository"], failure["rule"], failure["first_seen_at"]) == ("acme/models",
                                                                                  "no-secrets-in-change", DAY.format(1))
    assert {f["rule"] for f in csv_rows(bundle, "findings.csv")} == {"no-secrets-in-change", "branch-protected"}


def test_export_verify_passes_and_finds_edits(history: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    bundle = export(history, tmp_path)
    pub = str(tmp_path / "k.pub")
    assert main(["export", "verify", str(bundle), "--public-key", pub]) == 0
    assert capsys.readouterr().out.strip().endswith("0 problems")

    def rewrite(name: str, edit: Any, rehash: bool) -> Path:
        target = tmp_path / f"edited-{name.replace('/', '_')}-{rehash}.zip"
        with zipfile.ZipFile(bundle) as src, zipfile.ZipFile(target, "w") as dst:
            manifest = json.loads(src.read("manifest.json"))
            for item in src.namelist():
                data = src.read(item)
                if item == name:
                    data = edit(data)
                    if rehash:
                        import hashlib

                        manifest["files"][name] = hashlib.sha256(data).hexdigest()
                if item != "manifest.json":
                    dst.writestr(item, data)
            dst.writestr("manifest.json", json.dumps(manifest))
        return target

    edited = rewrite("findings.csv", lambda d: d.replace(b",fail,", b",pass,"), rehash=False)
    assert main(["export", "verify", str(edited), "--public-key", pub]) == 1
    assert "broken: findings.csv: SHA-256 differs from the manifest (edited)" in capsys.readouterr().out
    # an attacker who rehashes the file cannot re-sign the manifest
    edited = rewrite("findings.csv", lambda d: d.replace(b",fail,", b",pass,"), rehash=True)
    assert main(["export", "verify", str(edited), "--public-key", pub]) == 1
    assert "manifest.json: signature missing or not made by key" in capsys.readouterr().out
    assert main(["export", "verify", str(edited)]) == 0  # without the public key only hashes can be checked
    capsys.readouterr()
    # records edited and rehashed: the chains inside records.jsonl break even without the key
    edited = rewrite("records.jsonl", lambda d: d.replace(b'"verdict": "fail"', b'"verdict": "pass"', 1), rehash=True)
    assert main(["export", "verify", str(edited)]) == 1
    assert "the run record was edited (body hash mismatch)" in capsys.readouterr().out


def test_html_is_self_contained_and_escaped(history: str, tmp_path: Path) -> None:
    page = member(export(history, tmp_path), "report.html")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "acme/&lt;other&gt;" in page and "<b>bold</b>" not in page
    assert "src=" not in page and "href=" not in page and "@import" not in page and "url(" not in page


def test_csv_cells_never_start_a_formula(history: str, tmp_path: Path) -> None:
    bundle = export(history, tmp_path)
    [hostile] = [f for f in csv_rows(bundle, "findings.csv") if f["rule"] == "dataset-card-present"]
    assert hostile["message"].startswith("'=HYPERLINK")


def oscal_validator() -> jsonschema.protocols.Validator:
    if not SCHEMA.exists() and shutil.which("bash"):
        subprocess.run(["bash", str(FETCH)], check=False, capture_output=True, timeout=300)
    if not SCHEMA.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"NIST's OSCAL schema is missing: {FETCH} could not fetch it")
        pytest.skip("NIST's OSCAL assessment-results schema is not available (tests/history/fetch_oscal_schema.sh)")
    schema = json.loads(SCHEMA.read_text())
    base = jsonschema.validators.validator_for(schema)

    def pattern(validator: Any, expected: str, instance: Any, _schema: Any) -> Any:
        # NIST's patterns use \p{L} / \p{N}; Python's re lacks them, the regex module has them.
        if validator.is_type(instance, "string") and not regex.search(expected, instance):
            yield jsonschema.ValidationError(f"{instance!r} does not match {expected!r}")

    validator_class = jsonschema.validators.extend(base, {"pattern": pattern})
    return validator_class(schema, format_checker=jsonschema.FormatChecker())  # type: ignore[no-any-return]


def test_oscal_assessment_results_validate_against_nist_schema(history: str, tmp_path: Path) -> None:
    document = json.loads(member(export(history, tmp_path), "oscal/assessment-results.json"))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in oscal_validator().iter_errors(document)]
    assert errors == []
    ar = document["assessment-results"]
    assert ar["metadata"]["oscal-version"] == "1.2.3"
    [result] = ar["results"]
    by_target = {f["target"]["target-id"]: f["target"]["status"] for f in result["findings"]}
    assert by_target["a.8.4"] == {"state": "not-satisfied", "reason": "fail"}  # acme/<other> still fails it
    assert by_target["a.8.32"] == {"state": "satisfied", "reason": "pass"}
    assert by_target["a.5.34"] == {"state": "not-satisfied", "reason": "fail"}
    assert by_target["a.8.29"] == {"state": "not-satisfied", "reason": "other"}  # unknown is never satisfied
    observation = next(o for o in result["observations"] if o["title"] == "no-secrets-in-change on acme/models")
    assert observation["methods"] == ["TEST"]
    assert observation["origins"][0]["actors"][0]["type"] == "tool"
    assert observation["relevant-evidence"][0]["href"] == "../records.jsonl#run=r3"
    tool = result["local-definitions"]["components"][0]
    assert (tool["title"], tool["props"][0]["value"]) == ("annexa", ar["metadata"]["version"])


def test_the_same_history_exports_the_same_oscal(history: str, tmp_path: Path) -> None:
    first = member(export(history, tmp_path), "oscal/assessment-results.json")
    assert member(export(history, tmp_path), "oscal/assessment-results.json") == first


def test_export_of_a_missing_store_is_an_error(tmp_path: Path) -> None:
    assert main(["export", "--from", "2026-11-01", "--to", "2026-11-30", "--history",
                 f"sqlite:///{tmp_path}/none.db", "--out", str(tmp_path / "e.zip")]) == 2
    assert not (tmp_path / "none.db").exists()


def test_a_control_nothing_applied_to_is_not_applicable_not_passed(store_url: str, tmp_path: Path) -> None:
    generate(tmp_path / "k.key", tmp_path / "k.pub")
    store = HistoryStore(store_url)
    na = finding("dataset-card-present", Status.NOT_APPLICABLE, "data", None, ("A.5.34",))
    store.record(report("n1", started_at=DAY.format(1), extra=(na,)))
    bundle = export(store_url, tmp_path)
    a534 = next(c for c in json.loads(member(bundle, "controls.json")) if c["control"] == "A.5.34")
    assert (a534["runs"], a534["not_applicable"], a534["pass_rate"], a534["status_at_end"]) == (
        1, 1, None, "not_applicable")
    [result] = json.loads(member(bundle, "oscal/assessment-results.json"))["assessment-results"]["results"]
    target = next(f for f in result["findings"] if f["target"]["target-id"] == "a.5.34")
    assert target["target"]["status"] == {"state": "not-satisfied", "reason": "other"}
    assert target["remarks"].startswith("No check applied")
