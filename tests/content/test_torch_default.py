"""torch-load-unsafe: a call without weights_only passes only where the file's package requires torch >= 2.6
(torch's own default is then weights_only=True) and nothing turns that default off."""

from __future__ import annotations

from pathlib import Path

import pytest

from annexa.collect.checkout import Checkout
from annexa.collect.requirements import ManifestFloors
from tests.content.common import outcome, run_rules
from tests.support import make_checkout

RULE = "torch-load-unsafe"

LOADER = """import torch


def restore(path):
    state = torch.load(path, map_location="cpu")
    legacy = torch.load(path, weights_only=False)
    return state, legacy
"""


def pyproject(*deps: str) -> str:
    listed = ", ".join(f'"{d}"' for d in deps)
    return f'[project]\nname = "acme-train"\nversion = "1.0"\ndependencies = [{listed}]\n'


def results(tmp_path: Path, files: dict[str, str], **params: object) -> list[tuple[str, str | None, int | None]]:
    found = run_rules([RULE], make_checkout(tmp_path, {"src/acme/ckpt.py": LOADER, **files}),
                      params={RULE: params} if params else None)[RULE]
    return sorted(outcome(r) for r in found)


DYNAMIC = ('[project]\nname = "acme"\ndynamic = ["version", "dependencies"]\n\n'
           '[tool.setuptools.dynamic]\ndependencies = {file = ["requirements/base.txt"]}\n')

LEGACY = ("fail", "src/acme/ckpt.py", 6)
DEFAULT_CALL = ("fail", "src/acme/ckpt.py", 5)


@pytest.mark.parametrize(("files", "expected"), [
    ({"pyproject.toml": pyproject("torch>=2.6.0", "numpy")}, [LEGACY, ("pass", "pyproject.toml", None)]),
    ({"pyproject.toml": pyproject("torch~=2.7")}, [LEGACY, ("pass", "pyproject.toml", None)]),
    ({"pyproject.toml": pyproject("torch>=2.1")}, [DEFAULT_CALL, LEGACY]),
    ({"pyproject.toml": pyproject("torch")}, [DEFAULT_CALL, LEGACY]),
    ({"pyproject.toml": pyproject("numpy>=1.26")}, [DEFAULT_CALL, LEGACY]),
    ({}, [DEFAULT_CALL, LEGACY]),
    ({"pyproject.toml": pyproject("torch>=2.6; sys_platform == 'linux'", "torch>=2.2; sys_platform == 'darwin'")},
     [DEFAULT_CALL, LEGACY]),
    ({"pyproject.toml": "[tool.ruff]\nline-length = 100\n", "setup.py":
      'from setuptools import setup\nsetup(name="acme", install_requires=["torch>=2.7.1", "numpy"])\n'},
     [LEGACY, ("pass", "setup.py", None)]),
    ({"setup.cfg": "[metadata]\nname = acme\n\n[options]\ninstall_requires =\n    numpy\n    torch>=2.6\n"},
     [LEGACY, ("pass", "setup.cfg", None)]),
    ({"pyproject.toml": '[tool.poetry]\nname = "acme"\n\n[tool.poetry.dependencies]\npython = "^3.11"\n'
                        'torch = "^2.6"\n'}, [LEGACY, ("pass", "pyproject.toml", None)]),
    ({"pyproject.toml": '[tool.poetry]\nname = "acme"\n\n[tool.poetry.dependencies]\ntorch = {version = ">=2.0"}\n'},
     [DEFAULT_CALL, LEGACY]),
    ({"pyproject.toml": pyproject("torch>=2.6"), "src/pyproject.toml": pyproject("torch")}, [DEFAULT_CALL, LEGACY]),
    ({"pyproject.toml": "[project\nname = broken\n"}, [DEFAULT_CALL, LEGACY]),
    ({"pyproject.toml": DYNAMIC, "requirements/base.txt": "# runtime\n-r extra.txt\nnumpy\ntorch>=2.6.0  # cuda\n"},
     [LEGACY, ("pass", "pyproject.toml", None)]),
    ({"pyproject.toml": DYNAMIC}, [DEFAULT_CALL, LEGACY]),
], ids=["pep621-2.6", "compatible-2.7", "floor-2.1", "no-bound", "torch-not-named", "no-manifest",
        "a-marker-allows-older", "setup-py", "setup-cfg", "poetry-caret", "poetry-older", "nearest-sub-package",
        "unreadable-toml", "setuptools-dynamic-file", "setuptools-dynamic-file-missing"])
def test_the_default_counts_only_where_the_package_requires_torch_2_6(
    tmp_path: Path, files: dict[str, str], expected: list[tuple[str, str | None, int | None]]
) -> None:
    assert results(tmp_path, files) == expected


def test_the_passing_result_lists_each_call_and_the_requirement(tmp_path: Path) -> None:
    checkout = make_checkout(tmp_path, {"src/acme/ckpt.py": LOADER, "pyproject.toml": pyproject("torch>=2.6.0")})
    [passing] = [r for r in run_rules([RULE], checkout)[RULE] if r.status.value == "pass"]
    assert passing.message == ("1 torch.load call without weights_only relies on torch's default "
                               "(weights_only=True from torch 2.6): pyproject.toml requires torch>=2.6.0")
    assert passing.evidence["default_weights_only"] == [
        {"path": "src/acme/ckpt.py", "line": 5, "manifest": "pyproject.toml", "requirement": "torch>=2.6.0"}]


@pytest.mark.parametrize(("where", "text", "expected"), [
    ("docker/Dockerfile", "FROM python:3.12\nENV TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1\n", [DEFAULT_CALL, LEGACY]),
    ("scripts/train.sh", "export TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=true\npython -m acme.train\n",
     [DEFAULT_CALL, LEGACY]),
    ("src/acme/boot.py", 'import os\nos.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = "1"\n', [DEFAULT_CALL, LEGACY]),
    ("src/acme/notes.py", "# For legacy checkpoints set TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 (trusted files only)\n",
     [LEGACY, ("pass", "pyproject.toml", None)]),
    ("scripts/train.sh", "export TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=0\n", [LEGACY, ("pass", "pyproject.toml", None)]),
], ids=["dockerfile-env", "shell-export", "python-environ", "a-comment-is-not-a-setting", "set-to-0"])
def test_a_repository_that_turns_the_default_off_gets_no_relief(
    tmp_path: Path, where: str, text: str, expected: list[tuple[str, str | None, int | None]]
) -> None:
    assert results(tmp_path, {"pyproject.toml": pyproject("torch>=2.6"), where: text}) == expected


def test_an_empty_threshold_requires_weights_only_everywhere(tmp_path: Path) -> None:
    files = {"pyproject.toml": pyproject("torch>=2.6")}
    assert results(tmp_path, files, weights_only_default_from="") == [DEFAULT_CALL, LEGACY]


def test_floors_are_read_from_the_nearest_package_manifest(tmp_path: Path) -> None:
    make_checkout(tmp_path, {"pyproject.toml": pyproject("torch>=2.6.0"),
                             "plugins/fsdp/pyproject.toml": pyproject("torch"),
                             "plugins/fsdp/src/x.py": "", "tools/convert.py": "", "docs/conf.py": ""})
    floors = ManifestFloors(Checkout(tmp_path), "torch")
    root = floors.for_file("tools/convert.py")
    assert (root.manifest, str(root.version), root.requirement) == ("pyproject.toml", "2.6.0", "torch>=2.6.0")
    sub = floors.for_file("plugins/fsdp/src/x.py")
    assert (sub.manifest, sub.version, sub.requirement) == ("plugins/fsdp/pyproject.toml", None, "torch")
