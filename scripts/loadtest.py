"""A bounded load test of the served champion (``make serve``) on 127.0.0.1.

Starts ``make serve`` on a free port (or uses ``--url``), waits for ``/ping``, then for
each request size (one row, 1,000 rows of the test split as JSON records) runs
``--clients`` concurrent clients for ``--duration`` seconds after a ``--ramp``-second
ramp-up (clients start one after another; requests begun during the ramp are not
counted). Reports p50 / p95 / p99 latency, throughput and error rate, against the
budget of issue 16: single-row p99 <= 50 ms and no errors at 8 clients.

Results go to ``reports/benchmarks/loadtest-<date>.{json,md}`` and the table into
docs/performance.md. Not part of ``make test``: it measures, it does not assert.

Usage: python scripts/loadtest.py [--clients 8] [--duration 20] [--ramp 4] [--url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scripts.benchmark import measured_on

ROOT = Path(__file__).resolve().parents[1]
BUDGET_P99_MS = 50.0
DOC_START, DOC_END = "<!-- loadtest table: start -->", "<!-- loadtest table: end -->"


@dataclass(frozen=True)
class Scenario:
    """What one request size measured over the counted window."""

    rows_per_request: int
    clients: int
    seconds: float
    requests: int
    errors: int
    throughput_rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float


def free_port() -> int:
    """A port nothing listens on, on the loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(url: str | None, root: Path = ROOT, env: dict[str, str] | None = None) -> Iterator[str]:
    """The scoring server's base URL: ``url`` as given, or ``make serve`` started in ``root``.

    A started server is stopped (its whole process group) on the way out.
    """
    if url is not None:
        yield url.rstrip("/")
        return
    port = free_port()
    server = subprocess.Popen(  # the documented command, fixed arguments
        ["make", "serve"],
        cwd=root,
        env={**(os.environ if env is None else env), "TABPIPE_SERVE_PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/ping", timeout=2).status_code == 200:  # noqa: PLR2004
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                msg = "make serve did not answer /ping within 120 s (is there a champion?)"
                raise RuntimeError(msg)
            time.sleep(0.5)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def payload(rows: int) -> bytes:
    """``rows`` rows of the test split, without the target, as a JSON records request."""
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    test = pd.read_parquet(ROOT / params["paths"]["split_dir"] / "test.parquet")
    features = test.drop(columns=params["data"]["target"])
    sample = features.iloc[np.arange(rows) % len(features)]
    records = json.loads(sample.to_json(orient="records"))  # NaN -> null, categories -> text
    return json.dumps({"dataframe_records": records}).encode()


async def client(
    http: httpx.AsyncClient, url: str, body: bytes, start: float, count_from: float, stop: float
) -> list[tuple[float, bool]]:
    """One client: wait for its start, then request back to back until ``stop``."""
    await asyncio.sleep(max(0.0, start - time.perf_counter()))
    measured: list[tuple[float, bool]] = []
    headers = {"Content-Type": "application/json"}
    while (began := time.perf_counter()) < stop:
        try:
            response = await http.post(url, content=body, headers=headers)
            ok = response.status_code == 200  # noqa: PLR2004
        except httpx.HTTPError:
            ok = False
        if began >= count_from:
            measured.append(((time.perf_counter() - began) * 1000, ok))
    return measured


async def scenario(base: str, rows: int, clients: int, duration: float, ramp: float) -> Scenario:
    """``clients`` clients started over ``ramp`` seconds, counted for ``duration`` seconds."""
    body = payload(rows)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        now = time.perf_counter()
        count_from, stop = now + ramp, now + ramp + duration
        starts = [now + ramp * index / clients for index in range(clients)]
        results = await asyncio.gather(
            *(client(http, f"{base}/invocations", body, s, count_from, stop) for s in starts)
        )
    measured = [entry for per_client in results for entry in per_client]
    latencies = [ms for ms, ok in measured if ok]
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99]) if latencies else (np.nan,) * 3
    return Scenario(
        rows_per_request=rows,
        clients=clients,
        seconds=duration,
        requests=len(measured),
        errors=sum(1 for _, ok in measured if not ok),
        throughput_rps=round(len(latencies) / duration, 1),
        p50_ms=round(float(p50), 1),
        p95_ms=round(float(p95), 1),
        p99_ms=round(float(p99), 1),
    )


def markdown(result: dict[str, Any]) -> str:
    """The table docs/performance.md shows, with the budget verdict."""
    lines = [
        f"Measured {result['date']} on {result['machine']} (commit `{result['commit'][:10]}`): "
        f"`make serve` on 127.0.0.1, {result['clients']} concurrent clients, "
        f"{result['ramp_s']:.0f} s ramp-up, then {result['duration_s']:.0f} s counted per size.",
        "",
        "| rows per request | requests | errors | throughput | p50 | p95 | p99 |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {s['rows_per_request']:,} | {s['requests']:,} | {s['errors']} "
        f"| {s['throughput_rps']:.1f} req/s | {s['p50_ms']:.1f} ms | {s['p95_ms']:.1f} ms "
        f"| {s['p99_ms']:.1f} ms |"
        for s in result["scenarios"]
    ]
    single = next(s for s in result["scenarios"] if s["rows_per_request"] == 1)
    met = single["p99_ms"] <= BUDGET_P99_MS and single["errors"] == 0
    lines += [
        "",
        f"Budget: single-row p99 <= {BUDGET_P99_MS:.0f} ms and no errors at 8 clients: "
        f"**{'met' if met else 'not met'}** (p99 {single['p99_ms']:.1f} ms, "
        f"{single['errors']} errors).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Parse the options, start or reach the server, run both sizes, write the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--ramp", type=float, default=4.0)
    parser.add_argument("--url", default=None, help="a running server instead of make serve")
    args = parser.parse_args()
    try:
        with served(args.url) as base:
            scenarios = [
                asdict(asyncio.run(scenario(base, rows, args.clients, args.duration, args.ramp)))
                for rows in (1, 1000)
            ]
    except RuntimeError as exc:  # the server never answered: one line, no traceback
        sys.stderr.write(f"loadtest: {exc}\n")
        raise SystemExit(1) from None
    if any(s["requests"] == s["errors"] for s in scenarios):
        failed = ", ".join(
            f"{s['errors']} errors at {s['rows_per_request']} rows" for s in scenarios
        )
        sys.stderr.write(f"loadtest: every request of a size failed ({failed}); nothing written\n")
        raise SystemExit(1)
    now = datetime.now(UTC)
    result = {
        **measured_on(now),
        "clients": args.clients,
        "ramp_s": args.ramp,
        "duration_s": args.duration,
        "budget_single_row_p99_ms": BUDGET_P99_MS,
        "scenarios": scenarios,
    }
    out = ROOT / "reports" / "benchmarks"
    out.mkdir(parents=True, exist_ok=True)
    stem = f"loadtest-{now.strftime('%Y-%m-%d')}"
    (out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    table = markdown(result)
    (out / f"{stem}.md").write_text(table)
    doc = ROOT / "docs" / "performance.md"
    text = doc.read_text()
    if DOC_START in text:
        start, end = text.index(DOC_START) + len(DOC_START), text.index(DOC_END)
        doc.write_text(text[:start] + "\n" + table + text[end:])
    sys.stdout.write(table)


if __name__ == "__main__":
    main()
