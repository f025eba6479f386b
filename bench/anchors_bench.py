"""Do annexa's anchor words lose any semgrep match? semgrep over every Python file of a checkout, twice.

Once as annexa runs it (only the files that hold every word of one of a rule's anchor terms, each rule only on
the files holding its own, see ``annexa.scan.semgrep_anchors``) and once every rule on every file; the matches
must be identical. Prints the files given,
the matches and the wall time of each run.

    python bench/anchors_bench.py DIR [DIR ...]     # e.g. diffusers and peft at the pins of bench/realworld.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from annexa.catalog import load_catalog
from annexa.collect.checkout import Checkout
from annexa.scan.semgrep import run_semgrep
from annexa.scan.semgrep_anchors import Prefilter


def main() -> int:
    catalog = load_catalog()
    lost = 0
    print("| checkout | commit | Python files | given to semgrep | matches | with anchors | all files | same |")
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for folder in sys.argv[1:]:
        checkout = Checkout(Path(folder))
        files = [f for f in checkout.files() if f.endswith((".py", ".pyi"))]
        start = time.monotonic()
        anchored = run_semgrep(checkout, files, catalog)
        anchored_s = time.monotonic() - start
        original = Prefilter.rules_for
        Prefilter.rules_for = lambda self, data: None  # type: ignore[method-assign]
        try:
            start = time.monotonic()
            everything = run_semgrep(checkout, files, catalog)
            everything_s = time.monotonic() - start
        finally:
            Prefilter.rules_for = original  # type: ignore[method-assign]
        same = anchored.matches == everything.matches and anchored.error is None and everything.error is None
        lost += not same
        commit = subprocess.run(["git", "-C", folder, "rev-parse", "--short=8", "HEAD"], capture_output=True,
                                text=True, check=False).stdout.strip()
        count = sum(len(m) for m in everything.matches.values())
        print(f"| {Path(folder).name} | {commit} | {len(anchored.targets):,} | "
              f"{len(anchored.targets) - anchored.ruled_out:,} | {count:,} | {anchored_s:.2f} s | "
              f"{everything_s:.2f} s | {'yes' if same else 'NO'} |")
        if not same:
            for rule in sorted(everything.matches):
                a = {(m.path, m.line, m.variant) for m in anchored.matches.get(rule, [])}
                b = {(m.path, m.line, m.variant) for m in everything.matches[rule]}
                for item in sorted(b - a):
                    print(f"  lost {rule} {item}")
                for item in sorted(a - b):
                    print(f"  extra {rule} {item}")
    return 1 if lost else 0


if __name__ == "__main__":
    raise SystemExit(main())
