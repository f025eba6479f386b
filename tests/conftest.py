"""Root pytest hooks (pytest reads ``pytest_addoption`` only from the rootdir conftest)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.fakes.github import OCTOKIT_CACHE

FETCH_SPECS = Path(__file__).parent / "fakes" / "fetch_specs.sh"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite golden files (tests/render/golden) from the current renderers")


def pytest_sessionstart(session: pytest.Session) -> None:
    """Fetch GitHub's published API description for the contract tests once; in CI its absence is an error."""
    wanted = [OCTOKIT_CACHE / name / "package.json" for name in ("openapi", "graphql-schema", "webhooks-examples")]
    if all(p.exists() for p in wanted):
        return
    if shutil.which("npm"):
        subprocess.run(["bash", str(FETCH_SPECS)], check=False, capture_output=True, timeout=600)
    if os.environ.get("CI") and not all(p.exists() for p in wanted):
        pytest.exit("GitHub's OpenAPI description could not be fetched (tests/fakes/fetch_specs.sh)", returncode=2)
