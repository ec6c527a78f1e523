"""What the pipeline costs next to a bare scikit-learn script doing the same learning work.

For each size (Adult as shipped, and about a million rows made from it), in a temporary
copy of this repository, alternately (bare, pipeline, bare, pipeline, ...):

- bare: ``python scripts/bare_sklearn.py`` (read, clean, split, fit, predict, score);
- pipeline: ``dvc repro --force`` (every stage, notebooks included).

Then each stage command once (wall time and peak RSS per process, and the seconds it
spends importing modules, from ``PYTHONPROFILEIMPORTTIME``), a no-op ``dvc repro``,
``tabpipe --help`` and, on Adult, the experiment loop: ``dvc exp run -S
train.model.learning_rate=0.05`` (train to promote), the same experiment again at once
(an exact repeat), the committed configuration, the experiment once more (DVC's run
cache restores what it saved), and a ten-trial Optuna search (``train.search``). Each
process is timed by wall clock and its peak resident memory read from ``wait4``. Results go to
``reports/benchmarks/<date>.json`` and ``.md``, and the table into ``docs/performance.md``.

Usage: python scripts/benchmark.py [--repeats N] [--sizes 32561,1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent  # the environment running this script (.venv)
GENERATED = ROOT / "data" / "generated"
ADULT_ROWS = 32_561
STAGES = ("ingest", "split", "train", "evaluate", "promote", "drift", "eda", "report")
GOALS = {  # issue 37's ratios to the bare script; the seconds from issues 28 and 14
    "small_ratio": 15.0,
    "large_ratio": 2.5,
    "experiment_ratio": 15.0,
    "restore_ratio": 4.0,
    "noop_ratio": 1.0,
    "large_rss_ratio": 1.2,
    "help_s": 0.3,
    "noop_s": 2.0,
    "experiment_s": 25.0,
    "repeat_s": 5.0,
    "startup_s": 1.5,
    "search_experiments": 2.0,  # ten trials cost less than this many plain experiments
}
EXPERIMENT = "train.model.learning_rate=0.05"
SEARCH = (
    "train.search={sampler: tpe, n_trials: 10, space: {learning_rate: "
    "{low: 0.02, high: 0.3, log: true}, max_leaf_nodes: [15, 31, 63]}}"
)
DOC_START, DOC_END = "<!-- benchmark table: start -->", "<!-- benchmark table: end -->"


@dataclass(frozen=True)
class Measure:
    """One command's wall time and the peak RSS of its largest process."""

    seconds: float
    peak_rss_mb: float


def environment() -> dict[str, str]:
    """This environment without MLflow and DVC settings, the project's tools first on PATH."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    path = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**inherited, "PATH": path, "DVC_NO_ANALYTICS": "1"}


def measure(command: list[str], cwd: Path, extra: dict[str, str] | None = None) -> Measure:
    """Wall time and peak RSS of a command and the processes it waited for (``wait4``)."""
    with tempfile.TemporaryFile() as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=cwd, env=environment() | (extra or {}), stdout=output, stderr=output
        )
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            output.seek(0)
            tail = output.read().decode(errors="replace")[-3000:]
            msg = f"{' '.join(command)} exited {process.returncode} in {cwd}:\n{tail}"
            raise RuntimeError(msg)
    return Measure(seconds=round(seconds, 3), peak_rss_mb=round(usage.ru_maxrss / 1024, 1))


def import_seconds(command: list[str], cwd: Path) -> float:
    """Seconds a command's process spends importing modules (``-X importtime``'s self times)."""
    env = environment() | {"PYTHONPROFILEIMPORTTIME": "1"}
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=True)
    total_us = 0
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            self_us = line.removeprefix("import time:").split("|")[0].strip()
            if self_us.isdigit():
                total_us += int(self_us)
    return round(total_us / 1e6, 2)


def startup_seconds(command: list[str], cwd: Path) -> float:
    """Seconds from a stage process's start to its first log line (then it runs to the end)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    first = None
    assert process.stdout is not None  # noqa: S101 - piped above
    for line in process.stdout:
        if first is None and (" INFO " in line or " WARNING " in line):
            first = time.perf_counter() - started
    if process.wait() != 0:
        msg = f"{' '.join(command)} exited {process.returncode} in {cwd}"
        raise RuntimeError(msg)
    return round(first if first is not None else time.perf_counter() - started, 2)


