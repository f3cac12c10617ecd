"""Load test: start ``lstmtext serve`` on 127.0.0.1, hit POST /predict from concurrent clients, report, stop.

Run from the repository root::

    .venv/bin/python benchmarks/load_test.py runs/demo [--clients 32] [--seconds 20]

The server is a real uvicorn subprocess on a free port of 127.0.0.1 (nothing else is ever targeted).
``--clients`` coroutines on one event loop (one process beside the server) each keep one HTTP/1.1 connection
open and send requests of ``--texts`` random airline tweets back to back until ``--seconds`` have passed or ``--max-requests`` were sent; both are
bounded. Prints requests/s, texts/s, p50/p99 latency and the errors (any status other than 200, or a
failed connection), then stops the server. Exit status 1 if there was any error.

The baseline, in the same run: the same clients against the same server's ``GET /health`` (no model, no JSON
body) for ``--baseline-seconds``: the most requests/s this HTTP stack answers on these cores with this load
generator beside it, so a reader sees how much of the budget the model takes.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from lstmtext.data import load_bundled_airline
from lstmtext.inference.engines import ENGINES

HOST = "127.0.0.1"  # the only address this script ever connects to


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(bundle: str, port: int, engine: str, log: Path) -> subprocess.Popen:
    """Start the server and wait (at most 90 s) until GET /health answers."""
    cmd = [sys.executable, "-m", "lstmtext", "serve", bundle, "--host", HOST, "--port", str(port), "--engine", engine,
           "--log-level", "warning", "--no-access-log"]
    env = dict(os.environ)  # the server sets its own OpenMP defaults when it imports lstmtext
    with log.open("wb") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}:\n{log.read_text()}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                conn.close()
                return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("server did not answer /health within 90 s")


async def client(port: int, texts: list[str], per_request: int, stop_at: float, budget: list[int],
                 latencies: list[float], errors: list[str], seed: int, health: bool = False) -> None:
    """Send requests on one keep-alive connection until the deadline or the shared request budget runs out.

    A coroutine with a minimal HTTP/1.1 exchange, not a thread with http.client: 32 client threads fought the
    server for the GIL-bound cores, and a thread waiting for its turn inflated its own measured latency."""
    rng = random.Random(seed)
    reader, writer = await asyncio.open_connection(HOST, port)
    while time.monotonic() < stop_at and budget[0] > 0:
        budget[0] -= 1  # one event loop: no lock needed
        if health:  # the baseline: the HTTP stack alone
            body, head = b"", f"GET /health HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode()
        else:
            body = json.dumps({"texts": rng.sample(texts, per_request), "top_k": 1}).encode()
            head = (f"POST /predict HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode()
        start = time.perf_counter()
        try:
            writer.write(head + body)
            status_line, *header_lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            headers = dict(line.split(":", 1) for line in header_lines if ":" in line)
            length = int(next((v for k, v in headers.items() if k.lower() == "content-length"), "0"))
            payload = await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            status = int(status_line.split()[1])
            if status != 200:
                errors.append(f"{status}: {payload[:200]!r}")
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            writer.close()
            reader, writer = await asyncio.open_connection(HOST, port)
    writer.close()


async def run_clients(clients: int, port: int, texts: list[str], per_request: int, seconds: float,
                      max_requests: int, latencies: list[float], errors: list[str], health: bool = False) -> None:
    """All clients on one event loop, for ``seconds`` or ``max_requests`` requests in all."""
    stop_at, budget = time.monotonic() + seconds, [max_requests]
    await asyncio.wait_for(asyncio.gather(*(client(port, texts, per_request, stop_at, budget, latencies, errors, i,
                                                   health) for i in range(clients))), timeout=seconds + 60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("bundle", help="bundle or training output folder to serve")
    parser.add_argument("--engine", default="auto", choices=list(ENGINES),
                        help="as lstmtext serve --engine (default auto: what serve runs by default)")
    parser.add_argument("--clients", type=int, default=32, help="concurrent clients (1..256)")
    parser.add_argument("--seconds", type=float, default=20.0, help="duration (at most 300)")
    parser.add_argument("--texts", type=int, default=1, help="texts per request")
    parser.add_argument("--max-requests", type=int, default=200_000, help="stop after this many requests")
    parser.add_argument("--baseline-seconds", type=float, default=5.0,
                        help="then GET /health for this long, the HTTP stack alone (0: skip; at most 60)")
    args = parser.parse_args()
    clients, seconds = min(max(args.clients, 1), 256), min(max(args.seconds, 1.0), 300.0)
    texts = [t for split in load_bundled_airline().splits.values() for t in split.texts]
    port = free_port()
    log = Path(tempfile.mkdtemp(prefix="lstmtext-load-")) / "server.log"
    try:
        proc = start_server(args.bundle, port, args.engine, log)
    except BaseException:  # its log was printed: one folder per run had been left behind
        shutil.rmtree(log.parent, ignore_errors=True)
        raise
    latencies: list[float] = []
    errors: list[str] = []
    load_before = os.getloadavg()[0]
    try:
        start = time.perf_counter()
        asyncio.run(run_clients(clients, port, texts, args.texts, seconds, args.max_requests, latencies, errors))
        elapsed = time.perf_counter() - start
        base_latencies: list[float] = []
        base_errors: list[str] = []
        base_seconds = min(max(args.baseline_seconds, 0.0), 60.0)
        if base_seconds:
            base_start = time.perf_counter()
            asyncio.run(run_clients(clients, port, texts, 0, base_seconds, args.max_requests, base_latencies,
                                    base_errors, health=True))
            base_elapsed = time.perf_counter() - base_start
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(log.parent, ignore_errors=True)
    n = len(latencies)
    p50, p99 = (np.percentile(latencies, [50, 99]) * 1000) if n else (float("nan"), float("nan"))
    print(f"engine {args.engine}; {clients} clients x {args.texts} text(s) per request for {elapsed:.1f} s; "
          f"load average before {load_before:.2f}, after {os.getloadavg()[0]:.2f}")
    print(f"requests {n}, {n / elapsed:,.0f} requests/s, {n * args.texts / elapsed:,.0f} texts/s; "
          f"latency p50 {p50:.1f} ms, p99 {p99:.1f} ms; errors {len(errors)}")
    if base_seconds:
        m = len(base_latencies)
        b50, b99 = (np.percentile(base_latencies, [50, 99]) * 1000) if m else (float("nan"), float("nan"))
        print(f"baseline, the HTTP stack alone (GET /health, same server and clients, {base_elapsed:.1f} s): "
              f"{m / base_elapsed:,.0f} requests/s, p50 {b50:.1f} ms, p99 {b99:.1f} ms; errors {len(base_errors)}; "
              f"/predict ran at {n / elapsed / max(m / base_elapsed, 1e-9):.2f}x of it")
    errors += base_errors
    for line in sorted(set(errors))[:5]:
        print("  error:", line)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
