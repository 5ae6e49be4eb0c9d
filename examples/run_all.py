"""Run every example workflow and collect their reports under one folder.

Usage: ``python examples/run_all.py --output demo_output [--only NAME ...]``

Each example is a script ``examples/NN_name.py`` taking ``--output DIR``; it
prints its metrics and writes figures and an HTML report there. This runner
starts each in its own process (a fresh TensorFlow, as a user would run it),
with a time limit, and writes ``summary.md`` listing every example, its
status, its wall time and the metrics it printed.
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TIME_LIMIT_S = 300


def discover(only):
    scripts = sorted(p for p in HERE.glob("[0-9][0-9]_*.py"))
    if only:
        scripts = [p for p in scripts if any(name in p.stem for name in only)]
    return scripts


def run(script, output):
    target = output / script.stem
    target.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, str(script), "--output", str(target)],
            capture_output=True, text=True, timeout=TIME_LIMIT_S,
        )
        status = "ok" if proc.returncode == 0 else f"failed (exit {proc.returncode})"
        out, err = proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        status, out, err = f"timed out after {TIME_LIMIT_S} s", exc.stdout or "", exc.stderr or ""
        out = out.decode() if isinstance(out, bytes) else out
        err = err.decode() if isinstance(err, bytes) else err
    elapsed = time.perf_counter() - start
    (target / "stdout.txt").write_text(out)
    return status, elapsed, out, err


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="demo_output", type=Path)
    parser.add_argument("--only", nargs="*", default=None,
                        help="run examples whose name contains one of these")
    args = parser.parse_args(argv)
    output = args.output.resolve()
    output.mkdir(parents=True, exist_ok=True)
    lines = ["# keraslearn demo", "", "| example | status | seconds |", "|---|---|---|"]
    sections, failures = [], 0
    for script in discover(args.only):
        print(f"== {script.stem}", flush=True)
        status, elapsed, out, err = run(script, output)
        print(out, end="", flush=True)
        if status != "ok":
            failures += 1
            print(f"{script.stem}: {status}\n{err[-3000:]}", file=sys.stderr)
        print(f"-- {script.stem}: {status} in {elapsed:.1f} s\n", flush=True)
        lines.append(f"| {script.stem} | {status} | {elapsed:.1f} |")
        sections += ["", f"## {script.stem}", "", "```", out.strip(), "```"]
    (output / "summary.md").write_text("\n".join(lines + sections) + "\n")
    print(f"Summary, figures and reports written under {output}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