def experiment_loop(repo: Path) -> dict[str, float]:
    """``dvc exp run -S ...``, at once again, after another one, and a ten-trial search.

    The exact repeat finds every stage up to date (promote included, which then answers
    without MLflow); after the committed configuration ran in between, DVC's run cache
    restores the stages whose runs it saved.
    """
    committed = yaml.safe_load((repo / "params.yaml").read_text())["train"]["model"]
    baseline = f"train.model.learning_rate={committed['learning_rate']}"
    first = measure(["dvc", "exp", "run", "-S", EXPERIMENT], repo)
    repeat = measure(["dvc", "exp", "run", "-S", EXPERIMENT], repo)
    run(["dvc", "exp", "run", "-S", baseline], repo)
    restored = measure(["dvc", "exp", "run", "-S", EXPERIMENT], repo)
    search = measure(["dvc", "exp", "run", "-S", baseline, "-S", SEARCH], repo)
    return {
        "experiment_s": first.seconds,
        "repeat_s": repeat.seconds,
        "restore_s": restored.seconds,
        "search_s": search.seconds,
    }


def large_adult(rows: int, seed: int = 42) -> Path:
    """Adult resampled to ``rows`` rows with small noise on the numbers (cached, git-ignored)."""
    path = GENERATED / f"adult-{rows}.parquet"
    if path.exists():
        return path
    raw = pd.read_csv(ROOT / "data/raw/adult.csv.gz", skipinitialspace=True, na_values=["?"])
    frame = resampled(raw, rows, np.random.default_rng(seed))
    GENERATED.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    return path


def resampled(
    raw: pd.DataFrame, rows: int, rng: np.random.Generator, start: int = 0
) -> pd.DataFrame:
    """``rows`` rows drawn from ``raw`` with small noise on the numbers; ids from ``start``."""
    frame = raw.iloc[rng.integers(0, len(raw), rows)].reset_index(drop=True)
    frame["Unnamed: 0"] = np.arange(start, start + rows)
    jitter = {"age": (2, 17, 90), "hours-per-week": (2, 1, 99)}
    for column, (width, low, high) in jitter.items():
        frame[column] = (frame[column] + rng.integers(-width, width + 1, rows)).clip(low, high)
    for column in ("capital-gain", "capital-loss"):
        scaled = frame[column] * rng.normal(1.0, 0.05, rows)
        frame[column] = scaled.round().clip(0, 99_999).astype("int64")
    return frame


