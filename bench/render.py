"""On-demand render throughput of `darkroom serve` against bare pyvips and thumbor 7.8.

Usage: python -m bench.render [--seconds 15] [--rounds 3] [--connections 8] [--only 1 3]
                              [--no-thumbor] [--before PATH_TO_AN_OLDER_CHECKOUT]

Needs `wrk` (Debian package `wrk`) as the load generator: a C client keeps the load
generator's own CPU use low on a 2-core machine. For each scenario:
- **Darkroom**: `darkroom serve` with the render cache off (`DARKROOM_RENDER_CACHE=0`) and
  unsigned URLs allowed; wrk cycles through 16 distinct sizes, so no two identical
  requests are in flight at once (single-flight would flatter the service).
- **bare**: a plain pyvips loop making the same 16 outputs, in as many processes as the
  service may render at once (2 per core), one render at a time each: processes, so the
  bare side shares no GIL.
- **thumbor**: thumbor 7.8 from the package index in a virtualenv of its own
  (`bench/thumbor_env.py`), 2 processes, file loader, no result storage, the same 16
  sizes as thumbor URLs, driven by wrk like the service.
- **before** (with `--before`): a second `darkroom serve` from an older checkout's `src`
  (a commit exported with `git archive`), driven like the service in the same rounds.
The sides alternate for `--rounds` rounds, so that drift in the machine's speed (other
tenants, clocks) hits all alike; the table gives the median of each column and of the
per-round ratios. Prints Markdown.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.pool import Pool
from pathlib import Path
from statistics import median

import httpx
import psutil
import pyvips

from bench import serving
from bench.imaging import make_input
from bench.thumbor_env import VERSION as THUMBOR_VERSION
from bench.thumbor_env import running_thumbor
from darkroom.settings import usable_cpus

PNG_SIGNATURE = b"\x89PNG"

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
    thumbor: list[str]
    """The same renders as thumbor paths, with `{name}` for the input's file name."""


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
            [
                f"/unsafe/fit-in/{w}x{w}/filters:quality(80):format(jpeg)/{{name}}"
                for w in around(500)
            ],
        ),
        Scenario(
            "2000x1333 JPEG -> ~300x300 cover WebP q80",
            make_input,
            [f"w={w}&h={w}&fit=cover&fmt=webp&q=80" for w in around(300)],
            lambda data, w: pyvips.Image.thumbnail_buffer(
                data, w, height=w, crop="centre"
            ).webpsave_buffer(Q=80, effort=4, keep="none"),
            around(300),
            [f"/unsafe/{w}x{w}/filters:quality(80):format(webp)/{{name}}" for w in around(300)],
        ),
        Scenario(
            "6000x4000 JPEG -> ~1200 px JPEG q80",
            _photo_6000,
            [f"w={w}&h={w}&fmt=jpeg&q=80" for w in around(1200)],
            _bare_jpeg_fit,
            around(1200),
            [
                f"/unsafe/fit-in/{w}x{w}/filters:quality(80):format(jpeg)/{{name}}"
                for w in around(1200)
            ],
        ),
        Scenario(
            "1600x1200 RGBA PNG -> ~300 px PNG",
            _rgba_png,
            [f"w={w}&h={w}&fmt=png" for w in around(300)],
            lambda data, w: pyvips.Image.thumbnail_buffer(data, w, height=w).pngsave_buffer(
                keep="none"
            ),
            around(300),
            [f"/unsafe/fit-in/{w}x{w}/filters:format(png)/{{name}}" for w in around(300)],
        ),
    ]


@contextmanager
def serve(root: Path, port: int, extra_env: dict[str, str]) -> Iterator[psutil.Process]:
    """`darkroom serve` with the render cache off; yields its process for CPU accounting."""
    env = {"DARKROOM_RENDER_CACHE": "0", "DARKROOM_ALLOW_UNSIGNED": "1"} | extra_env
    root.mkdir(exist_ok=True)
    with serving.serve(root, port, workers=usable_cpus(), env=env) as child:
        yield psutil.Process(child.pid)


def cpu_seconds(process: psutil.Process) -> float:
    """User + system CPU of the process and its threads."""
    times = process.cpu_times()
    return float(times.user + times.system)


