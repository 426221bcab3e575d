"""`darkroom serve` as a real process: crash recovery after SIGKILL, clean exit on SIGTERM.

Beyond exit codes, each test checks what users and operators would see: every variant done
through the API and its download decoding at the promised size, the objects in storage
matching the database row for row, nothing failed or dead-lettered, one completion event
per image, and the log (JSON lines) saying what the process did.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pyvips
import sqlalchemy as sa
from sqlalchemy.orm import Session

from darkroom.db.engine import create_engine
from darkroom.db.schema import DeadLetter, Event, ImageVariant
from darkroom.storage import LocalStore
from tests.corpus import Entry, ok_entries
from tests.integration.test_pipeline import LOADERS, contain_width, cover

pytestmark = pytest.mark.slow  # runs darkroom as real processes

PROFILES = "thumb_200,webp_800,avatar"
FORMATS = {"thumb_200": "jpeg", "webp_800": "webp"}
"""The output format of the default profiles that set one (avatar keeps the input's)."""
RECOVERED = re.compile(r"recovered (\d+) unfinished variant\(s\) \((\d+) leases released\)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def log_events(path: Path) -> list[dict[str, Any]]:
    """The JSON log lines of a Darkroom process (anything else it printed is skipped)."""
    events = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            event = json.loads(line)
            if isinstance(event, dict):
                events.append(event)
    return events


def messages(events: list[dict[str, Any]]) -> list[str]:
    return [str(e["msg"]) for e in events]


@contextmanager
def serve(
    root: Path, port: int, log_name: str = "serve.log"
) -> Iterator[tuple[subprocess.Popen[bytes], httpx.Client]]:
    env = os.environ | {
        "DARKROOM_DATABASE_URL": f"sqlite:///{root / 'darkroom.db'}",
        "DARKROOM_STORAGE_URL": f"file://{root / 'objects'}",
        "DARKROOM_PORT": str(port),
        "DARKROOM_WORKERS": "1",
        "DARKROOM_RECONCILE_INTERVAL_SECONDS": "1",
        "DARKROOM_LOG_LEVEL": "info",
        "DARKROOM_LOG_FORMAT": "json",
    }
    log_path = root / log_name
    log = log_path.open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "darkroom", "serve"], env=env, stdout=log, stderr=log, cwd=root
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if http.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(log_path.read_text())
                time.sleep(0.1)
            yield process, http
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        log.close()


def images_of(http: httpx.Client) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = http.get("/v1/images", params={"limit": 200}).json()["items"]
    return items


def wait_all_done(http: httpx.Client, count: int, log: Path, timeout: float = 240) -> None:
    """Poll the API until `count` images exist and every one is done."""
    deadline = time.monotonic() + timeout
    while True:
        images = images_of(http)
        if len(images) == count and all(i["status"] == "done" for i in images):
            return
        assert all(i["status"] != "failed" for i in images), images
        assert time.monotonic() < deadline, log.read_text()[-5000:]
        time.sleep(0.25)


Size = tuple[float, float]


def decode_fully(data: bytes) -> pyvips.Image:
    """Decode every pixel, failing on truncated or damaged data (libvips is lazy and lenient)."""
    image = pyvips.Image.new_from_buffer(data, "", fail_on="warning")
    image.avg()
    return image


def check_downloads(
    http: httpx.Client,
    images: list[dict[str, Any]],
    size: Callable[[str, str], Size],
    profiles: Collection[str] = PROFILES.split(","),
) -> None:
    """Every variant is done, and its download decodes in its format at `size(image, profile)`."""
    for image in images:
        assert image["status"] == "done", image
        assert {v["profile"] for v in image["variants"]} == set(profiles)
        for variant in image["variants"]:
            assert variant["status"] == "done", variant
            response = http.get(variant["url"])
            assert response.status_code == 200, variant
            assert response.headers["content-type"] == f"image/{variant['format']}"
            assert FORMATS.get(variant["profile"], variant["format"]) == variant["format"]
            decoded = decode_fully(response.content)
            assert decoded.get("vips-loader") == LOADERS[variant["format"]]
            assert (decoded.width, decoded.height) == (variant["width"], variant["height"])
            want_w, want_h = size(image["id"], variant["profile"])
            assert abs(decoded.width - want_w) <= 1, (variant, want_w)
            assert abs(decoded.height - want_h) <= 1, (variant, want_h)


@dataclass(frozen=True)
class Stored:
    """What the database holds about the work, read after the processes stopped."""

    variants: list[ImageVariant]
    dead_letters: int
    events: list[tuple[str, str]]
    """(kind, image_id) of every completion event."""


def stored(database_url: str) -> Stored:
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            variants = list(session.scalars(sa.select(ImageVariant)))
            dead = session.scalar(sa.select(sa.func.count()).select_from(DeadLetter))
            events = [(e.kind, e.image_id) for e in session.scalars(sa.select(Event))]
    finally:
        engine.dispose()
    return Stored(variants, int(dead or 0), events)


def check_storage_matches(objects: Path, db: Stored) -> None:
    """One object per variant, where its row says, decoding at the row's size; nothing else.

    Objects are what the store lists: a SIGKILL during a write may leave the write's temp
    file behind, which the store never lists or serves.
    """
    store = LocalStore(objects)
    keys = {v.output_key for v in db.variants}
    assert None not in keys
    assert set(store.iterate("variants/")) == keys  # a re-run overwrote, never forked
    for variant in db.variants:
        assert variant.output_key is not None
        decoded = decode_fully(store.get(variant.output_key))
        assert (decoded.width, decoded.height) == (variant.width, variant.height)
        assert decoded.get("vips-loader") == LOADERS[str(variant.format)]


def corpus_sizes(entries: dict[str, Entry]) -> Callable[[str, str], Size]:
    """The size each default profile promises for the corpus file uploaded as an image."""

    def size(image_id: str, profile: str) -> Size:
        entry = entries[image_id]
        if profile == "thumb_200":
            return cover(entry, 200)
        if profile == "webp_800":
            return contain_width(entry, 800)
        return cover(entry, 128)

    return size


def test_sigkill_mid_processing_then_restart_finishes_everything(tmp_path: Path) -> None:
    port = free_port()
    database_url = f"sqlite:///{tmp_path / 'darkroom.db'}"
    entries = [e for e in ok_entries() if e.category in ("orientation", "photo", "jpeg")][:20]
    assert len(entries) == 20
    uploaded: dict[str, Entry] = {}
    with serve(tmp_path, port, "first.log") as (process, http):
        for entry in entries:
            response = http.post(
                "/v1/images",
                files={"file": (entry.file, entry.read())},
                data={"profiles": PROFILES},
            )
            assert response.status_code == 202
            uploaded[response.json()["id"]] = entry
        statuses = [v["status"] for i in images_of(http) for v in i["variants"]]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    assert statuses.count("done") < 60, "the crash should interrupt the work"
    assert len(statuses) == 60, statuses

    at_crash = stored(database_url)
    unfinished = {v.id for v in at_crash.variants if v.status != "done"}
    processing = sum(v.status == "processing" for v in at_crash.variants)
    assert unfinished, "the crash should leave work undone"

    with serve(tmp_path, port, "second.log") as (_, http):
        wait_all_done(http, 20, tmp_path / "second.log")
        images = images_of(http)
        assert {i["id"] for i in images} == set(uploaded)
        check_downloads(http, images, corpus_sizes(uploaded))
        assert http.get("/v1/dead-letters").json()["items"] == []

    after = stored(database_url)
    assert len(after.variants) == 60
    assert all(v.status == "done" and v.lease_until is None for v in after.variants)
    assert after.dead_letters == 0
    # The image's completion event is written with its last variant: once per image.
    assert sorted(after.events) == sorted(("image.done", image_id) for image_id in uploaded)
    check_storage_matches(tmp_path / "objects", after)

    # The restart said what it found, and redid exactly the work the crash left undone.
    events = log_events(tmp_path / "second.log")
    recovered = [m for m in map(RECOVERED.fullmatch, messages(events)) if m]
    assert [(int(m[1]), int(m[2])) for m in recovered] == [(len(unfinished), processing)]
    transforms = [e for e in events if e["msg"] == "transform done"]
    assert sorted(e["variant_id"] for e in transforms) == sorted(unfinished)
    assert not [e for e in events if e["level"] in ("error", "critical")]


def test_sigterm_lets_running_work_finish_and_loses_nothing(tmp_path: Path) -> None:
    port = free_port()
    database_url = f"sqlite:///{tmp_path / 'darkroom.db'}"
    entries = [e for e in ok_entries() if e.category in ("photo", "jpeg")][:5]
    uploaded: dict[str, Entry] = {}
    with serve(tmp_path, port, "first.log") as (process, http):
        for entry in entries:
            response = http.post(
                "/v1/images",
                files={"file": (entry.file, entry.read())},
                data={"profiles": PROFILES},
            )
            assert response.status_code == 202
            uploaded[response.json()["id"]] = entry
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, (tmp_path / "first.log").read_text()

    # Stopped cleanly: no transform was cut off holding its lease, nothing failed, every
    # transform that ran was logged and its output is in storage.
    at_stop = stored(database_url)
    assert len(at_stop.variants) == 15
    assert all(v.status in ("done", "pending") for v in at_stop.variants), at_stop.variants
    assert all(v.lease_until is None for v in at_stop.variants)
    assert at_stop.dead_letters == 0
    done = {v.id for v in at_stop.variants if v.status == "done"}
    for variant in at_stop.variants:
        if variant.status == "done":
            assert variant.output_key is not None
            assert LocalStore(tmp_path / "objects").exists(variant.output_key)
    first = log_events(tmp_path / "first.log")
    assert messages(first).count("image accepted") == 5
    logged = [e["variant_id"] for e in first if e["msg"] == "transform done"]
    assert sorted(logged) == sorted(done)
    assert any(m.startswith("Finished server process") for m in messages(first)), first

    # Whatever was still queued is picked up by the next start, with no lease to break.
    pending = len(at_stop.variants) - len(done)
    with serve(tmp_path, port, "second.log") as (_, http):
        wait_all_done(http, 5, tmp_path / "second.log", timeout=120)
        check_downloads(http, images_of(http), corpus_sizes(uploaded))
    second = messages(log_events(tmp_path / "second.log"))
    assert f"recovered {pending} unfinished variant(s) (0 leases released)" in second
    after = stored(database_url)
    assert all(v.status == "done" for v in after.variants)
    assert sorted(after.events) == sorted(("image.done", image_id) for image_id in uploaded)
    check_storage_matches(tmp_path / "objects", after)
