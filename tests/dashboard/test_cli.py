"""``annexa dashboard`` end to end: runs recorded by ``annexa check`` become one page."""

from __future__ import annotations

import json
import re
from pathlib import Path

from annexa.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples"


def test_dashboard_from_recorded_check_runs(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'h.db'}"
    for _ in range(2):
        assert main(["check", str(EXAMPLE / "ai-repo"), "--settings", str(EXAMPLE / "settings.json"),
                     "--history", url, "--output", str(tmp_path / "r.json"), "--format", "json"]) == 1
    capsys.readouterr()
    assert main(["dashboard", "--out", str(tmp_path / "dash"), "--history", url]) == 0
    assert "dashboard of 1 repository (2 run records)" in capsys.readouterr().out
    page = (tmp_path / "dash" / "index.html").read_text(encoding="utf-8")
    blob = re.search(r'<script type="application/json" id="annexa-data">(.*?)</script>', page, re.S)
    assert blob is not None
    data = json.loads(blob.group(1))
    [repo] = data["repos"]
    assert (repo["runs"], repo["verdict"]) == (2, "fail")
    assert [p["id"] for p in data["policies"]] == ["POL-DATA", "POL-ISP", "POL-MAP", "POL-SCP", "POL-SDLC"]
    assert data["changes"]["new"] == [] and data["changes"]["fixed"] == []


def test_dashboard_out_must_be_a_folder(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "file").write_text("x")
    assert main(["dashboard", "--out", str(tmp_path / "file"), "--history", f"sqlite:///{tmp_path / 'h.db'}"]) == 2
    assert "not a directory" in capsys.readouterr().err