def run_wrk(
    bases: list[str], paths: list[str], seconds: int, connections: int, root: Path
) -> dict[str, int]:
    """Drive `paths` round-robin for `seconds` against each of `bases` at once, the
    connections shared out between them; wrk's summaries summed (latencies: the worst)."""
    script = root / "paths.lua"
    script.write_text(WRK_SCRIPT % ", ".join(json.dumps(p) for p in paths))
    share = max(1, connections // len(bases))
    runs = [
        subprocess.Popen(
            [
                "wrk",
                "-t1",
                f"-c{share}",
                f"-d{seconds}s",
                "--timeout",
                "30s",
                "-s",
                str(script),
                base,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for base in bases
    ]
    reports = []
    for run in runs:
        out, _ = run.communicate()
        if run.returncode != 0:
            raise RuntimeError(f"wrk failed: {out}")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return {
        "requests": sum(r["requests"] for r in reports),
        "duration_us": max(r["duration_us"] for r in reports),
        "p50_us": max(r["p50_us"] for r in reports),
        "p99_us": max(r["p99_us"] for r in reports),
        "errors": sum(r["errors"] for r in reports),
    }


def _bare_worker(args: tuple[int, str, float, int]) -> tuple[int, float]:
    """One bare process: renders of scenario `index` one after another until `stop` (a
    wall-clock time); how many, and the CPU seconds they took (libvips' threads included)."""
    index, path, stop, offset = args
    pyvips.cache_set_max(0)
    scenario = scenarios()[index]
    data = Path(path).read_bytes()
    before = time.process_time()
    count, i = 0, offset
    while time.time() < stop:
        scenario.bare(data, scenario.sizes[i % len(scenario.sizes)])
        count += 1
        i += 1
    return count, time.process_time() - before


def bare_loop(
    pool: Pool, index: int, path: Path, seconds: float, processes: int
) -> tuple[float, float]:
    """Renders per second of the bare pyvips twin on `processes` processes for `seconds`,
    and the CPU milliseconds per render."""
    warm = time.time() + 0.5  # each process decodes once before the clock starts
    pool.map(_bare_worker, [(index, str(path), warm, n) for n in range(processes)])
    started = time.time()
    stop = started + seconds
    done = pool.map(_bare_worker, [(index, str(path), stop, n) for n in range(processes)])
    renders = max(sum(count for count, _ in done), 1)
    cpu = sum(seconds for _, seconds in done)
    return renders / (time.time() - started), cpu * 1000 / renders


@dataclass(frozen=True)
class Driven:
    """What wrk measured against one server, and the server's CPU per request."""

    rps: float
    p50_ms: float
    p99_ms: float
    cpu_ms: float
    errors: int


def drive(
    processes: list[psutil.Process],
    bases: list[str],
    paths: list[str],
    args: argparse.Namespace,
    root: Path,
) -> Driven:
    """wrk against `base` for `args.seconds`, with the CPU the server processes used."""
    before = sum(cpu_seconds(process) for process in processes)
    report = run_wrk(bases, paths, args.seconds, args.connections, root)
    cpu = sum(cpu_seconds(process) for process in processes) - before
    return Driven(
        rps=report["requests"] / (report["duration_us"] / 1e6),
        p50_ms=report["p50_us"] / 1000,
        p99_ms=report["p99_us"] / 1000,
        cpu_ms=cpu * 1000 / max(report["requests"], 1),
        errors=report["errors"],
    )


@dataclass(frozen=True)
class Round:
    """One round of a scenario: the service, the bare loop and thumbor, one after another."""

    service: Driven
    bare_rps: float
    bare_cpu_ms: float
    thumbor: Driven | None
    before: Driven | None = None

    @property
    def ratio(self) -> float:
        """Service throughput over bare pyvips throughput."""
        return self.service.rps / self.bare_rps

    @property
    def thumbor_ratio(self) -> float | None:
        """Service throughput over thumbor's."""
        return None if self.thumbor is None else self.service.rps / self.thumbor.rps


def thumbor_processes(root: Path) -> list[psutil.Process]:
    """The running thumbor processes serving from `root` (its parent and forks)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if any(part.endswith("bin/thumbor") for part in cmdline) and str(root) in " ".join(cmdline):
            found.append(process)
    return found


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
    parser.add_argument("--no-thumbor", action="store_true", help="leave thumbor out")
    parser.add_argument("--before", type=Path, default=None, help="an older checkout's root")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed: apt-get install wrk")
    cores = usable_cpus()
    args.concurrency = args.render_concurrency or 2 * cores
    rows: list[tuple[str, list[Round], float]] = []
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        images = root / "images"
        images.mkdir()
        extra = {"DARKROOM_RENDER_CONCURRENCY": str(args.concurrency)}
        server = stack.enter_context(serve(root, args.port, extra))
        servers = {f"http://127.0.0.1:{args.port}": server}
        if args.before is not None:
            older = extra | {"PYTHONPATH": str(args.before / "src")}
            servers[f"http://127.0.0.1:{args.port + 1}"] = stack.enter_context(
                serve(root / "before", args.port + 1, older)
            )
        # One single-process thumbor per core, each on its own port with its share of the
        # connections: thumbor's own `--processes` forks onto one listening socket, and a
        # handful of keep-alive connections then lands unevenly (one process busy, one idle).
        thumbors: list[str] = []
        if not args.no_thumbor:
            thumbors = [
                stack.enter_context(running_thumbor(images, processes=1)) for _ in range(cores)
            ]
        pool = stack.enter_context(get_context("spawn").Pool(args.concurrency))
        for index, scenario in enumerate(scenarios()):
            if args.only and index + 1 not in args.only:
                continue
            data = scenario.make()
            suffix = "png" if data.startswith(PNG_SIGNATURE) else "jpg"
            name = f"input{index}.{suffix}"
            (images / name).write_bytes(data)
            paths = {url: _render_paths(url, data, scenario.queries) for url in servers}
            thumbor_paths = [path.format(name=name) for path in scenario.thumbor]
            for thumbor in thumbors:
                for path in thumbor_paths[:2]:
                    assert httpx.get(thumbor + path, timeout=60).status_code == 200
            rounds = []
            for _ in range(args.rounds):
                served, *older_side = [
                    drive([process], [url], paths[url], args, root)
                    for url, process in servers.items()
                ]
                bare, bare_cpu = bare_loop(
                    pool, index, images / name, args.seconds, args.concurrency
                )
                peer = None
                if thumbors:
                    peer = drive(thumbor_processes(images), thumbors, thumbor_paths, args, root)
                rounds.append(Round(served, bare, bare_cpu, peer, *older_side))
            rss = server.memory_info().rss / 1024**2
            rows.append((scenario.name, rounds, rss))
    _table(rows, args, cores)


def _render_paths(base: str, data: bytes, queries: list[str]) -> list[str]:
    """Upload `data` to the service at `base`; its render paths, warmed up."""
    image = httpx.post(
        f"{base}/v1/images", files={"file": ("in", data)}, data={"profiles": "avatar"}
    ).json()
    paths = [f"/v1/render/{image['id']}?{q}" for q in queries]
    for path in paths[:2]:  # warm up: first decode, thread pools
        assert httpx.get(base + path, timeout=60).status_code == 200
    return paths


def _table(
    rows: list[tuple[str, list[Round], float]], args: argparse.Namespace, cores: int
) -> None:
    print(
        f"{cores} cores, render concurrency {args.concurrency} (service; bare: as many "
        f"processes), thumbor {THUMBOR_VERSION} as {cores} single-process servers, "
        f"{args.connections} "
        f"connections, {args.rounds} rounds of {args.seconds} s per scenario and side, libvips "
        f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}, render cache off; "
        "medians of the rounds"
    )
    print()
    print(
        "| scenario | service req/s | p50 ms | p99 ms | CPU ms/req "
        "| bare pyvips renders/s | bare CPU ms/render | service / bare (rounds) "
        "| thumbor req/s | thumbor CPU ms/req | service / thumbor | errors | service RSS MiB "
        "| before req/s | before CPU ms/req | before / bare |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, rounds, rss in rows:
        ratios = ", ".join(f"{r.ratio:.2f}" for r in rounds)
        peers = [r.thumbor for r in rounds if r.thumbor is not None]
        versus = [ratio for r in rounds if (ratio := r.thumbor_ratio) is not None]
        cells = [
            name,
            f"{median(r.service.rps for r in rounds):.1f}",
            f"{median(r.service.p50_ms for r in rounds):.1f}",
            f"{median(r.service.p99_ms for r in rounds):.1f}",
            f"{median(r.service.cpu_ms for r in rounds):.1f}",
            f"{median(r.bare_rps for r in rounds):.1f}",
            f"{median(r.bare_cpu_ms for r in rounds):.1f}",
            f"**{median(r.ratio for r in rounds):.2f}** ({ratios})",
            f"{median(p.rps for p in peers):.1f}" if peers else "-",
            f"{median(p.cpu_ms for p in peers):.1f}" if peers else "-",
            f"**{median(versus):.2f}**" if versus else "-",
            str(sum(r.service.errors + (r.thumbor.errors if r.thumbor else 0) for r in rounds)),
            f"{rss:.0f}",
            *_before_cells(rounds),
        ]
        print("| " + " | ".join(cells) + " |")


def _before_cells(rounds: list[Round]) -> list[str]:
    older = [(r.before, r.bare_rps) for r in rounds if r.before is not None]
    if not older:
        return ["-", "-", "-"]
    return [
        f"{median(b.rps for b, _ in older):.1f}",
        f"{median(b.cpu_ms for b, _ in older):.1f}",
        f"**{median(b.rps / bare for b, bare in older):.2f}**",
    ]


if __name__ == "__main__":
    main()
