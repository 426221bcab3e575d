"""Real processes: one `darkroom api`, several `darkroom worker`s, crashes and outages.

Besides exit codes, each test checks the outcome: every variant done through the API and
its download decoding at the promised size, storage matching the database, no message lost
(nothing left queued, nothing dead-lettered), and the logs saying what each process did.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pika
import pytest
import pyvips

from darkroom.queue.broker import QUEUES
from tests.cluster.conftest import Broker
from tests.integration.test_process import (
    PROFILES,
    Size,
    check_downloads,
    check_storage_matches,
    free_port,
    log_events,
    messages,
    stored,
)

pytestmark = pytest.mark.slow  # runs darkroom as real processes, on real brokers

SIZES: dict[str, Size] = {"thumb_200": (200, 200), "webp_800": (480, 320), "avatar": (128, 128)}
"""What each default profile makes of the 480x320 test images (never enlarged)."""


def size_of(_image_id: str, profile: str) -> Size:
    return SIZES[profile]


def queued_messages(broker: Broker) -> dict[str, int]:
    """Messages still waiting in each of the test's RabbitMQ queues (ready and delayed)."""
    counts = {}
    connection = pika.BlockingConnection(pika.URLParameters(broker.url))
    try:
        channel = connection.channel()
        for queue in QUEUES:
            for name in (f"{broker.prefix}{queue}", f"{broker.prefix}{queue}.DQ"):
                declared = channel.queue_declare(queue=name, passive=True)
                counts[name] = declared.method.message_count
    finally:
        connection.close()
    return counts


def readiness(response: httpx.Response, dependency: str) -> bool:
    """Whether /ready reports `dependency` as answering."""
    body: dict[str, Any] = response.json()
    check: dict[str, Any] = body.get("checks", body)[dependency]
    return bool(check["ok"])


def logged(path: Path, prefix: str) -> list[str]:
    """The messages of a process's log that start with `prefix`."""
    return [m for m in messages(log_events(path)) if m.startswith(prefix)]


def wait_for_log(path: Path, prefix: str, count: int, timeout: float = 60) -> None:
    """Poll a process's log until `count` messages starting with `prefix` were logged."""
    deadline = time.monotonic() + timeout
    while len(logged(path, prefix)) < count:
        assert time.monotonic() < deadline, path.read_text()[-5000:]
        time.sleep(0.1)


def cluster_env(root: Path, database_url: str, broker: Broker, **extra: str) -> dict[str, str]:
    return (
        os.environ
        | {
            "DARKROOM_DATABASE_URL": database_url,
            "DARKROOM_STORAGE_URL": f"file://{root / 'objects'}",
            "DARKROOM_BROKER_URL": broker.url,
            "DARKROOM_QUEUE_PREFIX": broker.prefix,
            "DARKROOM_LEASE_SECONDS": "3",
            "DARKROOM_RECONCILE_INTERVAL_SECONDS": "1",
            "DARKROOM_LOG_LEVEL": "info",
            "DARKROOM_LOG_FORMAT": "json",
        }
        | extra
    )


@contextmanager
def process(
    root: Path, name: str, args: list[str], env: dict[str, str]
) -> Iterator[subprocess.Popen[bytes]]:
    log = (root / f"{name}.log").open("ab")
    child = subprocess.Popen(
        [sys.executable, "-m", "darkroom", *args], env=env, stdout=log, stderr=log
    )
    try:
        yield child
    finally:
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        log.close()


def wait_healthy(root: Path, port: int, child: subprocess.Popen[bytes]) -> httpx.Client:
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    deadline = time.monotonic() + 60
    while True:
        try:
            if http.get("/health").status_code == 200:
                return http
        except httpx.TransportError:
            pass
        assert child.poll() is None, (root / "api.log").read_text()
        assert time.monotonic() < deadline, (root / "api.log").read_text()
        time.sleep(0.1)