def repo_copy(destination: Path, rows: int) -> Path:
    """A git copy of the work tree whose raw data has ``rows`` rows (resampled when larger)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination / name)
    if rows != ADULT_ROWS:
        source = large_adult(rows)
        target = destination / "data/generated" / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        params = yaml.safe_load((destination / "params.yaml").read_text())
        params["data"] |= {"raw_path": f"data/generated/{source.name}", "format": "parquet"}
        (destination / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for command in (
        ["git", "init", "-q"],
        ["git", "add", "-A"],
        ["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-qm", "bench"],
    ):
        subprocess.run(command, cwd=destination, check=True, capture_output=True)
    return destination


def median(values: list[Measure], field: str) -> float:
    """The median of one field over the measures, rounded."""
    return round(float(statistics.median(getattr(m, field) for m in values)), 3)


def bench_size(rows: int, repeats: int, work: Path) -> dict[str, Any]:
    """Alternate the bare script and the pipeline ``repeats`` times at one size."""
    repo = repo_copy(work / f"repo-{rows}", rows)
    raw = yaml.safe_load((repo / "params.yaml").read_text())["data"]["raw_path"]
    bare_cmd = [str(VENV_BIN / "python"), "scripts/bare_sklearn.py", raw]
    bare: list[Measure] = []
    pipeline: list[Measure] = []
    for index in range(repeats):  # alternate, so drifts in machine load hit both sides
        print(f"  [{rows:,} rows] round {index + 1}/{repeats}: bare", flush=True)  # noqa: T201
        bare.append(measure(bare_cmd, repo))
        print(f"  [{rows:,} rows] round {index + 1}/{repeats}: dvc repro --force", flush=True)  # noqa: T201
        pipeline.append(measure(["dvc", "repro", "--force"], repo))
    stages = {stage: asdict(measure(["tabpipe", *stage.split()], repo)) for stage in STAGES}
    for stage in STAGES:
        stages[stage]["import_s"] = import_seconds(["tabpipe", stage], repo)
        stages[stage]["startup_s"] = startup_seconds(["tabpipe", stage], repo)
    run(["dvc", "commit", "--force"], repo)
    noop = [measure(["dvc", "repro"], repo) for _ in range(3)]
    loop = experiment_loop(repo) if rows == ADULT_ROWS else {}
    return {
        "rows": rows,
        "bare": [asdict(m) for m in bare],
        "pipeline": [asdict(m) for m in pipeline],
        "bare_median_s": median(bare, "seconds"),
        "pipeline_median_s": median(pipeline, "seconds"),
        "ratio": round(median(pipeline, "seconds") / median(bare, "seconds"), 2),
        "bare_peak_rss_mb": median(bare, "peak_rss_mb"),
        "pipeline_peak_rss_mb": median(pipeline, "peak_rss_mb"),
        "rss_ratio": round(median(pipeline, "peak_rss_mb") / median(bare, "peak_rss_mb"), 2),
        "stages": stages,
        "noop_repro_median_s": median(noop, "seconds"),
        **loop,
    }


def run(command: list[str], cwd: Path) -> None:
    """Run a command in ``cwd`` with :func:`environment`; fail on a non-zero exit."""
    subprocess.run(command, cwd=cwd, env=environment(), check=True, capture_output=True)


def markdown(result: dict[str, Any]) -> str:
    """The benchmark result as the Markdown tables docs/performance.md shows, goals beside."""
    lines = [
        f"Measured {result['date']} on {result['machine']} (commit `{result['commit'][:10]}`), "
        f"medians of {result['repeats']} alternating runs.",
        "",
        "| rows | bare script | pipeline (`dvc repro --force`) | ratio | goal "
        "| bare peak RSS | pipeline peak RSS | RSS ratio | goal |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for size in result["sizes"]:
        small = size["rows"] == ADULT_ROWS
        goal = GOALS["small_ratio"] if small else GOALS["large_ratio"]
        rss_goal = "" if small else f"<= {GOALS['large_rss_ratio']}x"
        lines.append(
            f"| {size['rows']:,} | {size['bare_median_s']:.1f} s "
            f"| {size['pipeline_median_s']:.1f} s | {size['ratio']:.2f}x | <= {goal}x "
            f"| {size['bare_peak_rss_mb']:.0f} MB | {size['pipeline_peak_rss_mb']:.0f} MB "
            f"| {size['rss_ratio']:.2f}x | {rss_goal} |"
        )
    lines += [
        "",
        "Per stage (one run each: wall time / peak RSS of the process / time spent importing"
        f" modules / start-up, to the first log line, goal <= {GOALS['startup_s']} s):",
        "",
    ]
    header = "| stage | " + " | ".join(f"{s['rows']:,} rows" for s in result["sizes"]) + " |"
    lines += [header, "|---|" + "---|" * len(result["sizes"])]
    for stage in STAGES:
        cells = [
            f"{s['stages'][stage]['seconds']:.1f} s / {s['stages'][stage]['peak_rss_mb']:.0f} MB"
            f" / {s['stages'][stage].get('import_s', float('nan')):.1f} s"
            f" / {s['stages'][stage].get('startup_s', float('nan')):.2f} s"
            for s in result["sizes"]
        ]
        lines.append(f"| `tabpipe {stage}` | " + " | ".join(cells) + " |")
    lines += _ratio_lines(result)
    lines += ["", "| measure | measured | goal |", "|---|---|---|"]
    lines.append(f"| `tabpipe --help` | {result['help_median_s']:.2f} s | <= {GOALS['help_s']} s |")
    for size in result["sizes"]:
        lines.append(
            f"| no-op `dvc repro`, {size['rows']:,} rows | {size['noop_repro_median_s']:.2f} s "
            f"| <= {GOALS['noop_s']} s |"
        )
        if "experiment_s" in size:
            search_goal = GOALS["search_experiments"] * size["experiment_s"]
            lines += [
                f"| `dvc exp run -S {EXPERIMENT}` (train to promote) | "
                f"{size['experiment_s']:.1f} s | <= {GOALS['experiment_s']} s |",
                f"| the same experiment again at once (exact repeat) | {size['repeat_s']:.1f} s "
                f"| <= {GOALS['repeat_s']} s |",
                f"| the same experiment after another one (DVC run cache) "
                f"| {size['restore_s']:.1f} s | |",
                f"| a ten-trial search (`train.search`, TPE) | {size['search_s']:.1f} s "
                f"| < {GOALS['search_experiments']:g} experiments ({search_goal:.1f} s) |",
            ]
    return "\n".join(lines) + "\n"


def _ratio_lines(result: dict[str, Any]) -> list[str]:
    """Issue 37's table: each measure as a ratio to the bare script of its size, goal beside."""
    lines = ["", "| measure (ratio to the bare script) | ratio | goal |", "|---|---|---|"]
    for size in result["sizes"]:
        bare = size["bare_median_s"]
        small = size["rows"] == ADULT_ROWS
        goal = GOALS["small_ratio"] if small else GOALS["large_ratio"]
        lines.append(f"| pipeline at {size['rows']:,} rows | {size['ratio']:.2f}x | <= {goal}x |")
        if not small:
            lines.append(
                f"| peak RSS at {size['rows']:,} rows | {size['rss_ratio']:.2f}x "
                f"| <= {GOALS['large_rss_ratio']}x |"
            )
        if "experiment_s" in size:
            lines += [
                f"| `dvc exp run -S {EXPERIMENT}` | {size['experiment_s'] / bare:.2f}x "
                f"| <= {GOALS['experiment_ratio']}x |",
                f"| back to an earlier experiment (run cache) | {size['restore_s'] / bare:.2f}x "
                f"| <= {GOALS['restore_ratio']}x |",
            ]
        lines.append(
            f"| no-op `dvc repro`, {size['rows']:,} rows | "
            f"{size['noop_repro_median_s'] / bare:.2f}x | <= {GOALS['noop_ratio']}x |"
        )
    return lines


