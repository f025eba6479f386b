"""The dashboard in headless Chromium: every view renders, nothing reaches the network, no console error."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from annexa.dashboard import build_dashboard
from tests.dashboard import browser
from tests.dashboard.records import org

pytestmark = pytest.mark.skipif(
    not browser.available() and os.environ.get("CI") != "true",
    reason="needs Debian's chromium and chromium-driver and selenium (.ci/run installs them)",
)
ARTIFACTS = Path(os.environ.get("ANNEXA_ARTIFACTS", Path(__file__).resolve().parents[1] / ".artifacts")) / "dashboard"
NOW = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    records = org(repos=60, days=4)
    records[-1]["run"]["repository"] = "acme/<img src=x onerror=alert(1)>"
    out = tmp_path_factory.mktemp("dash") / "index.html"
    out.write_text(build_dashboard(records, NOW), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def driver(page: Path):  # type: ignore[no-untyped-def]
    with browser.chromium() as d:
        d.get(page.as_uri())
        yield d


def shot(driver, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


def click(driver, element_id: str) -> None:  # type: ignore[no-untyped-def]
    driver.find_element("id", element_id).click()


def texts(driver, css: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [e.text for e in driver.find_elements("css selector", css)]


def test_overview(driver) -> None:  # type: ignore[no-untyped-def]
    assert driver.execute_script("return typeof window.__annexaReady") == "number"
    cards = texts(driver, "#view-overview .card-value")
    assert cards[0] == "61"
    table = driver.find_elements("css selector", "#view-overview table.counts")[0]
    rows = table.find_elements("css selector", "tbody tr")
    assert [r.find_elements("tag name", "td")[0].text for r in rows] == [
        "POL-DATA", "POL-ISP", "POL-MAP", "POL-SCP", "POL-SDLC"]
    shot(driver, "overview")


def test_matrix_filters_sorts_pages_and_exports(driver) -> None:  # type: ignore[no-untyped-def]
    click(driver, "tab-matrix")
    assert driver.find_element("id", "view-matrix").is_displayed()
    assert driver.find_element("id", "m-count").text == "61 of 61 repositories"
    search = driver.find_element("id", "m-search")
    search.send_keys("repo-0001")
    assert driver.find_element("id", "m-count").text == "10 of 61 repositories"
    search.clear()
    search.send_keys("x")
    search.send_keys("\b")
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element("id", "m-team")).select_by_visible_text("research")
    assert driver.find_element("id", "m-count").text == "15 of 61 repositories"
    Select(driver.find_element("id", "m-team")).select_by_index(0)
    driver.find_elements("css selector", "#matrix-table th button")[1].click()
    blocking = [int(t) for t in texts(driver, "#matrix-table tbody tr td:nth-child(2)")]
    assert blocking == sorted(blocking, reverse=True) and len(blocking) == 61
    Select(driver.find_element("id", "m-axis")).select_by_visible_text("by rule")
    assert len(driver.find_elements("css selector", "#matrix-table thead th")) == 2 + 38
    click(driver, "m-csv")
    csv = driver.execute_script("return window.__annexaLastCsv")
    assert csv.splitlines()[0].startswith("repository,blocking,team,visibility,actions-pinned,")
    assert len(csv.splitlines()) == 62
    shot(driver, "matrix")


def test_hostile_repository_name_is_text(driver) -> None:  # type: ignore[no-untyped-def]
    click(driver, "tab-matrix")
    Select = __import__("selenium.webdriver.support.ui", fromlist=["Select"]).Select
    Select(driver.find_element("id", "m-axis")).select_by_visible_text("by policy")
    driver.find_element("id", "m-search").clear()
    driver.find_element("id", "m-search").send_keys("img")
    assert texts(driver, "#matrix-table tbody button.link") == ["acme/<img src=x onerror=alert(1)>"]
    assert driver.find_elements("css selector", "#matrix-table img") == []


def test_trend_changes_offenders_waivers_unknowns(driver) -> None:  # type: ignore[no-untyped-def]
    click(driver, "tab-trend")
    assert len(driver.find_elements("css selector", "#view-trend polyline")) == 6
    assert texts(driver, "#view-trend tbody tr td:first-child") == ["2026-11-01", "2026-11-02", "2026-11-03",
                                                                     "2026-11-04"]
    shot(driver, "trend")
    click(driver, "tab-changes")
    headings = texts(driver, "#view-changes h2")
    assert headings[0].startswith("Regressed policies (") and headings[1].startswith("New failures (")
    shot(driver, "changes")
    click(driver, "tab-offenders")
    counts = [int(t) for t in texts(driver, "#view-offenders tbody td:nth-child(2)")]
    assert counts and counts == sorted(counts, reverse=True)
    shot(driver, "offenders")
    click(driver, "tab-waivers")
    days = [int(t) for t in texts(driver, "#view-waivers tbody td:nth-child(5)")]
    assert days == sorted(days) and all(d <= 30 for d in days)
    shot(driver, "waivers")
    click(driver, "tab-unknowns")
    needs = texts(driver, "#view-unknowns tbody td:first-child")
    assert needs and set(needs) <= {"GitHub token permission administration:read", "a readable file",
                                    "security_and_analysis is only shown to admins"}
    shot(driver, "unknowns")


def test_drill_down_and_keyboard(driver) -> None:  # type: ignore[no-untyped-def]
    click(driver, "tab-offenders")
    first = driver.find_elements("css selector", "#view-offenders tbody button.link")[0]
    name = first.text
    first.click()
    assert driver.find_element("id", "view-repository").is_displayed()
    assert driver.find_element("id", "repo-name").text == name
    shot(driver, "repository")
    tab = driver.find_element("id", "tab-repository")
    tab.send_keys("\ue012")  # ArrowLeft
    assert driver.switch_to.active_element.get_attribute("id") == "tab-unknowns"
    assert driver.find_element("id", "view-unknowns").is_displayed()


def test_no_network_and_no_console_error(driver) -> None:  # type: ignore[no-untyped-def]
    assert browser.network_requests(driver) == []
    assert browser.console_errors(driver) == []
