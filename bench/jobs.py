"""The reference job service's own benchmark: 50 concurrent `POST /jobs` resizes to 200x200.

Usage: python -m bench.jobs [--jobs 50] [--workers 1 2 4] [--rounds 2]

The reference Go service (`shared/reference/004_...`) times 50 concurrent resize jobs to
200x200 at several worker-pool sizes. Here `darkroom serve` (SQLite, local folder) runs
with `DARKROOM_WORKERS` set to each count; 50 client threads submit one job each at once
(base64 JSON, `"operation": "resize"`, jpeg), and the time runs from the first submit to
the last job's `updated_at` once all are completed. The JSON bodies are made before the
clock starts (a client elsewhere pays for its own encoding, not this machine's service),
and one thread polls the jobs every quarter second: when a job ended is its own
`updated_at`, so a faster poll only takes CPU from the work it waits for. Inputs are 50
distinct 3000x2000 JPEGs (`bench.pipeline.make_photos`). Beside each figure, from the same
run: a bare pyvips loop making the same 50 outputs (`thumbnail_buffer` to exactly 200x200,
JPEG q80) on as many processes as the service has workers. Rounds alternate the two.
Prints Markdown.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pyvips

from bench import serving
from bench.pipeline import Round, bare_burst, make_photos, medians

SIZE = 200
POLL = 0.25
REFERENCE = {1: "~15 s (3.3 jobs/s)", 10: "~3 s", 16: "~2 s"}
"""The reference's table, on a 12-core i7-1260P: not comparable, shown for scale."""


def bare_resize(data: bytes) -> int:
    """One job as a plain pyvips loop makes it: exactly 200x200, aspect ignored."""
    image = pyvips.Image.thumbnail_buffer(data, SIZE, height=SIZE, size="force")
    return len(image.jpegsave_buffer(Q=80, keep="none"))


def _bare_share(photos: list[bytes]) -> int:
    pyvips.cache_set_max(0)
    return sum(bare_resize(data) for data in photos)


def job_body(data: bytes) -> bytes:
    """The JSON body of one job, as its client sends it."""
    body = {
        "image_data": base64.b64encode(data).decode("ascii"),
        "operation": "resize",
        "width": SIZE,
        "height": SIZE,
        "output_format": "jpeg",
    }
    return json.dumps(body).encode()


def _submit(http: httpx.Client, body: bytes) -> str:
    answer = http.post("/jobs", content=body, headers={"content-type": "application/json"})
    answer.raise_for_status()
    job_id: str = answer.json()["job_id"]
    return job_id


def _wait_all(http: httpx.Client, ids: list[str]) -> list[dict[str, Any]]:
    """Every job once completed or failed; one thread polls them in turn."""
    finished: dict[str, dict[str, Any]] = {}
    while len(finished) < len(ids):
        for job_id in ids:
            if job_id in finished:
                continue
            job: dict[str, Any] = http.get(f"/jobs/{job_id}").json()
            if job["status"] in ("completed", "failed"):
                finished[job_id] = job
        time.sleep(POLL)
    return [finished[job_id] for job_id in ids]


def darkroom(photos: list[bytes], workers: int, port: int) -> tuple[float, float, int]:
    """Seconds from the first submit to the last job done, p50 job latency, failures."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        serving.serve(Path(tmp), port, workers=workers),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http,
    ):
        bodies = [job_body(data) for data in photos]
        _wait_all(http, [_submit(http, bodies[0])])  # libvips and the service warm
        started = time.time()
        with ThreadPoolExecutor(len(photos)) as pool:
            ids = list(pool.map(lambda body: _submit(http, body), bodies))
        jobs = _wait_all(http, ids)
    ends = [datetime.fromisoformat(job["updated_at"]).timestamp() for job in jobs]
    latencies = [
        end - datetime.fromisoformat(job["created_at"]).timestamp()
        for end, job in zip(ends, jobs, strict=True)
    ]
    failed = sum(job["status"] != "completed" for job in jobs)
    return max(ends) - started, statistics.median(latencies), failed


def main() -> None:
    """Alternate bare and Darkroom for each worker count, round after round; print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--port", type=int, default=18095)
    args = parser.parse_args()
    photos = make_photos(args.jobs)
    results: dict[int, list[Round]] = {w: [] for w in args.workers}
    for round_number in range(1, args.rounds + 1):
        for workers in args.workers:
            bare = bare_burst(photos, workers, _bare_share)
            total, p50, failed = darkroom(photos, workers, args.port)
            results[workers].append(Round(total, p50, bare, failed))
            print(
                f"round {round_number}, {workers} worker(s): darkroom {total:.2f} s "
                f"(p50 job {p50 * 1000:.0f} ms), bare {bare:.2f} s",
                file=sys.stderr,
            )
    print(
        f"{args.jobs} concurrent POST /jobs, resize to {SIZE}x{SIZE} jpeg, distinct 3000x2000 "
        f"JPEGs; medians of {args.rounds} round(s). Ratio = bare s / Darkroom s (above 1: "
        "Darkroom faster). Reference: the Go service's own table, on a 12-core machine."
    )
    print()
    print(
        "| workers | Darkroom s | jobs/s | p50 job ms | bare processes s | ratio | failed "
        "| reference |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---|")
    for workers, rounds in results.items():
        total, p50, bare, ratio, failed = medians(rounds)
        print(
            f"| {workers} | {total:.2f} | {args.jobs / total:.1f} | {p50 * 1000:.0f} "
            f"| {bare:.2f} | {ratio:.2f} | {failed} | {REFERENCE.get(workers, '')} |"
        )


if __name__ == "__main__":
    main()
