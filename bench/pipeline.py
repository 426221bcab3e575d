"""The eager pipeline: uploads to all variants done, next to bare pyvips making the same outputs.

Usage: python -m bench.pipeline [--photos 60] [--idle 15] [--rounds 2]
                                [--before PATH_TO_AN_OLDER_CHECKOUT]

Inputs: `--photos` distinct 3000x2000 JPEGs (q90) cut, mirrored and tinted from the corpus'
photos, so that no two have the same bytes. Outputs: the three default profiles of each.

- **bare**: the outputs made by a plain pyvips loop, one `thumbnail_buffer` per variant
  (three decodes per photo), split over 2 processes, as a hand-written service would.
- **darkroom**: a fresh `darkroom serve` (SQLite, local folder, 2 transform threads) takes
  every photo from 4 client threads with the three default profiles; the time runs from
  the first upload to the last image done.
- **idle**: one photo uploaded at a time into the idle service, upload to done (p50),
  next to one bare process making that photo's three outputs (p50).

`--before` runs the Darkroom side a second time from another checkout's `src` (an older
commit exported with `git archive`), in the same run, for before/after figures. Rounds
alternate bare, darkroom (and before). Prints Markdown.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import httpx
import pyvips

from bench import serving

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "corpus"
SOURCES = (
    "photo-flickr-2725x2225.jpg",
    "exif-orient-1-landscape.jpg",
    "jpeg-adobergb-heavy-xmp-2000x1072.jpg",
    "jpeg-progressive.jpg",
    "jpeg-baseline-srgb-icc.jpg",
)
PROFILES = "thumb_200,webp_800,avatar"
SIZE = (3000, 2000)
POLL = 0.05
BURST_POLL = 0.25


def make_photos(count: int) -> list[bytes]:
    """`count` distinct 3000x2000 JPEGs from the corpus photos (crop, mirror, tint)."""
    photos = []
    for index in range(count):
        source = (CORPUS / SOURCES[index % len(SOURCES)]).read_bytes()
        image = pyvips.Image.thumbnail_buffer(source, 3600, height=2400, size="force")
        left, top = (index * 37) % 600, (index * 53) % 400
        image = image.crop(left, top, *SIZE)
        if index % 2:
            image = image.fliphor()
        tint = [1.0 + 0.02 * (index % 5), 1.0, 1.0 - 0.02 * (index % 3)]
        image = (image * tint).cast("uchar")
        photos.append(bytes(image.jpegsave_buffer(Q=90)))
    return photos


def bare_outputs(data: bytes) -> int:
    """The three default profiles, one decode each, as a plain pyvips loop makes them."""
    made = 0
    thumb = pyvips.Image.thumbnail_buffer(data, 200, height=200, crop="centre")
    made += len(thumb.jpegsave_buffer(Q=80, keep="none"))
    webp = pyvips.Image.thumbnail_buffer(data, 800)
    made += len(webp.webpsave_buffer(Q=80, effort=4, keep="none"))
    avatar = pyvips.Image.thumbnail_buffer(data, 128, height=128, crop="attention")
    made += len(avatar.jpegsave_buffer(Q=80, keep="none"))
    return made


def _bare_share(photos: list[bytes]) -> int:
    pyvips.cache_set_max(0)
    return sum(bare_outputs(data) for data in photos)


def bare_burst(
    photos: list[bytes], processes: int = 2, share: Callable[[list[bytes]], int] = _bare_share
) -> float:
    """Wall seconds for `processes` bare processes to make every photo's outputs (`share`
    makes those of a list of photos in one process)."""
    shares = [photos[i::processes] for i in range(processes)]
    with get_context("spawn").Pool(processes) as pool:
        pool.map(share, [shares[0][:1]] * processes)  # imports and libvips up first
        started = time.perf_counter()
        pool.map(share, shares)
        return time.perf_counter() - started


def bare_idle(photos: list[bytes]) -> float:
    """p50 seconds of one bare process making one photo's three outputs."""
    with get_context("spawn").Pool(1) as pool:
        pool.apply(_bare_share, ([photos[0]],))
        times = []
        for data in photos:
            started = time.perf_counter()
            pool.apply(_bare_share, ([data],))
            times.append(time.perf_counter() - started)
    return statistics.median(times)


@contextmanager
def serve(root: Path, port: int, src: Path | None) -> Iterator[str]:
    """A fresh service on 2 transform threads (from `src` when given); its base URL."""
    env = {} if src is None else {"PYTHONPATH": str(src)}
    with serving.serve(root, port, workers=2, env=env):
        yield f"http://127.0.0.1:{port}"


def _upload(http: httpx.Client, index: int, data: bytes) -> str:
    answer = http.post(
        "/v1/images", files={"file": (f"{index}.jpg", data)}, data={"profiles": PROFILES}
    )
    answer.raise_for_status()
    image_id: str = answer.json()["id"]
    return image_id


def _wait_done(http: httpx.Client, image_id: str, poll: float) -> dict[str, Any]:
    # Polled slowly, so that the client's requests take no CPU from the work it waits for:
    # when the work ended is the image's own `updated_at`, not when the poll saw it.
    while True:
        image: dict[str, Any] = http.get(f"/v1/images/{image_id}").json()
        if image["status"] in ("done", "failed"):
            return image
        time.sleep(poll)


