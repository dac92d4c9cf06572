"""Every benchmark in its tiny mode, one after the other, so none of them rots.

    .venv/bin/python -m bench.smoke --out-dir /tmp/smoke [--no-postgres]

Each writes <name>.json into --out-dir. The sweep benchmark needs PostgreSQL (BENCH_PG_URL);
with --no-postgres it is left out. Exit status is non-zero if any benchmark failed to run.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

from bench import clicks, digest, footprint, slash, sweep, teams


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out-dir", type=Path, required=True)
    p.add_argument("--no-postgres", action="store_true", help="leave out the PostgreSQL-only sweep benchmark")
    args = p.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    runs = [("slash", slash.main), ("clicks", clicks.main), ("teams", teams.main), ("digest", digest.main),
            ("footprint", footprint.main)]  # fmt: skip
    if not args.no_postgres:
        runs.append(("sweep", sweep.main))
    failed = []
    for name, fn in runs:
        t0 = time.perf_counter()
        try:
            fn(["--smoke", "--out", str(args.out_dir / f"{name}.json")])
        except Exception:
            traceback.print_exc()
            failed.append(name)
        print(f"== {name}: {time.perf_counter() - t0:.1f}s", flush=True)
    if failed:
        print("failed:", ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
