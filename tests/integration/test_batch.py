"""`darkroom batch`: local rendering on a process pool, and submission to a real cluster queue."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pytest
import pyvips
import redis
import typer
from typer.testing import CliRunner, Result

from darkroom.batch.inputs import Item, Source, State
from darkroom.batch.local import CRASHED, FileJob, plan, process_file, run
from darkroom.cli import batch as batch_cli
from darkroom.db.migrate import upgrade
from darkroom.imaging import DEFAULT_LIMITS, TransformSpec
from darkroom.queue.actors import DramatiqQueue
from darkroom.queue.broker import make_broker
from darkroom.service import images, profiles
from darkroom.service.context import build_context
from darkroom.settings import load_settings
from tests.conftest import service_unavailable
from tests.corpus import read

REDIS_URL = os.environ.get("DARKROOM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

PROFILES = {
    "square": {"width": 64, "height": 64, "fit": "cover", "format": "png"},
    # No format: each output keeps its input's, so its extension follows the input.
    "keep": {"width": 100, "height": 50, "fit": "fill"},
}
EXPECTED = {"square": (64, 64), "keep": (100, 50)}

# The tree: an ok JPEG and PNG sharing a stem, a second x.jpg in another folder, a nested
# PNG, a truncated JPEG and a text file.
TREE = {
    "a/x.jpg": "jpeg-progressive.jpg",
    "a/x.png": "png-grey-alpha-8bit.png",
    "b/x.jpg": "jpeg-baseline-srgb-icc.jpg",
    "b/deeper/pic.png": "png-rgba-transparency.png",
    "b/broken.jpg": "broken-truncated.jpg",
}
OUTPUTS = {
    # input → {profile: (output relative to --out, loader of the output's format)}
    "a/x.jpg": {"square": ("a/x.jpg-square.png", "png"), "keep": ("a/x.jpg-keep.jpg", "jpeg")},
    "a/x.png": {"square": ("a/x.png-square.png", "png"), "keep": ("a/x.png-keep.png", "png")},
    "b/x.jpg": {"square": ("b/x-square.png", "png"), "keep": ("b/x-keep.jpg", "jpeg")},
    "b/deeper/pic.png": {
        "square": ("b/deeper/pic-square.png", "png"),
        "keep": ("b/deeper/pic-keep.png", "png"),
    },
}

runner = CliRunner()


@pytest.fixture
def app() -> typer.Typer:
    """A CLI with the batch command, shaped like `darkroom` (a group of subcommands)."""
    application = typer.Typer()
    batch_cli.register(application)

    @application.callback()
    def main() -> None:
        """Darkroom."""

    return application


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Settings of a fresh SQLite database with the test profiles, and a local store."""
    database_url = f"sqlite:///{tmp_path / 'darkroom.db'}"
    storage_url = f"file://{tmp_path / 'objects'}"
    upgrade(database_url)
    ctx = build_context(load_settings(database_url=database_url, storage_url=storage_url))
    try:
        for name, spec in PROFILES.items():
            profiles.put_profile(ctx, name, spec)
    finally:
        ctx.engine.dispose()
    return {"DARKROOM_DATABASE_URL": database_url, "DARKROOM_STORAGE_URL": storage_url}


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """A folder of images in nested subfolders, with a corrupt image and a text file."""
    root = tmp_path / "photos"
    for relative, corpus_name in TREE.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(read(corpus_name))
    (root / "notes.txt").write_text("not an image, whatever its neighbours are\n")
    return root


def invoke(app: typer.Typer, env: dict[str, str], *args: str) -> Result:
    """Run `batch` with these arguments."""
    return runner.invoke(app, ["batch", *args], env=env)


def summary(result: Result) -> dict[str, Any]:
    """The --json summary printed on stdout."""
    body: dict[str, Any] = json.loads(result.stdout)
    return body


def by_state(body: dict[str, Any], state: str) -> list[dict[str, Any]]:
    """The summary's items in one state."""
    return [item for item in body["items"] if item["state"] == state]


def files_under(folder: Path) -> set[str]:
    """Every file below `folder`, relative, hidden ones included."""
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}


