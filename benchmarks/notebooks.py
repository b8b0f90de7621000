"""Wall time and peak memory of every notebook, written as a table into benchmarks/README.md.

The course's budgets: each notebook runs in about 60 s (ceiling 3 min) and under 2 GB on 2 CPU
cores. This is a report, not a timed test: `make test` never runs it (`make bench` does).

Each notebook executes in a fresh child process (this script with ``--one``) that runs it with
nbclient, as `make notebooks` does, without writing it back. The time is the whole
restart-and-run-all: kernel start, every cell, shutdown. The memory is the kernel's peak resident
set size: once the kernel has exited, the child's ``getrusage(RUSAGE_CHILDREN).ru_maxrss`` is the
largest peak of the processes it waited for (the kernel, and anything the kernel started and
waited for); a psutil sample every 0.2 s cross-checks it.

    python benchmarks/notebooks.py                      # every notebook; rewrites the table
    python benchmarks/notebooks.py 05a_tokenization     # some notebooks; prints only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
README = Path(__file__).resolve().parent / "README.md"
START = "<!-- notebooks-table: written by benchmarks/notebooks.py, replaced on each full run -->"
END = "<!-- end of notebooks-table -->"
SECONDS_TARGET, SECONDS_CEILING, MEMORY_CEILING_MB = 60, 180, 2048
SECTION = f"""
## Notebooks: time and peak memory (`python benchmarks/notebooks.py`)

Every notebook executed from a fresh kernel with nbclient (restart and run all, offline:
`HF_HUB_OFFLINE=1`), one at a time. Time is the whole run, kernel start included; memory is the
kernel's peak resident set size. Budgets: about 60 s per notebook (ceiling 3 min) and under
2 GB, on 2 CPU cores. The development machine is shared with training jobs, so the load average
is recorded with the table: times on an idle laptop are shorter.

{START}
{END}
"""


def notebook_paths(names: list[str]) -> list[Path]:
    paths = sorted(NOTEBOOKS.glob("*.ipynb")) + sorted(NOTEBOOKS.glob("solutions/*.ipynb"))
    if names:
        paths = [p for p in paths if any(n in str(p.relative_to(NOTEBOOKS)) for n in names)]
        if not paths:
            raise SystemExit(f"no notebook matches {names}")
    return paths


def run_one(path: Path) -> dict:
    """Execute one notebook (in this process, its kernel a child); its time and peak memory."""
    import nbformat
    import psutil
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=900,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    sampled = {"peak": 0}
    done = threading.Event()

    def sample() -> None:  # the cross-check: RSS of every descendant, every 0.2 s
        me = psutil.Process()
        while not done.wait(0.2):
            for child in me.children(recursive=True):
                try:
                    sampled["peak"] = max(sampled["peak"], child.memory_info().rss)
                except psutil.Error:
                    pass

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    error = None
    started = time.perf_counter()
    try:
        client.execute()
    except Exception as failure:  # a failing cell: report it in the table
        error = f"{type(failure).__name__}: {str(failure).strip().splitlines()[-1][:120]}"
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    return {
        "seconds": seconds,
        "training_steps": training_steps(notebook),
        "peak_mb": peak_kb / 1024,
        "sampled_peak_mb": sampled["peak"] / 2**20,
        "error": error,
    }


def training_steps(notebook) -> int:
    """The steps every training loop of an executed notebook ran: the sum of its finished
    progress bars' counts ("1740/1740 [00:20<...]"), read from the saved widget state."""
    widgets = notebook.metadata.get("widgets", {})
    state = widgets.get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    total = 0
    for model in state.values():
        value = model.get("state", {}).get("value")
        found = (
            re.match(r"[\s\u2007]*(\d+)/(\d+)[\s\u2007]\[", value)
            if isinstance(value, str)
            else None
        )
        if found and found[1] == found[2]:
            total += int(found[1])
    return total


def measure(path: Path, env: dict[str, str] | None = None) -> dict:
    """Run ``--one`` in a fresh child, so its rusage holds this notebook's kernel only; ``env``
    replaces the environment the child and its kernel get."""
    result = subprocess.run(
        [sys.executable, __file__, "--one", str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    lines = result.stdout.strip().splitlines()
    if result.returncode or not lines:
        return {"seconds": float("nan"), "peak_mb": float("nan"), "error": result.stderr[-300:]}
    return json.loads(lines[-1])


def verdict(row: dict) -> str:
    if row["error"]:
        return f"**failed**: {row['error']}"
    problems = []
    if row["seconds"] > SECONDS_CEILING:
        problems.append(f"**over {SECONDS_CEILING // 60} min**")
    elif row["seconds"] > SECONDS_TARGET * 1.5:
        problems.append(f"slower than ~{SECONDS_TARGET} s")
    if row["peak_mb"] > MEMORY_CEILING_MB:
        problems.append("**over 2 GB**")
    return ", ".join(problems) or "within budget"


def table(rows: dict[str, dict], load: tuple[float, float, float], versions: str) -> str:
    lines = [
        "| notebook | seconds | kernel peak memory | budget |",
        "|---|---:|---:|---|",
    ]
    for name, row in rows.items():
        lines.append(
            f"| `{name}` | {row['seconds']:.0f} | {row['peak_mb']:,.0f} MB | {verdict(row)} |"
        )
    total = sum(row["seconds"] for row in rows.values())
    lines.append(f"| **all {len(rows)}** | **{total:.0f}** | | |")
    machine = (
        f"{os.cpu_count()} cores, load average {load[0]:.1f} at the start; "
        f"Python {platform.python_version()}, {versions}"
    )
    return "\n".join(lines) + f"\n\nMeasured {date.today().isoformat()} on {machine}."


def write_readme(text: str) -> None:
    readme = README.read_text()
    if START not in readme:
        readme = readme.rstrip("\n") + "\n" + SECTION
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
    README.write_text(pattern.sub(lambda _: f"{START}\n{text}\n{END}", readme))


def framework_versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    found = []
    for package in ("torch", "tensorflow-cpu", "tensorflow"):
        try:
            found.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            pass
    return ", ".join(found)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("names", nargs="*", help="only notebooks whose path contains one of these")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    for variable, value in {
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "TF_ENABLE_ONEDNN_OPTS": "0",
        "HF_HUB_OFFLINE": "1",
        "PYTHONHASHSEED": "0",
    }.items():
        os.environ.setdefault(variable, value)
    if args.one:
        print(json.dumps(run_one(args.one)))
        return 0

    load = os.getloadavg()
    rows = {}
    for path in notebook_paths(args.names):
        name = str(path.relative_to(NOTEBOOKS))
        rows[name] = row = measure(path)
        sampled = row.get("sampled_peak_mb", float("nan"))
        print(
            f"{name}: {row['seconds']:.0f} s, kernel peak {row['peak_mb']:,.0f} MB "
            f"(sampled {sampled:,.0f} MB): {verdict(row)}",
            flush=True,
        )
    text = table(rows, load, framework_versions())
    print("\n" + text)
    if args.names:
        print("\n(some notebooks only: benchmarks/README.md left as it was)")
    else:
        write_readme(text)
        print(f"\nwrote the table into {README.relative_to(ROOT)}")
    failed = any(row["error"] for row in rows.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
