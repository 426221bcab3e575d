"""`darkroom worker` and `darkroom api` sweep what killed writes left in storage at start."""

from __future__ import annotations

import signal
from datetime import timedelta
from pathlib import Path

import pytest

from darkroom.storage import LocalStore
from tests.cluster.conftest import Broker
from tests.cluster.test_processes import cluster_env, logged, process, wait_for_log
from tests.integration.test_process import free_port
from tests.integration.test_sweeper import leftover, temp_files

pytestmark = pytest.mark.slow  # a real worker process on a real broker


@pytest.mark.parametrize(
    ("role", "stopped"),
    [
        ("worker", "stopping: letting running transforms finish"),
        ("api", "Application shutdown complete"),
    ],
)
def test_each_role_sweeps_leftovers_at_start(
    tmp_path: Path, rabbitmq: Broker, role: str, stopped: str
) -> None:
    objects = tmp_path / "objects"
    store = LocalStore(objects)
    store.put("originals/ab/cd/kept.jpg", b"an object")
    # Older than the lease (30 s here): leftovers of interrupted writes.
    stale = [
        leftover(objects / "originals" / "ab" / "cd", "1a2b3c4d", timedelta(minutes=1)),
        leftover(objects / "variants" / "img", "5e6f7a8b", timedelta(minutes=1)),
    ]
    fresh = leftover(objects / "cache" / "img", "9c0d1e2f", timedelta(seconds=0))
    env = cluster_env(
        tmp_path,
        f"sqlite:///{tmp_path / 'db.sqlite'}",
        rabbitmq,
        DARKROOM_LEASE_SECONDS="30",
    )
    log = tmp_path / f"{role}.log"
    # The worker on two queues: a consumer per queue connects at start, and this test is
    # about what happens before them.
    args = (
        [role, "--port", str(free_port())]
        if role == "api"
        else [role, "--queues", "dispatch,transform"]
    )
    with process(tmp_path, role, args, env) as worker:
        wait_for_log(log, "swept 2 leftover(s) of interrupted writes", 1, timeout=60)
        assert temp_files(objects) == [fresh]
        assert not (objects / "variants").exists()
        assert list(store.iterate()) == ["originals/ab/cd/kept.jpg"]
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    assert not any(path.exists() for path in stale)
    assert fresh.exists()
    assert logged(log, stopped)