def test_local_folder_renders_reports_and_skips(
    app: typer.Typer, env: dict[str, str], photos: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = (str(photos), "-p", "square", "--profile", "keep", "--out", str(out), "-j", "2")
    result = invoke(app, env, *args, "--json")
    assert result.exit_code == 1, result.output
    body = summary(result)
    assert body["mode"] == "local"
    assert body["files"] == 6
    assert body["counts"] == {"done": 8, "failed": 2, "skipped": 1}
    expected = {name for outputs in OUTPUTS.values() for name, _ in outputs.values()}
    assert files_under(out) == expected  # no temporary file left, nothing overwritten
    for relative, outputs in OUTPUTS.items():
        for profile, (name, loader) in outputs.items():
            image = pyvips.Image.new_from_file(str(out / name))
            assert (image.width, image.height) == EXPECTED[profile], name
            assert image.get("vips-loader").startswith(f"{loader}load"), name
            [item] = [
                i
                for i in body["items"]
                if i["path"] == str(photos / relative) and i["profile"] == profile
            ]
            assert item["state"] == "done"
            assert item["output"] == str(out / name)
            assert (item["width"], item["height"]) == EXPECTED[profile]
    failures = by_state(body, "failed")
    assert {(f["path"], f["profile"]) for f in failures} == {
        (str(photos / "b/broken.jpg"), "square"),
        (str(photos / "b/broken.jpg"), "keep"),
    }
    for failure in failures:
        assert failure["code"] == "corrupt_image"
        assert "The JPEG image cannot be decoded" in failure["reason"]
    [skipped] = by_state(body, "skipped")
    assert skipped["path"] == str(photos / "notes.txt")
    assert skipped["reason"] == "not an image"

    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    again = invoke(app, env, *args, "--skip-existing")
    assert again.exit_code == 1, again.output
    first, *failure_lines = again.stdout.splitlines()
    assert first == "6 file(s): 0 done, 2 failed, 9 skipped"
    assert [line.split(": ")[:3] for line in failure_lines] == [
        [str(photos / "b/broken.jpg"), profile, "The JPEG image cannot be decoded"]
        for profile in ("keep", "square")
    ]
    after = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.rglob("*") if p.is_file()}
    assert after == before  # nothing rendered or rewritten


def test_glob_pattern_and_explicit_files(
    app: typer.Typer, env: dict[str, str], photos: Path, tmp_path: Path
) -> None:
    out = tmp_path / "globbed"
    result = invoke(
        app, env, str(photos / "**" / "*.png"), "-p", "square", "-o", str(out), "--json"
    )
    assert result.exit_code == 0, result.output
    assert summary(result)["counts"] == {"done": 2, "failed": 0, "skipped": 0}
    assert files_under(out) == {"a/x-square.png", "b/deeper/pic-square.png"}

    # A file named explicitly is processed even if it is no image: asked for, so reported.
    named = invoke(
        app,
        env,
        str(photos / "notes.txt"),
        str(photos / "a/x.jpg"),
        "-p",
        "square",
        "-o",
        str(tmp_path / "named"),
        "--json",
    )
    assert named.exit_code == 1, named.output
    [failure] = by_state(summary(named), "failed")
    assert failure["code"] == "unsupported_format"
    assert files_under(tmp_path / "named") == {"a/x-square.png"}  # under their common folder


