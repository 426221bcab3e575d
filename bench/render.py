"""On-demand render throughput of `darkroom serve` against a bare pyvips loop, same run.

Usage: python -m bench.render [--seconds 15] [--rounds 3] [--connections 8] [--only 1 3]

Needs `wrk` (Debian package `wrk`) as the load generator: a C client keeps the load
generator's own CPU use low on a 2-core machine. For each scenario the service runs with
the render cache off (`DARKROOM_RENDER_CACHE=0`) and unsigned URLs allowed, wrk cycles
through 16 distinct sizes, and then a bare pyvips loop renders the same 16 specs for the
same duration on as many threads as the service may render at once (2 per core by
default), on the same cores. Service and bare loop alternate for `--rounds` rounds, so
that drift in the machine's speed (other tenants, clocks) hits both alike; the table gives
the median of each column and the median of the per-round ratios. Prints Markdown.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from statistics import median

import httpx
import psutil
import pyvips

from bench.imaging import make_input
from darkroom.settings import usable_cpus

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "corpus"

WRK_SCRIPT = """
local paths = {%s}
local requests = {}
local i = 0
init = function(args)
  for n, path in ipairs(paths) do
    requests[n] = wrk.format("GET", path)
  end
end
request = function()
  i = i + 1
  return requests[(i %% #requests) + 1]
end
done = function(summary, latency, requests)
  local e = summary.errors
  local failed = e.status + e.connect + e.read + e.write + e.timeout
  io.write(string.format(
    '{"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p99_us": %%d, "errors": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), failed))
end
"""


@dataclass(frozen=True)
class Scenario:
    """One input and a family of 16 specs (query strings) with their bare pyvips twin."""

    name: str
    make: Callable[[], bytes]
    queries: list[str]
    bare: Callable[[bytes, int], bytes]
    sizes: list[int]


def _photo_6000() -> bytes:
    photo = (CORPUS / "photo-flickr-2725x2225.jpg").read_bytes()
    image = pyvips.Image.thumbnail_buffer(photo, 6000, height=4000, size="force")
    return bytes(image.jpegsave_buffer(Q=90))


def _rgba_png() -> bytes:
    png = (CORPUS / "png-rgba-transparency.png").read_bytes()
    image = pyvips.Image.thumbnail_buffer(png, 1600, height=1200, size="force")
    return bytes(image.pngsave_buffer())


def _bare_jpeg_fit(data: bytes, size: int) -> bytes:
    image = pyvips.Image.thumbnail_buffer(data, size, height=size)
    return bytes(image.jpegsave_buffer(Q=80, keep="none"))


def around(centre: int) -> list[int]:
    """16 distinct sizes centred on `centre`."""
    return [centre - 8 + i for i in range(16)]


def scenarios() -> list[Scenario]:
    """The four scenarios of the on-demand render benchmark."""
    return [
        Scenario(
            "2000x1333 JPEG -> ~500 px JPEG q80",
            make_input,
            [f"w={w}&h={w}&fmt=jpeg&q=80" for w in around(500)],
            _bare_jpeg_fit,
            around(500),
        ),
        Scenario(
            "2000x1333 JPEG -> ~300x300 cover WebP q80",
            make_input,
            [f"w={w}&h={w}&fit=cover&fmt=webp&q=80" for w in around(300)],
            lambda data, w: pyvips.Image.thumbnail_buffer(
                data, w, height=w, crop="centre"
            ).webpsave_buffer(Q=80, effort=4, keep="none"),
            around(300),
        ),
        Scenario(
            "6000x4000 JPEG -> ~1200 px JPEG q80",
            _photo_6000,
            [f"w={w}&h={w}&fmt=jpeg&q=80" for w in around(1200)],
            _bare_jpeg_fit,
            around(1200),
        ),
        Scenario(
            "1600x1200 RGBA PNG -> ~300 px PNG",
            _rgba_png,
            [f"w={w}&h={w}&fmt=png" for w in around(300)],
            lambda data, w: pyvips.Image.thumbnail_buffer(data, w, height=w).pngsave_buffer(
                keep="none"
            ),
            around(300),
        ),
    ]


@contextmanager
def serve(root: Path, port: int, extra_env: dict[str, str]) -> Iterator[psutil.Process]:
    """`darkroom serve` with the render cache off; yields its process for CPU accounting."""
    env = (
        os.environ
        | {
            "DARKROOM_DATABASE_URL": f"sqlite:///{root / 'bench.db'}",
            "DARKROOM_STORAGE_URL": f"file://{root / 'objects'}",
            "DARKROOM_PORT": str(port),
            "DARKROOM_RENDER_CACHE": "0",
            "DARKROOM_ALLOW_UNSIGNED": "1",
            "DARKROOM_LOG_LEVEL": "warning",
        }
        | extra_env
    )
    log = (root / "serve.log").open("ab")
    child = subprocess.Popen(
        [sys.executable, "-m", "darkroom", "serve"], env=env, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or child.poll() is not None:
                raise RuntimeError((root / "serve.log").read_text())
            time.sleep(0.2)
        yield psutil.Process(child.pid)
    finally:
        child.terminate()
        child.wait(timeout=60)
        log.close()


def cpu_seconds(process: psutil.Process) -> float:
    """User + system CPU of the process and its threads."""
    times = process.cpu_times()
    return float(times.user + times.system)


def run_wrk(
    base: str, paths: list[str], seconds: int, connections: int, root: Path
) -> dict[str, int]:
    """Drive `paths` round-robin for `seconds`; wrk's own summary as a dict."""
    script = root / "paths.lua"
    script.write_text(WRK_SCRIPT % ", ".join(json.dumps(p) for p in paths))
    result = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            base,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    report: dict[str, int] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


def bare_loop(scenario: Scenario, data: bytes, seconds: float, threads: int) -> tuple[float, float]:
    """Renders per second of the bare pyvips twin on `threads` threads for `seconds`, and
    the CPU milliseconds per render (this process, libvips' threads included)."""
    cpu_before = time.process_time()
    stop = time.monotonic() + seconds
    counts = [0] * threads

    def loop(index: int) -> None:
        i = index
        while time.monotonic() < stop:
            scenario.bare(data, scenario.sizes[i % len(scenario.sizes)])
            counts[index] += 1
            i += 1

    workers = [threading.Thread(target=loop, args=(n,)) for n in range(threads)]
    start = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    renders = max(sum(counts), 1)
    return renders / (time.monotonic() - start), (time.process_time() - cpu_before) * 1000 / renders


@dataclass(frozen=True)
class Round:
    """One service run and the bare loop right after it."""

    rps: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float
    bare_rps: float
    bare_cpu_ms: float
    errors: int

    @property
    def ratio(self) -> float:
        """Service throughput over bare pyvips throughput."""
        return self.rps / self.bare_rps


def run_round(
    scenario: Scenario,
    data: bytes,
    server: psutil.Process,
    base: str,
    paths: list[str],
    args: argparse.Namespace,
    root: Path,
) -> Round:
    """wrk against the service for `args.seconds`, then the bare loop for as long."""
    before = cpu_seconds(server)
    report = run_wrk(base, paths, args.seconds, args.connections, root)
    cpu = cpu_seconds(server) - before
    bare, bare_cpu = bare_loop(scenario, data, args.seconds, args.concurrency)
    return Round(
        rps=report["requests"] / (report["duration_us"] / 1e6),
        p50_ms=report["p50_us"] / 1000,
        p99_ms=report["p99_us"] / 1000,
        cpu_ms=cpu * 1000 / max(report["requests"], 1),
        bare_rps=bare,
        bare_cpu_ms=bare_cpu,
        errors=report["errors"],
    )


def main() -> None:
    """Run every scenario and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=15, help="per phase and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--port", type=int, default=18090)
    parser.add_argument(
        "--render-concurrency", type=int, help="DARKROOM_RENDER_CONCURRENCY of the service"
    )
    parser.add_argument(
        "--only", type=int, nargs="*", help="run only these scenarios (1-4, in table order)"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    cores = usable_cpus()
    args.concurrency = args.render_concurrency or 2 * cores
    pyvips.cache_set_max(0)
    rows: list[tuple[str, list[Round], float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        extra = {"DARKROOM_RENDER_CONCURRENCY": str(args.concurrency)}
        with serve(root, args.port, extra) as server:
            base = f"http://127.0.0.1:{args.port}"
            chosen = [s for i, s in enumerate(scenarios(), 1) if not args.only or i in args.only]
            for scenario in chosen:
                data = scenario.make()
                image = httpx.post(
                    f"{base}/v1/images", files={"file": ("in", data)}, data={"profiles": "avatar"}
                ).json()
                paths = [f"/v1/render/{image['id']}?{q}" for q in scenario.queries]
                for path in paths[:2]:  # warm up: first decode, thread pools
                    assert httpx.get(base + path, timeout=60).status_code == 200
                rounds = [
                    run_round(scenario, data, server, base, paths, args, root)
                    for _ in range(args.rounds)
                ]
                rss = server.memory_info().rss / 1024**2
                rows.append((scenario.name, rounds, rss))
    print(
        f"{cores} cores, render concurrency {args.concurrency} (service and bare loop), "
        f"{args.connections} connections, {args.rounds} rounds of {args.seconds} s per "
        f"scenario and side, libvips {pyvips.version(0)}.{pyvips.version(1)}."
        f"{pyvips.version(2)}, render cache off; medians of the rounds"
    )
    print()
    print(
        "| scenario | service req/s | p50 ms | p99 ms | CPU ms/req "
        "| bare pyvips renders/s | bare CPU ms/render | service / bare (rounds) | errors "
        "| service RSS MiB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, rounds, rss in rows:
        ratios = ", ".join(f"{r.ratio:.2f}" for r in rounds)
        cells = [
            name,
            f"{median(r.rps for r in rounds):.1f}",
            f"{median(r.p50_ms for r in rounds):.1f}",
            f"{median(r.p99_ms for r in rounds):.1f}",
            f"{median(r.cpu_ms for r in rounds):.1f}",
            f"{median(r.bare_rps for r in rounds):.1f}",
            f"{median(r.bare_cpu_ms for r in rounds):.1f}",
            f"**{median(r.ratio for r in rounds):.2f}** ({ratios})",
            str(sum(r.errors for r in rounds)),
            f"{rss:.0f}",
        ]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
