"""training-data-pii-free: detectors with their checksums, masking, file handling, PR mode and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annexa.model import Status
from annexa.scan.pii import find_pii, iban_ok, luhn_ok, mask
from tests.content.common import change_of, outcome
from tests.support import make_checkout, run_rule

RULE = "training-data-pii-free"

POSITIVE = [
    ("mail jane.doe@example.com now", "email", "jane.doe@example.com", "j***@e***.com"),
    ("call +44 20 7946 0958 today", "phone", "+44 20 7946 0958", "+** ** **** **58"),
    ("call (415) 555-2671 today", "phone", "(415) 555-2671", "(***) ***-**71"),
    ("call 415.555.2671", "phone", "415.555.2671", "***.***.**71"),
    ("card 4111 1111 1111 1111 exp", "payment_card", "4111 1111 1111 1111", "**** **** **** 1111"),
    ("card 5500-0000-0000-0004", "payment_card", "5500-0000-0000-0004", "****-****-****-0004"),
    ("iban DE89 3704 0044 0532 0130 00.", "iban", "DE89 3704 0044 0532 0130 00", "DE** **** **** **** **** 00"),
    ("iban GB82WEST12345698765432", "iban", "GB82WEST12345698765432", "GB******************32"),
    ("ssn 123-45-6789", "us_ssn", "123-45-6789", "***-**-**89"),
    ("from 81.2.69.142 at", "ip_address", "81.2.69.142", "81.*.*.*"),
    ("host=81.2.69.160", "ip_address", "81.2.69.160", "81.*.*.*"),
    ("v6 2a00:1450:4001:81c::200e x", "ip_address", "2a00:1450:4001:81c::200e", "2a00:****"),
]


@pytest.mark.parametrize(("text", "kind", "value", "masked"), POSITIVE,
                         ids=[f"{p[1]}-{i}" for i, p in enumerate(POSITIVE)])
def test_each_type_is_found_and_masked(text: str, kind: str, value: str, masked: str) -> None:
    found = [(k, text[s:e]) for k, s, e in find_pii(text)]
    assert found == [(kind, value)]
    assert mask(kind, value) == masked
    assert value not in masked


NEGATIVE = {
    "card failing Luhn": "card 4111 1111 1111 1112",
    "iban failing mod-97": "iban DE89 3704 0044 0532 0130 01",
    "iban of wrong length": "iban DE89 3704 0044 0532 0130",
    "ssn area 000": "ssn 000-12-3456",
    "ssn area 666": "ssn 666-12-3456",
    "ssn area 9xx": "ssn 912-12-3456",
    "ssn group 00": "ssn 123-00-4567",
    "ssn serial 0000": "ssn 123-45-0000",
    "voided ssn": "ssn 078-05-1120",
    "date": "on 2026-11-27 at 12:30:45",
    "version": "torch 2.5.1 and cuda 12.4.1",
    "loopback": "listen 127.0.0.1 and 0.0.0.0",
    "four-part version": "built with 1.2.3.4 today",
    "v-prefixed version": "release v2.0.0.1 notes",
    "version word": '{"version": "10.0.19.41"}',
    "pinned version": "torch==2.10.0.1",
    "private 10/8": "from 10.1.2.3",
    "private 172.16/12": "gateway 172.20.0.1",
    "private 192.168/16": "router 192.168.1.1",
    "link-local": "peer 169.254.10.20",
    "documentation ranges": "see 192.0.2.7, 198.51.100.23 and 203.0.113.42",
    "shared 100.64/10": "cgnat 100.64.3.4",
    "ipv6 non-global": "fe80::1ff:fe23:4567:890a fd12:3456:789a::1 2001:db8:85a3::8a2e:370:7334 ::1",
    "uuid": "run 123e4567-e89b-12d3-a456-426614174000",
    "sha": "commit 3f2c9e1d4b5a69788c7d0e1f2a3b4c5d6e7f8091",
    "numbers": "loss 0.123456 step 1234567 of 20000000",
    "cpp scope": "std::vector<int> and a::b",
    "not an email": "user@localhost and @mention",
}


@pytest.mark.parametrize("name", sorted(NEGATIVE))
def test_lookalikes_are_not_pii(name: str) -> None:
    assert list(find_pii(NEGATIVE[name])) == []


def test_checksums() -> None:
    assert (luhn_ok("4111111111111111"), luhn_ok("4111111111111112")) == (True, False)
    assert (iban_ok("GB82WEST12345698765432"), iban_ok("GB82WEST12345698765433")) == (True, False)


def test_overlaps_keep_the_stronger_type() -> None:
    text = "4111 1111 1111 1111"
    assert [k for k, _, _ in find_pii(text)] == ["payment_card"]


ROWS = [
    {"text": "My order never arrived", "label": "shipping"},
    {"text": "Contact me at jane.doe@example.com", "label": "billing"},
    {"text": "The app crashes", "label": "bug"},
    {"text": "Card 4111 1111 1111 1111 was charged twice, call +1 415 555 2671", "label": "billing"},
]


def _jsonl(rows: list[dict[str, str]]) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def test_training_data_fails_per_location_with_counts(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"data/chats.jsonl": _jsonl(ROWS), "src/emails.txt": "a@b.example.org\n"})
    results = run_rule(RULE, checkout)
    assert [(outcome(r), r.evidence["type"], r.evidence["masked"]) for r in results] == [
        (("fail", "data/chats.jsonl", 2), "email", "j***@e***.com"),
        (("fail", "data/chats.jsonl", 4), "payment_card", "**** **** **** 1111"),
        (("fail", "data/chats.jsonl", 4), "phone", "+* *** *** **71"),
    ]
    assert results[0].evidence["file_counts"] == {"email": 1, "payment_card": 1, "phone": 1}
    assert [r.key for r in results] == ["email:j***@e***.com#1", "payment_card:**** **** **** 1111#1",
                                         "phone:+* *** *** **71#1"]
    report = json.dumps([r.evidence for r in results]) + " ".join(r.message for r in results)
    assert "jane.doe" not in report and "4111 1111 1111 1111" not in report


@pytest.mark.parametrize("name", ["chats.csv", "chats.tsv", "notes.txt", "dump.json"])
def test_every_text_format_is_scanned(tmp_path: Path, name: str) -> None:
    checkout = make_checkout(tmp_path, {f"datasets/support/{name}": "id\tnote\n1\treach me at 81.2.69.142\n"})
    assert [outcome(r) for r in run_rule(RULE, checkout)] == [("fail", f"datasets/support/{name}", 2)]


def test_clean_data_passes_with_what_was_scanned(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"data/a.jsonl": _jsonl([ROWS[0], ROWS[2]]), "data/img.png": b"\x89PNG"})
    [result] = run_rule(RULE, checkout)
    assert outcome(result) == ("pass", None, None)
    assert (result.evidence["files"], result.evidence["lines"], result.evidence["skipped"]) == (1, 2, 0)


def test_no_training_data_is_not_applicable(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"src/app.py": "EMAIL = 'a@b.example.org'\n"})
    assert [outcome(r) for r in run_rule(RULE, checkout)] == [("not_applicable", None, None)]


def test_pull_request_mode_scans_added_rows_only(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"data/chats.jsonl": _jsonl(ROWS), "data/old.csv": "x,a@b.example.org\n"})
    results = run_rule(RULE, checkout, change=change_of({"data/chats.jsonl": frozenset({3, 4})}))
    assert [outcome(r) for r in results] == [("fail", "data/chats.jsonl", 4), ("fail", "data/chats.jsonl", 4)]


def test_location_cap_keeps_full_counts(tmp_path: Path) -> None:
    rows = "".join(f"user{i}@example.org\n" for i in range(50))
    results = run_rule(RULE, make_checkout(tmp_path, {"data/users.txt": rows}), params={"max_locations_per_file": 3})
    assert [outcome(r) for r in results] == [("fail", "data/users.txt", n) for n in (1, 2, 3)]
    assert results[0].evidence["file_counts"] == {"email": 50}


def test_types_parameter_limits_what_is_reported(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"data/chats.jsonl": _jsonl(ROWS)})
    results = run_rule(RULE, checkout, params={"types": ["email"]})
    assert [outcome(r) for r in results] == [("fail", "data/chats.jsonl", 2)]


def test_binary_data_file_is_skipped_with_reason(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"data/blob.csv": b"\x00\x00a@b.example.org", "data/ok.csv": "a,b\n"})
    [result] = run_rule(RULE, checkout)
    assert result.status is Status.PASS
    assert result.evidence["skipped_files"] == [
        {"path": "data/blob.csv", "reason": "binary content (NUL bytes); not a text data file"}]


def test_invalid_utf8_is_scanned_and_flagged(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"data/latin1.csv": b"nom,mail\nJos\xe9,jose@example.org\n"})
    [result] = run_rule(RULE, checkout)
    assert outcome(result) == ("fail", "data/latin1.csv", 2)
    assert result.evidence["lossy_utf8"] is True


def test_huge_single_line_file(tmp_path: Path) -> None:
    line = "x" * 9_000_000 + " contact 81.2.69.143 " + "y" * 100
    [result] = run_rule(RULE, make_checkout(tmp_path, {"data/one.txt": line}))
    assert outcome(result) == ("fail", "data/one.txt", 1)


def test_lines_counted_across_blocks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("annexa.scan.pii.BLOCK", 64)
    text = "".join(f"row {i} is clean\n" for i in range(40)) + "mail a.b@example.org\n"
    [result] = run_rule(RULE, make_checkout(tmp_path, {"data/rows.txt": text}))
    assert outcome(result) == ("fail", "data/rows.txt", 41)


def test_parquet_without_pyarrow_is_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_pyarrow(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("pyarrow"):
            raise ModuleNotFoundError("No module named 'pyarrow'")
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_pyarrow)
    checkout = make_checkout(tmp_path, {"data/rows.parquet": b"PAR1\x00\x00PAR1", "data/ok.csv": "a,b\n"})
    results = run_rule(RULE, checkout)
    assert [outcome(r) for r in results] == [("unknown", "data/rows.parquet", None), ("pass", None, None)]
    assert results[0].evidence["needs"] == "pyarrow (pip install pyarrow)"


@pytest.mark.parametrize(("text", "found"), [
    ("from 10.1.2.3", ["10.1.2.3"]),
    ("see 203.0.113.42 and fd12:3456:789a::1", ["203.0.113.42", "fd12:3456:789a::1"]),
    ("built with 1.2.3.4", []),
])
def test_private_ips_parameter_turns_private_and_reserved_ranges_back_on(text: str, found: list[str]) -> None:
    assert [text[s:e] for _, s, e in find_pii(text, private_ips=True)] == found
    assert list(find_pii(text)) == []


def test_private_ips_rule_parameter(tmp_path: Path) -> None:
    files = {"data/logs.csv": "when,ip\n2026-01-02,version 1.2.3.4\n2026-01-03,10.0.0.7\n2026-01-04,81.2.69.142\n"}
    default = run_rule(RULE, make_checkout(tmp_path, files))
    assert [(outcome(r), r.evidence["masked"]) for r in default] == [(("fail", "data/logs.csv", 4), "81.*.*.*")]
    with_private = run_rule(RULE, make_checkout(tmp_path, files), params={"private_ips": True})
    assert [(outcome(r), r.evidence["masked"]) for r in with_private] == [
        (("fail", "data/logs.csv", 3), "10.*.*.*"), (("fail", "data/logs.csv", 4), "81.*.*.*")]
