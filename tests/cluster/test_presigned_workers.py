"""Workers without storage credentials: real `darkroom worker` processes with every AWS
variable removed from their environment render variants from the presigned URLs in their
messages, on a real S3 server, and one SIGKILLed mid-run loses nothing."""

from __future__ import annotations

import signal
import time
from contextlib import ExitStack
from pathlib import Path

import pika
import pytest
import pyvips

from darkroom.queue.broker import DISPATCH, TRANSFORM
from tests.cluster.conftest import Broker
from tests.cluster.test_processes import (
    all_images,
    cluster_env,
    distinct_images,
    logged,
    process,
    size_of,
    wait_healthy,
)
from tests.integration.test_process import (
    PROFILES,
    check_downloads,
    free_port,
    log_events,
    messages,
    stored,
)
from tests.s3_server import S3Server, s3_env

pytestmark = pytest.mark.slow  # real processes on RabbitMQ, PostgreSQL and an S3 server

IMAGES = 40


def queued(broker: Broker, *queues: str) -> dict[str, int]:
    """Messages still waiting in these of the test's queues (ready and delayed)."""
    connection = pika.BlockingConnection(pika.URLParameters(broker.url))
    try:
        channel = connection.channel()
        return {
            name: channel.queue_declare(queue=name, passive=True).method.message_count
            for queue in queues
            for name in (f"{broker.prefix}{queue}", f"{broker.prefix}{queue}.DQ")
        }
    finally:
        connection.close()


def without_credentials(env: dict[str, str], home: Path) -> dict[str, str]:
    """`env` with every AWS variable gone, and a home without ~/.aws: no credentials."""
    kept = {name: value for name, value in env.items() if not name.startswith("AWS_")}
    return kept | {"HOME": str(home)}


def test_credential_less_workers_render_from_presigned_urls_and_survive_a_kill(
    tmp_path: Path, postgres_url: str, rabbitmq: Broker, s3_server: S3Server, s3_bucket: str
) -> None:
    signing = cluster_env(tmp_path, postgres_url, rabbitmq) | {
        "DARKROOM_STORAGE_URL": f"s3://{s3_bucket}/prod",
        "DARKROOM_WORKER_PRESIGNED": "1",
        **s3_env(s3_server.endpoint),
    }
    home = tmp_path / "home"
    home.mkdir()
    bare = without_credentials(signing, home)
    assert not [name for name in bare if name.startswith("AWS_")]
    port = free_port()
    with ExitStack() as stack:
        api = stack.enter_context(process(tmp_path, "api", ["api", "--port", str(port)], signing))
        http = wait_healthy(tmp_path, port, api)
        stack.callback(http.close)
        # The one process besides the API that holds credentials: it dispatches (signing
        # each message's URLs) and reconciles (signing fresh ones).
        stack.enter_context(
            process(tmp_path, "dispatcher", ["worker", "--queues", "dispatch"], signing)
        )
        workers = [
            stack.enter_context(
                process(
                    tmp_path,
                    f"worker{i}",
                    ["worker", "--queues", "transform", "--threads", "2"],
                    bare,
                )
            )
            for i in range(2)
        ]
        for i, data in enumerate(distinct_images(IMAGES)):
            response = http.post(
                "/v1/images", files={"file": (f"{i}.jpg", data)}, data={"profiles": PROFILES}
            )
            assert response.status_code == 202, response.text

        total = IMAGES * 3
        deadline = time.monotonic() + 180
        # Kill a worker once work is under way, but not over, and once the one to be killed
        # has rendered something itself (its sibling may start first and race ahead).
        while True:
            done = sum(v["status"] == "done" for i in all_images(http) for v in i["variants"])
            started = bool(logged(tmp_path / "worker0.log", "transform done"))
            if (done >= 10 and started) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert 0 < done < total, "the kill should happen mid-run"
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(timeout=10)

        deadline = time.monotonic() + 300
        while True:
            images = all_images(http)
            if len(images) == IMAGES and all(i["status"] == "done" for i in images):
                break
            assert time.monotonic() < deadline, [i["status"] for i in images]
            time.sleep(0.5)
        check_downloads(http, images, size_of)
        assert http.get("/v1/dead-letters").json()["items"] == []
        survivor = workers[1]
    # Nothing failed or was lost: every row done once, with its lease released; each
    # output where its row says and nothing else under variants/ (the keys stayed
    # deterministic); no message left queued.
    after = stored(postgres_url)
    assert len(after.variants) == total
    assert all(v.status == "done" and v.lease_until is None for v in after.variants)
    assert after.dead_letters == 0
    assert sorted(after.events) == sorted(("image.done", str(i["id"])) for i in images)
    listed = s3_server.admin.list_objects_v2(Bucket=s3_bucket, Prefix="prod/variants/")
    keys = {item["Key"].removeprefix("prod/") for item in listed.get("Contents", ())}
    assert keys == {v.output_key for v in after.variants}
    for variant in after.variants[:10]:
        assert variant.output_key is not None
        body = s3_server.admin.get_object(Bucket=s3_bucket, Key=f"prod/{variant.output_key}")
        decoded = pyvips.Image.new_from_buffer(body["Body"].read(), "")
        assert (decoded.width, decoded.height) == (variant.width, variant.height)
    assert set(queued(rabbitmq, DISPATCH, TRANSFORM).values()) == {0}
    assert survivor.returncode == 0
    # The credential-less workers said so, ran neither reconciler nor sweeper, and did
    # the rendering; the survivor stopped cleanly, with no error logged.
    for index in (0, 1):
        path = tmp_path / f"worker{index}.log"
        assert logged(path, "no storage credentials: working from the presigned URLs")
        assert not logged(path, "reconciler re-enqueued")
        assert [e for e in log_events(path) if e["msg"] == "transform done"]
    events = log_events(tmp_path / "worker1.log")
    assert "stopping: letting running transforms finish" in messages(events)
    assert not [e for e in events if e["level"] in ("error", "critical")]
    assert not [e for e in events if e.get("outcome") == "failed"]
    assert not [e for e in log_events(tmp_path / "dispatcher.log") if e["level"] == "error"]
