"""Real processes: one `darkroom api`, several `darkroom worker`s, crashes and outages."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pyvips

from tests.cluster.conftest import Broker
from tests.integration.test_process import free_port

PROFILES = "thumb_200,webp_800,avatar"


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
            "DARKROOM_LOG_LEVEL": "warning",
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


def all_images(http: httpx.Client) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
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
            done = sum(v["status"] == "done" for i in all_images(http) for v in i["variants"])  # type: ignore[attr-defined]
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
        variants = [v for i in images for v in i["variants"]]  # type: ignore[attr-defined]
        assert len(variants) == 300
        assert all(v["status"] == "done" for v in variants)
    outputs = sorted(
        p.relative_to(tmp_path)
        for p in (tmp_path / "objects" / "variants").rglob("*")
        if p.is_file()
    )
    assert len(outputs) == 300  # each variant exactly once in storage


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
        assert http.get("/ready").status_code == 503
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
            assert time.monotonic() < deadline
            time.sleep(0.25)


def test_worker_and_api_stop_cleanly_on_sigterm(tmp_path: Path, rabbitmq: Broker) -> None:
    env = cluster_env(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", rabbitmq)
    port = free_port()
    with (
        process(tmp_path, "api", ["api", "--port", str(port)], env) as api,
        process(tmp_path, "worker", ["worker", "--processes", "2"], env) as worker,
    ):
        http = wait_healthy(tmp_path, port, api)
        http.close()
        time.sleep(1)
        for child in (worker, api):
            child.send_signal(signal.SIGTERM)
            assert child.wait(timeout=30) == 0, (tmp_path / "worker.log").read_text()


def test_memory_broker_is_refused_for_the_cluster_roles(tmp_path: Path) -> None:
    env = os.environ | {"DARKROOM_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}
    result = subprocess.run(
        [sys.executable, "-m", "darkroom", "worker"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 1
    assert "set DARKROOM_BROKER_URL" in result.stderr
