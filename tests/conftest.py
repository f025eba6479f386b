"""Root pytest hooks (pytest reads ``pytest_addoption`` only from the rootdir conftest)."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite golden files (tests/render/golden) from the current renderers")