def test_outputs_inside_an_input_folder_are_not_inputs_next_time(
    app: typer.Typer, env: dict[str, str], photos: Path
) -> None:
    (photos / "b" / "broken.jpg").unlink()
    for _ in range(2):
        result = invoke(app, env, str(photos), "-p", "square", "-o", str(photos / "out"), "--json")
        assert result.exit_code == 0, result.output
        assert summary(result)["counts"] == {"done": 4, "failed": 0, "skipped": 1}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nowhere/*.jpg", "-p", "square", "-o", "out"), "No file or folder matches: nowhere"),
        (("-p", "nope", "-p", "square", "-o", "out"), "Unknown profile(s): nope."),
        (("-p", "square"), "Missing option '--out'"),
        (("-p", "square", "-o", "out", "--submit"), "--out, --jobs and --skip-existing"),
        (("-p", "square", "--submit"), "set DARKROOM_BROKER_URL to the cluster's broker"),
    ],
)
def test_a_batch_that_cannot_start_exits_2(
    app: typer.Typer,
    env: dict[str, str],
    photos: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    paths = () if args[0] == "nowhere/*.jpg" else (str(photos),)
    result = invoke(app, env, *paths, *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_folder_without_images_exits_2(
    app: typer.Typer, env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "readme.txt").write_text("hello")
    result = invoke(app, env, str(tmp_path / "docs"), "-p", "square", "-o", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "No image found" in result.stderr
    assert "1 other file(s) passed over" in result.stderr


def crash_on_marker(job: FileJob) -> list[Item]:
    """A task whose worker process dies on files named *crash*, like a libvips segfault."""
    if "crash" in Path(job.path).name:
        os._exit(3)
    return process_file(job)


@pytest.mark.slow  # starts a pool of fresh processes and kills one: 5-9 s
def test_a_dying_worker_fails_only_its_own_file(tmp_path: Path) -> None:
    paths = []
    for name in ("a.jpg", "crash.jpg", "c.jpg", "d.jpg", "e.jpg"):
        (tmp_path / name).write_bytes(read("jpeg-baseline-srgb-icc.jpg"))
        paths.append(tmp_path / name)
    sources = [Source(p, Path(p.stem)) for p in paths]
    specs = {"square": TransformSpec.coerce(PROFILES["square"])}
    jobs = plan(sources, specs, tmp_path / "out", limits=DEFAULT_LIMITS, skip_existing=False)
    results: list[Item] = []
    run(jobs, 2, results.extend, task=crash_on_marker)
    states = {Path(item.path).name: (item.state, item.reason) for item in results}
    assert states == {
        "a.jpg": (State.DONE, None),
        "crash.jpg": (State.FAILED, CRASHED),
        "c.jpg": (State.DONE, None),
        "d.jpg": (State.DONE, None),
        "e.jpg": (State.DONE, None),
    }


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A queue prefix of its own on the real Redis; its keys are deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        try:
            client.ping()
        except redis.RedisError as exc:
            service_unavailable(f"Redis not reachable at {REDIS_URL}: {exc}")
        prefix = f"batch{secrets.token_hex(4)}-"
        yield prefix
        keys = list(client.scan_iter(match=f"*{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def test_submit_uploads_and_follows_until_every_variant_ends(
    app: typer.Typer, env: dict[str, str], photos: Path, redis_prefix: str
) -> None:
    cluster_env = env | {"DARKROOM_BROKER_URL": REDIS_URL, "DARKROOM_QUEUE_PREFIX": redis_prefix}
    settings = load_settings(
        database_url=env["DARKROOM_DATABASE_URL"],
        storage_url=env["DARKROOM_STORAGE_URL"],
        broker_url=REDIS_URL,
        queue_prefix=redis_prefix,
    )
    ctx = build_context(settings)
    # A crop larger than every image: the upload passes, each variant fails in the worker.
    profiles.put_profile(
        ctx, "bigcrop", {"crop": {"left": 0, "top": 0, "width": 5000, "height": 5000}}
    )
    broker = make_broker(REDIS_URL)
    ctx.queue = DramatiqQueue(broker, ctx, prefix=redis_prefix)
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        result = invoke(
            app,
            cluster_env,
            str(photos),
            "-p",
            "square",
            "-p",
            "keep",
            "-p",
            "bigcrop",
            "--submit",
            "--timeout",
            "60",
            "--json",
        )
        assert result.exit_code == 1, result.output
        body = summary(result)
        assert body["mode"] == "submit"
        assert body["counts"] == {"done": 8, "failed": 3 + 4, "skipped": 1}
        for item in by_state(body, "done"):
            assert (item["width"], item["height"]) == EXPECTED[item["profile"]]
            stored = pyvips.Image.new_from_buffer(ctx.outputs.get(item["output"]), "")
            assert (stored.width, stored.height) == EXPECTED[item["profile"]]
        broken = str(photos / "b/broken.jpg")
        refused = [f for f in by_state(body, "failed") if f["path"] == broken]
        crops = [f for f in by_state(body, "failed") if f["path"] != broken]
        # Refused at upload: one item per profile, as in local mode.
        assert {(f["profile"], f["code"]) for f in refused} == {
            (name, "corrupt_image") for name in ("square", "keep", "bigcrop")
        }
        assert {f["profile"] for f in crops} == {"bigcrop"}
        assert len(crops) == 4
        for failure in crops:
            assert failure["code"] == "variant_failed"
            assert "falls outside the" in failure["reason"]
        image_ids = {item["image_id"] for item in body["items"] if item["image_id"]}
        assert len(image_ids) == 4
        for image_id in image_ids:
            statuses = {v.profile: v.status.value for v in images.get(ctx, image_id).variants}
            assert statuses == {"square": "done", "keep": "done", "bigcrop": "failed"}
    finally:
        worker.stop(timeout=10_000)
        broker.close()
        ctx.engine.dispose()
