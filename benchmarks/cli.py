"""CLI start-up on the embedded default (SQLite, demo data), measured with hyperfine.

flock /work/bench.lock .venv/bin/python -m benchmarks.cli                 # this checkout
git archive REV | tar -x -C /tmp/fm-before     # another version's source, to compare with
flock /work/bench.lock .venv/bin/python -m benchmarks.cli --before /tmp/fm-before

Issue 12's targets: `user list`, `stats`, `match --user`, `report list` within 0.6 s and
`--help` within 0.4 s. Next to each command's wall time it prints its CPU time (user + system,
steadier than wall time on a shared machine) and its fastest run (on a loaded machine the run
least disturbed, the nearest to a quiet figure), the same command run from another version's
source when --before names it (same interpreter and packages), and two floors measured in the
same run: the bare interpreter, and the imports every database command needs (SQLAlchemy's ORM,
pydantic-settings, Typer, rich).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FREEMARKET = Path(sys.executable).with_name("freemarket")
# Command -> target wall time in seconds.
COMMANDS = {
    "--help": 0.4,
    "user list": 0.6,
    "stats": 0.6,
    "match --user demo_anna": 0.6,
    "report list": 0.6,
}
FLOORS = {
    "python: interpreter": "-c pass",
    "python: the libraries": "-c 'import sqlalchemy.orm, pydantic_settings, typer, rich.table'",
}


def hyperfine(
    commands: dict[str, str], env: dict[str, str], runs: int, cwd: str
) -> dict[str, dict]:
    """Run hyperfine over name -> command line; return name -> its JSON result."""
    if shutil.which("hyperfine") is None:
        raise SystemExit("hyperfine is not installed (run `make test-tools`)")
    with tempfile.TemporaryDirectory(prefix="fm-hyperfine-") as scratch:
        out = Path(scratch) / "results.json"
        argv = ["hyperfine", "-N", "--warmup", "2", "--runs", str(runs), "--export-json", str(out)]
        for name, line in commands.items():
            # `--command-name=NAME`: a name such as "--help" must not read as hyperfine's flag.
            argv += [f"--command-name={name}", line]
        subprocess.run(argv, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
        results = json.loads(out.read_text())["results"]
    return {r["command"]: r for r in results}


def main() -> None:
    """Measure, then print one line per command: wall, CPU, target, ratio, before, floors."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--before", type=Path, help="A source tree of another version.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fm-cli-bench-") as scratch:
        env = {**os.environ, "DATA_DIR": f"{scratch}/data", "TERM": "dumb"}
        env.pop("DATABASE_URL", None)  # the embedded default: SQLite in DATA_DIR
        for setup in (["migrate"], ["demo"]):
            subprocess.run([str(FREEMARKET), *setup], env=env, cwd=scratch, check=True,
                           capture_output=True)  # fmt: skip
        commands = {name: f"{FREEMARKET} {name}" for name in COMMANDS}
        if args.before:
            # Its source first on the path; `python -c` leaves the arguments to the CLI.
            run = "'from cli.main import run; run()'"
            before = f"env PYTHONPATH={args.before} {sys.executable} -c {run}"
            commands |= {f"before: {name}": f"{before} {name}" for name in COMMANDS}
        commands |= {name: f"{sys.executable} {line}" for name, line in FLOORS.items()}
        # In the scratch directory: from the checkout, `python -c` would import this checkout's
        # `cli` (the current directory comes first on sys.path) and --before measured it twice.
        results = hyperfine(commands, env, args.runs, cwd=scratch)
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} cores, {args.runs} runs each")
    libraries = results["python: the libraries"]
    floor_cpu = libraries["user"] + libraries["system"]
    for name, target in COMMANDS.items():
        result = results[name]
        wall, cpu = result["mean"], result["user"] + result["system"]
        line = (
            f"freemarket {name}: wall {wall:.3f} s ± {result['stddev']:.3f} (target {target} s, "
            f"ratio {wall / target:.2f}, {'OK' if wall <= target else 'MISS'}), "
            f"fastest {result['min']:.3f} s; "
            f"CPU {cpu:.3f} s = {cpu / floor_cpu:.2f}x the libraries' import"
        )
        if args.before:
            was = results[f"before: {name}"]
            was_cpu = was["user"] + was["system"]
            line += f"; before: wall {was['mean']:.3f} s, fastest {was['min']:.3f} s, "
            line += f"CPU {was_cpu:.3f} s (CPU ratio {cpu / was_cpu:.2f})"
        print(line)
    for name in FLOORS:
        result = results[name]
        cpu = result["user"] + result["system"]
        wall, fastest = result["mean"], result["min"]
        print(f"{name}: wall {wall:.3f} s, fastest {fastest:.3f} s, CPU {cpu:.3f} s")


if __name__ == "__main__":
    main()
