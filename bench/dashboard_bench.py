"""Size and time to interactive of the dashboard for a large org, in headless Chromium.

    python bench/dashboard_bench.py [--repos 10000] [--days 3]

Records are generated (tests/dashboard/records.py: every repository x 38 rules of the shipped policies, a few
percent failing or unknown, daily scans), so the figure is about the page's own cost, not about any real org.
Time to interactive is measured inside the page: from the start of its script to the end of the first render
of every view (``window.__annexaReady``), plus the wall time of Chromium's navigation.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.dashboard import browser  # noqa: E402
from tests.dashboard.records import org  # noqa: E402

from annexa.dashboard import build_data, render_dashboard  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repos", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=3)
    args = parser.parse_args()
    records = org(args.repos, args.days)
    start = time.perf_counter()
    data = build_data(records, dt.datetime(2026, 11, 27, tzinfo=dt.UTC))
    page = render_dashboard(data)
    build = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "index.html"
        out.write_text(page, encoding="utf-8")
        with browser.chromium() as driver:
            start = time.perf_counter()
            driver.get(out.as_uri())
            ready = driver.execute_script("return window.__annexaReady")
            load = time.perf_counter() - start
            driver.find_element("id", "tab-matrix").click()
            start = time.perf_counter()
            driver.find_element("id", "m-search").send_keys("repo-01")
            count = driver.find_element("id", "m-count").text
            search = time.perf_counter() - start
            errors = browser.console_errors(driver)
            network = browser.network_requests(driver)
    print(f"repositories {args.repos}, runs {len(records)}, findings {sum(len(r['findings']) for r in records)}")
    print(f"build (python) {build:.2f} s; page {len(page.encode()) / 1e6:.2f} MB")
    print(f"chromium: navigation {load:.2f} s; script to interactive {ready / 1000:.2f} s; "
          f"filter keystrokes {search:.2f} s ({count}); console errors {len(errors)}; network requests {len(network)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
