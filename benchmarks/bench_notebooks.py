"""Wall time of each notebook under nbval in quick mode, as `make test` runs it (goal: all < 5 min).

    python benchmarks/bench_notebooks.py [--write]

Each notebook runs in its own pytest process with the repository's nbval settings.
"""
import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None):
    from benchmarks.machine import describe, table, write_section

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="store the table in benchmarks/README.md")
    args = parser.parse_args(argv)
    print(describe())
    rows, total = [], 0.0
    lessons = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    solutions = sorted((ROOT / "notebooks" / "solutions").glob("[0-9][0-9]_*.ipynb"))
    for notebook in lessons + solutions:
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", str(notebook)], cwd=ROOT, capture_output=True,
                                text=True, env={**os.environ, "WORKSHOP_QUICK": "1"})
        seconds = time.perf_counter() - start
        total += seconds
        rows.append((str(notebook.relative_to(ROOT / "notebooks")), f"{seconds:.0f}", "passed" if result.returncode == 0 else "FAILED"))
    rows.append(("all notebooks", f"{total:.0f}", "goal < 360 s"))
    text = table(rows, ("notebook (nbval, quick mode)", "seconds", "result"))
    print(text)
    if args.write:
        write_section("notebooks", f"{describe()}\n\n{text}")


if __name__ == "__main__":
    main()