def update_doc(table: str) -> None:
    """Replace the generated table in docs/performance.md."""
    doc = ROOT / "docs/performance.md"
    text = doc.read_text()
    start, end = text.index(DOC_START) + len(DOC_START), text.index(DOC_END)
    doc.write_text(text[:start] + "\n" + table + text[end:])


def measured_on(now: datetime) -> dict[str, str]:
    """When, on what machine and at which commit a measurement ran (for its results file)."""
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "date": now.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "commit": commit,
    }


def main() -> None:
    """Parse the options, benchmark each size, write the JSON and Markdown results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", default=f"{ADULT_ROWS},1000000")
    args = parser.parse_args()
    sizes = [int(value) for value in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="tabpipe-bench-") as folder:
        help_runs = [measure(["tabpipe", "--help"], ROOT) for _ in range(5)]
        results = [bench_size(rows, args.repeats, Path(folder)) for rows in sizes]
    now = datetime.now(UTC)
    result = {
        **measured_on(now),
        "repeats": args.repeats,
        "goals": GOALS,
        "help_median_s": median(help_runs, "seconds"),
        "sizes": results,
    }
    out = ROOT / "reports/benchmarks"
    out.mkdir(parents=True, exist_ok=True)
    full = sizes == [ADULT_ROWS, 1_000_000] and args.repeats >= 3  # noqa: PLR2004
    stem = now.strftime("%Y-%m-%d")
    if not full:  # a partial run is kept beside the full one, not shown as the latest table
        stem += f"-{'-'.join(map(str, sizes))}x{args.repeats}"
    (out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    table = markdown(result)
    (out / f"{stem}.md").write_text(table)
    if full:
        update_doc(table)
    sys.stdout.write(table)


if __name__ == "__main__":
    main()
