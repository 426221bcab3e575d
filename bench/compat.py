"""thumbor URLs rendered by thumbor 7.8 itself and by Darkroom's /thumbor/: the same output
dimensions for every URL of the set, and how long each takes.

    python -m bench.compat [--photos N] [--rounds N]

Both serve unsafe URLs from the same photos (thumbor from a folder, Darkroom from uploads),
neither keeps results (Darkroom's render cache is off), both apply EXIF orientation.
Prints a Markdown table; exits 1 when a URL's dimensions differ.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pyvips

from bench.serving import serve
from bench.thumbor_env import free_port, running_thumbor

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = (
    "jpeg-progressive.jpg",
    "exif-orient-1-landscape.jpg",
    "exif-orient-1-portrait.jpg",
    "exif-orient-6-landscape.jpg",
)
URLS = (
    "300x200",
    "300x0",
    "0x150",
    "fit-in/300x300",
    "fit-in/3000x3000",
    "full-fit-in/300x300",
    "adaptive-fit-in/200x300",
    "-300x-200",
    "100x100:500x400/200x0",
    "300x200/left/top",
    "300x200/right/bottom",
    "300x200/smart",
    "fit-in/300x300/filters:fill(red)",
    "300x200/filters:rotate(90)",
    "2400x100/filters:no_upscale()",
    "fit-in/2400x2400/filters:upscale()",
    "300x300/filters:stretch()",
    "300x200/filters:quality(50):format(webp)",
    "200x0/filters:grayscale():blur(2)",
    "200x0/filters:sharpen(2,1.0,true):strip_exif()",
)
"""The options of each URL: `/unsafe/{options}/{image}`."""


def dimensions(http: httpx.Client, url: str) -> tuple[tuple[int, int], float]:
    """The (width, height) of the image at `url`, and the seconds the request took."""
    started = time.perf_counter()
    response = http.get(url)
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"GET {url}: {response.status_code} {response.text[:300]}")
    image = pyvips.Image.new_from_buffer(response.content, "")
    return (int(image.width), int(image.height)), seconds


def main() -> None:
    """Render the set with both and print the comparison."""
    parser = argparse.ArgumentParser(prog="python -m bench.compat", description=__doc__)
    parser.add_argument("--photos", type=int, default=len(PHOTOS))
    parser.add_argument("--rounds", type=int, default=3, help="timed requests per URL")
    parser.add_argument("--urls", type=int, default=len(URLS))
    args = parser.parse_args()
    photos, urls = PHOTOS[: args.photos], URLS[: args.urls]
    rows, mismatches = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        images = root / "images"
        images.mkdir()
        for name in photos:
            shutil.copy(ROOT / "tests" / "fixtures" / "corpus" / name, images / name)
        env = {"DARKROOM_THUMBOR_ALLOW_UNSAFE": "1", "DARKROOM_RENDER_CACHE": "0"}
        port = free_port()
        with (
            running_thumbor(images) as thumbor,
            serve(root, port, workers=1, env=env),
            httpx.Client(timeout=60) as http,
        ):
            darkroom = f"http://127.0.0.1:{port}"
            ids = {}
            for name in photos:
                upload = http.post(
                    f"{darkroom}/v1/images",
                    files={"file": (name, (images / name).read_bytes())},
                    data={"profiles": "avatar"},
                )
                ids[name] = upload.json()["id"]
            for options in urls:
                theirs_ms: list[float] = []
                ours_ms: list[float] = []
                sizes = []
                for name in photos:
                    for _ in range(max(1, args.rounds)):
                        theirs, t = dimensions(http, f"{thumbor}/unsafe/{options}/{name}")
                        ours, d = dimensions(
                            http, f"{darkroom}/thumbor/unsafe/{options}/{ids[name]}"
                        )
                        theirs_ms.append(t * 1000)
                        ours_ms.append(d * 1000)
                    sizes.append((name, theirs, ours))
                same = all(theirs == ours for _, theirs, ours in sizes)
                mismatches += not same
                shown = "; ".join(
                    f"{t[0]}x{t[1]}" + ("" if t == o else f" vs {o[0]}x{o[1]}") for _, t, o in sizes
                )
                rows.append(
                    f"| `{options}` | {shown} | {'yes' if same else '**no**'} "
                    f"| {statistics.median(theirs_ms):.1f} | {statistics.median(ours_ms):.1f} |"
                )
    print(f"{len(urls)} URLs x {len(photos)} photos ({', '.join(photos)}), ", end="")
    print(f"{max(1, args.rounds)} sequential requests each; median milliseconds per request.")
    print()
    print(
        "| thumbor URL options | thumbor's sizes (vs Darkroom's where they differ) | same "
        "| thumbor ms | Darkroom ms |"
    )
    print("|---|---|---|---:|---:|")
    print("\n".join(rows))
    if mismatches:
        print(f"\n{mismatches} URL(s) gave other dimensions.", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
