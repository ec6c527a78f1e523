"""The Dask engine at 2M, 10M and 20M rows next to the pandas engine (``make bench-scale``).

For each size, Adult is resampled as ``scripts/benchmark.py`` does (numbers jittered),
written as partitioned Parquet (500,000-row files, generated file by file), and the
whole pipeline (``dvc repro``) runs in a temporary copy of this repository with
``engine: dask``, XGBoost and the row-hash split; then, where it still fits, with
``engine: pandas`` on the same data, XGBoost and the same split (so the test ROC AUCs
compare like with like). Gates are not enforced in these copies: the benchmark
measures cost, and a gate verdict would stop ``dvc repro`` before drift and report.

Measured per run: wall time, the peak of the summed resident memory of the whole
process tree (the stage, its Dask scheduler and workers, kernels; sampled every
0.25 s with psutil), and the test ROC AUC from reports/metrics.json. Results go to
``reports/benchmarks/scale-<date>.json`` and ``.md``, the table into docs/performance.md.

Usage: python scripts/bench_scale.py [--sizes 2000000,10000000,20000000]
       [--pandas-sizes 2000000] [--workers 2] [--memory-limit 4GB]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scripts.benchmark import ROOT, environment, repo_copy, resampled

GENERATED = ROOT / "data" / "generated"
FILE_ROWS = 500_000
DOC_START, DOC_END = "<!-- scale table: start -->", "<!-- scale table: end -->"
MODEL = {"kind": "xgboost", "n_estimators": 500, "learning_rate": 0.1, "max_depth": 6}


def partitioned_adult(rows: int, seed: int = 42) -> Path:
    """Adult resampled to ``rows`` rows, as 500,000-row Parquet files (cached, git-ignored)."""
    folder = GENERATED / f"adult-{rows}-parts"
    if folder.is_dir() and (folder / "_complete").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    raw = pd.read_csv(ROOT / "data/raw/adult.csv.gz", skipinitialspace=True, na_values=["?"])
    for index, start in enumerate(range(0, rows, FILE_ROWS)):
        count = min(FILE_ROWS, rows - start)
        frame = resampled(raw, count, np.random.default_rng([seed, index]), start=start)
        frame.to_parquet(folder / f"part-{index:05d}.parquet", index=False)
    (folder / "_complete").touch()
    return folder


def tree_peak_rss(process: psutil.Process, stop: threading.Event, peak: list[int]) -> None:
    """Sample the summed RSS of ``process`` and all its descendants until ``stop``."""
    while not stop.is_set():
        try:
            members = [process, *process.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        total = 0
        for member in members:
            try:
                total += member.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        peak[0] = max(peak[0], total)
        stop.wait(0.25)


def run_pipeline(project: Path) -> dict[str, Any]:
    """``dvc repro`` once: wall time, peak RSS of the process tree, exit code, log tail."""
    log = project / "bench.log"
    with log.open("w") as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            [str(ROOT / ".venv/bin/dvc"), "repro"],
            cwd=project,
            env=environment(),
            stdout=output,
            stderr=output,
        )
        peak = [0]
        stop = threading.Event()
        sampler = threading.Thread(
            target=tree_peak_rss, args=(psutil.Process(process.pid), stop, peak)
        )
        sampler.start()
        code = process.wait()
        stop.set()
        sampler.join()
        seconds = time.perf_counter() - started
    metrics_file = project / "reports/metrics.json"
    auc = None
    if code == 0 and metrics_file.is_file():
        auc = json.loads(metrics_file.read_text())["test"]["roc_auc"]
    return {
        "seconds": round(seconds, 1),
        "peak_tree_rss_gb": round(peak[0] / 1e9, 2),
        "exit_code": code,
        "test_roc_auc": auc,
        "log_tail": "" if code == 0 else log.read_text()[-2000:],
    }


def configure(project: Path, data: Path, engine: str, workers: int, memory_limit: str) -> None:
    """Point the copy at the partitioned data; engine, XGBoost, row-hash split, gates off."""
    target = project / "data/generated" / data.name
    shutil.copytree(data, target, ignore=shutil.ignore_patterns("_complete"))
    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text())
    params["engine"] = engine
    params["dask"] |= {"n_workers": workers, "memory_limit": memory_limit}
    params["data"] |= {"raw_path": f"data/generated/{data.name}", "format": "parquet"}
    params["split"] |= {"method": "hash"}
    params["train"]["model"] = MODEL
    params["gates"] |= {"enforce": False}
    params["drift"] |= {"enforce": False}
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    for command in (["git", "add", "-A"], ["git", "-c", "user.name=b", "-c",
                    "user.email=b@b", "commit", "-qm", engine]):  # fmt: skip
        subprocess.run(command, cwd=project, check=True, capture_output=True)


def markdown(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    """The results as the table docs/performance.md shows."""
    lines = [
        f"Measured {meta['date']} on {meta['machine']} with `make bench-scale` "
        f"(LocalCluster of {meta['workers']} workers x 1 thread, {meta['memory_limit']} each; "
        "`dvc repro`, every stage; one run per cell).",
        "",
        "| rows | engine | wall time | s per M rows | peak RSS, process tree | test ROC AUC |",
        "|---|---|---|---|---|---|",
    ]
    for row in results:
        if row["exit_code"] != 0:
            outcome = row.get("note") or f"failed (exit {row['exit_code']})"
            lines.append(f"| {row['rows']:,} | {row['engine']} | {outcome} | | | |")
            continue
        per_million = row["seconds"] / (row["rows"] / 1e6)
        lines.append(
            f"| {row['rows']:,} | {row['engine']} | {row['seconds']:.0f} s | {per_million:.1f} | "
            f"{row['peak_tree_rss_gb']:.2f} GB | {row['test_roc_auc']:.4f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    """Run every size on the Dask engine, and the pandas engine where asked; write reports."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000000,10000000,20000000")
    parser.add_argument("--pandas-sizes", default="2000000")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--engines", default="dask,pandas", help="which engines to run")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",") if size]
    pandas_sizes = {int(size) for size in args.pandas_sizes.split(",") if size}
    meta = {
        "date": datetime.now(tz=UTC).strftime("%Y-%m-%d"),
        "machine": f"{psutil.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB",
        "workers": args.workers,
        "memory_limit": args.memory_limit,
    }
    results = []
    for rows in sizes:
        data = partitioned_adult(rows)
        engines = ["dask", *(["pandas"] if rows in pandas_sizes else [])]
        for engine in [name for name in engines if name in args.engines.split(",")]:
            with tempfile.TemporaryDirectory(prefix="tabpipe-scale-") as work:
                project = repo_copy(Path(work), 32_561)
                configure(project, data, engine, args.workers, args.memory_limit)
                print(f"{rows:,} rows, {engine}: running", flush=True)  # noqa: T201
                result = {"rows": rows, "engine": engine, **run_pipeline(project)}
                shown = {k: v for k, v in result.items() if k != "log_tail"}
                print(json.dumps(shown), flush=True)  # noqa: T201
                results.append(result)
    out = ROOT / "reports" / "benchmarks"
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"scale-{meta['date']}"
    if stem.with_suffix(".json").is_file():  # runs of the same day add up, newest wins
        earlier = json.loads(stem.with_suffix(".json").read_text())["results"]
        done = {(row["rows"], row["engine"]) for row in results}
        results = [r for r in earlier if (r["rows"], r["engine"]) not in done] + results
    results.sort(key=lambda row: (row["rows"], row["engine"]))
    stem.with_suffix(".json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    table = markdown(results, meta)
    stem.with_suffix(".md").write_text(table)
    doc = ROOT / "docs" / "performance.md"
    text = doc.read_text()
    if DOC_START in text:
        before, rest = text.split(DOC_START, 1)
        after = rest.split(DOC_END, 1)[1]
        doc.write_text(f"{before}{DOC_START}\n{table}{DOC_END}{after}")
    sys.stdout.write(table)


if __name__ == "__main__":
    main()
