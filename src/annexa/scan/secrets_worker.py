"""A worker process of a parallel secret scan: ``python -m annexa.scan.secrets_worker``.

It reads one job (files, wanted lines, baseline hashes) as JSON on stdin and writes the scan as JSON on stdout:
types, places and short hashes only, never a secret's value. It imports the scanner alone, never the CLI, and
exits when its share is done.
"""

from __future__ import annotations

import json
import sys

from annexa.scan.secrets import run_worker_job


def main() -> int:
    """Run the job on stdin; exit 0 with the scan on stdout."""
    json.dump(run_worker_job(json.load(sys.stdin)), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