def distinct_images(count: int) -> list[bytes]:
    """`count` different JPEGs (different bytes, so different originals)."""
    base = pyvips.Image.xyz(480, 320)
    images = []
    for i in range(count):
        pixels = (base[0] * (i % 7 + 1) + base[1] * (i // 7 + 1)) % 256
        rgb = pixels.bandjoin([pixels * 0 + (i * 37) % 256, (pixels + i) % 256])
        images.append(bytes(rgb.cast("uchar").copy(interpretation="srgb").jpegsave_buffer(Q=85)))
    return images


def all_images(http: httpx.Client) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": "200"} | ({"cursor": cursor} if cursor else {})
        page = http.get("/v1/images", params=params).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def test_worker_killed_mid_run_loses_nothing(
    tmp_path: Path, postgres_url: str, rabbitmq: Broker
) -> None:
    env = cluster_env(tmp_path, postgres_url, rabbitmq)
    port = free_port()
    with ExitStack() as stack:
        api = stack.enter_context(process(tmp_path, "api", ["api", "--port", str(port)], env))
        http = wait_healthy(tmp_path, port, api)
        stack.callback(http.close)
        workers = [
            stack.enter_context(process(tmp_path, f"worker{i}", ["worker", "--threads", "2"], env))
            for i in range(3)
        ]
        for i, data in enumerate(distinct_images(100)):
            response = http.post(
                "/v1/images", files={"file": (f"{i}.jpg", data)}, data={"profiles": PROFILES}
            )
            assert response.status_code == 202, response.text

        deadline = time.monotonic() + 120
        while True:  # kill a worker once work is under way, but not over
            done = sum(v["status"] == "done" for i in all_images(http) for v in i["variants"])
            if done >= 20 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert done < 300, "the kill should happen mid-run"
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(timeout=10)

        deadline = time.monotonic() + 240
        while True:
            images = all_images(http)
            if len(images) == 100 and all(i["status"] == "done" for i in images):
                break
            assert time.monotonic() < deadline, [i["status"] for i in images]
            time.sleep(0.5)
        variants = [v for i in images for v in i["variants"]]
        assert len(variants) == 300
        assert all(v["status"] == "done" for v in variants)
        check_downloads(http, images, size_of)
        assert http.get("/v1/dead-letters").json()["items"] == []
        survivors = workers[1:]
    # Nothing failed, nothing was left behind: every row done with its lease released, one
    # completion event per image, each variant exactly once in storage, and no message
    # still queued (a redelivered duplicate found its variant done and was acknowledged).
    after = stored(postgres_url)
    assert len(after.variants) == 300
    assert all(v.status == "done" and v.lease_until is None for v in after.variants)
    assert after.dead_letters == 0
    assert sorted(after.events) == sorted(("image.done", str(i["id"])) for i in images)
    check_storage_matches(tmp_path / "objects", after)
    assert set(queued_messages(rabbitmq).values()) == {0}
    assert [child.returncode for child in survivors] == [0, 0]
    for index in (1, 2):
        events = log_events(tmp_path / f"worker{index}.log")
        assert "stopping: letting running transforms finish" in messages(events)
        assert not [e for e in events if e["level"] in ("error", "critical")]
        assert not [e for e in events if e.get("outcome") == "failed"]


def test_uploads_survive_a_broker_outage(
    tmp_path: Path, postgres_url: str, rabbitmq: Broker
) -> None:
    closed = Broker("rabbitmq", f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F", rabbitmq.prefix)
    port = free_port()
    with ExitStack() as stack:
        api = stack.enter_context(
            process(
                tmp_path,
                "api",
                ["api", "--port", str(port)],
                cluster_env(tmp_path, postgres_url, closed),
            )
        )
        http = wait_healthy(tmp_path, port, api)
        stack.callback(http.close)
        ready = http.get("/ready")
        assert ready.status_code == 503
        assert (readiness(ready, "broker"), readiness(ready, "database")) == (False, True)
        data = distinct_images(3)
        ids = []
        for i, image in enumerate(data):
            response = http.post(
                "/v1/images", files={"file": (f"{i}.jpg", image)}, data={"profiles": "avatar"}
            )
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])
        time.sleep(1)
        assert all(http.get(f"/v1/images/{i}").json()["status"] == "pending" for i in ids)
        # The broker is back (a worker on the real one): the reconciler republishes the work.
        stack.enter_context(
            process(tmp_path, "worker", ["worker"], cluster_env(tmp_path, postgres_url, rabbitmq))
        )
        deadline = time.monotonic() + 60
        while not all(http.get(f"/v1/images/{i}").json()["status"] == "done" for i in ids):
            assert time.monotonic() < deadline, (tmp_path / "worker.log").read_text()[-5000:]
            time.sleep(0.25)
        check_downloads(
            http,
            [http.get(f"/v1/images/{i}").json() for i in ids],
            size_of,
            profiles={"avatar"},
        )
    # The api said it could not enqueue each upload; the worker's reconciler republished
    # them, each was transformed once, and the database agrees that all are done.
    refused = logged(tmp_path / "api.log", "could not enqueue image")
    assert sorted(m.split()[4].rstrip(",") for m in refused) == sorted(ids)
    republished = logged(tmp_path / "worker.log", "reconciler re-enqueued")
    assert sum(int(m.split()[2]) for m in republished) >= 3
    worker_events = log_events(tmp_path / "worker.log")
    transformed = [e["image_id"] for e in worker_events if e["msg"] == "transform done"]
    assert sorted(transformed) == sorted(ids)
    after = stored(postgres_url)
    assert [v.status for v in after.variants] == ["done"] * 3
    assert after.dead_letters == 0
    check_storage_matches(tmp_path / "objects", after)


def test_worker_and_api_stop_cleanly_on_sigterm(tmp_path: Path, rabbitmq: Broker) -> None:
    database_url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    env = cluster_env(tmp_path, database_url, rabbitmq)
    port = free_port()
    worker_log = tmp_path / "worker.log"
    with (
        process(tmp_path, "api", ["api", "--port", str(port)], env) as api,
        process(tmp_path, "worker", ["worker", "--processes", "2"], env) as worker,
    ):
        http = wait_healthy(tmp_path, port, api)
        try:
            # The pair works before it is stopped: an upload goes through to the end.
            response = http.post(
                "/v1/images",
                files={"file": ("0.jpg", distinct_images(1)[0])},
                data={"profiles": PROFILES},
            )
            assert response.status_code == 202, response.text
            image_id = response.json()["id"]
            deadline = time.monotonic() + 60
            while (image := http.get(f"/v1/images/{image_id}").json())["status"] != "done":
                assert image["status"] != "failed", image
                assert time.monotonic() < deadline, worker_log.read_text()[-5000:]
                time.sleep(0.1)
            check_downloads(http, [image], size_of)
        finally:
            http.close()
        # Both worker processes are consuming, so both get the stop as running workers.
        wait_for_log(worker_log, "worker consuming", 2)
        for child in (worker, api):
            child.send_signal(signal.SIGTERM)
            assert child.wait(timeout=30) == 0, worker_log.read_text()
    assert len(logged(worker_log, "stopping: letting running transforms finish")) == 2
    assert not [e for e in log_events(worker_log) if e["level"] in ("error", "critical")]
    assert logged(tmp_path / "api.log", "Finished server process")
    after = stored(database_url)
    assert [v.status for v in after.variants] == ["done"] * 3
    check_storage_matches(tmp_path / "objects", after)
    assert set(queued_messages(rabbitmq).values()) == {0}


def test_memory_broker_is_refused_for_the_cluster_roles(tmp_path: Path) -> None:
    env = os.environ | {"DARKROOM_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    result = subprocess.run(
        [sys.executable, "-m", "darkroom", "worker"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "set DARKROOM_BROKER_URL" in result.stderr