def _finished(image: dict[str, Any]) -> float:
    """The wall-clock time (epoch seconds) at which the image reached its final status."""
    return datetime.fromisoformat(image["updated_at"]).timestamp()


@dataclass(frozen=True)
class Service:
    burst: float
    burst_p50: float
    """Upload to done, under the burst's load."""
    idle_p50: float
    failed: int


def darkroom(photos: list[bytes], idle: list[bytes], port: int, src: Path | None) -> Service:
    """Burst and idle figures of one fresh `darkroom serve`."""
    with tempfile.TemporaryDirectory() as tmp, serve(Path(tmp), port, src) as base:
        return _measure(base, photos, idle)


def burst(http: httpx.Client, photos: list[bytes]) -> tuple[float, float, int]:
    """Upload every photo from 4 client threads at once: seconds from the first upload to
    the last image done, the p50 of each image's upload to done, and how many failed.

    The last upload is watched every 250 ms until done, and only then every image read.
    """
    started = time.time()
    sent: dict[str, float] = {}

    def upload(item: tuple[int, bytes]) -> str:
        began = time.time()
        image_id = _upload(http, *item)
        sent[image_id] = began
        return image_id

    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(upload, enumerate(photos)))
    # Each status read costs the service a few ms of the CPU the burst is measured on, so
    # while it runs only the last upload is watched; the others, all or nearly all done by
    # then, are read after. Their times come from `updated_at`, not from when they were read.
    _wait_done(http, ids[-1], BURST_POLL)
    images = [_wait_done(http, image_id, POLL) for image_id in ids]
    seconds = max(_finished(image) for image in images) - started
    p50 = statistics.median(_finished(image) - sent[image["id"]] for image in images)
    return seconds, p50, sum(image["status"] != "done" for image in images)


def _measure(base: str, photos: list[bytes], idle: list[bytes]) -> Service:
    with httpx.Client(base_url=base, timeout=120) as http:
        _wait_done(http, _upload(http, -1, idle[0]), POLL)  # libvips and the service warm
        seconds, burst_p50, failed = burst(http, photos)
        times = []
        for index, data in enumerate(idle):
            started = time.time()
            image = _wait_done(http, _upload(http, 10_000 + index, data), POLL)
            times.append(_finished(image) - started)
    return Service(seconds, burst_p50, statistics.median(times), failed)


@dataclass(frozen=True)
class Round:
    """One round of a side against its bare twin."""

    seconds: float
    p50: float
    """Upload (or submit) to done, median."""
    bare: float
    failed: int


def medians(rounds: list[Round]) -> tuple[float, float, float, float, int]:
    """Medians of the seconds, the p50s and the bare seconds; the median per-round ratio
    of bare to Darkroom seconds; the failures of all rounds."""
    return (
        statistics.median(r.seconds for r in rounds),
        statistics.median(r.p50 for r in rounds),
        statistics.median(r.bare for r in rounds),
        statistics.median(r.bare / r.seconds for r in rounds),
        sum(r.failed for r in rounds),
    )


def main() -> None:
    """Alternate the sides round after round and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=60)
    parser.add_argument("--idle", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--port", type=int, default=18093)
    parser.add_argument("--before", type=Path, default=None, help="an older checkout's root")
    args = parser.parse_args()
    photos = make_photos(args.photos + args.idle)
    burst_photos, idle_photos = photos[: args.photos], photos[args.photos :]
    rows: list[tuple[str, float, float, float, float, float, int]] = []
    sides: list[tuple[str, Path | None]] = [("darkroom", None)]
    if args.before is not None:
        sides.append(("darkroom before", args.before / "src"))
    for round_number in range(1, args.rounds + 1):
        bare = bare_burst(burst_photos)
        bare_one = bare_idle(idle_photos)
        for name, src in sides:
            measured = darkroom(burst_photos, idle_photos, args.port, src)
            rows.append(
                (
                    name,
                    measured.burst,
                    bare,
                    measured.burst_p50,
                    measured.idle_p50,
                    bare_one,
                    measured.failed,
                )
            )
            print(
                f"round {round_number}: {name} burst {measured.burst:.2f} s (bare {bare:.2f} s),"
                f" idle p50 {measured.idle_p50 * 1000:.0f} ms (bare {bare_one * 1000:.0f} ms)",
                file=sys.stderr,
            )
    print(
        f"{args.photos} distinct {SIZE[0]}x{SIZE[1]} JPEGs x {PROFILES}; idle: "
        f"{args.idle} photos one at a time. Throughput ratio = bare time / Darkroom time "
        "(above 1: Darkroom faster); idle ratio = Darkroom p50 / bare p50 (below 1: faster); "
        "burst p50 = upload to done under the burst's load."
    )
    print()
    print(
        "| side | burst s | bare 2 processes s | throughput ratio | burst p50 ms | idle p50 ms "
        "| bare p50 ms | idle ratio | failed |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, burst, bare, burst_p50, idle_p50, bare_one, failed in rows:
        print(
            f"| {name} | {burst:.2f} | {bare:.2f} | {bare / burst:.2f} | {burst_p50 * 1000:.0f} "
            f"| {idle_p50 * 1000:.0f} | {bare_one * 1000:.0f} | {idle_p50 / bare_one:.2f} "
            f"| {failed} |"
        )


if __name__ == "__main__":
    main()
