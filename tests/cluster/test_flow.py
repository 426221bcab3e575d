"""The full flow on every combination of real database and real broker."""

from __future__ import annotations

import pyvips

from darkroom.settings import load_settings
from tests.cluster.conftest import Broker, Storage, in_process_cluster, wait_done
from tests.corpus import read

FILES = ("jpeg-progressive.jpg", "png-rgba-transparency.png", "gif-animated-loop3-10frames.gif")


def test_upload_variants_download(database_url: str, broker: Broker, storage: Storage) -> None:
    settings = load_settings(
        database_url=database_url,
        broker_url=broker.url,
        queue_prefix=broker.prefix,
        workers=2,
        **storage.settings,
    )
    with in_process_cluster(settings) as http:
        ids = []
        for name in FILES:
            response = http.post("/v1/images", files={"file": (name, read(name))})
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])
        for image_id in ids:
            body = wait_done(http, image_id)
            assert body["status"] == "done", body
            assert {v["profile"] for v in body["variants"]} == {"thumb_200", "webp_800", "avatar"}
            for variant in body["variants"]:
                assert variant["attempts"] == 1
                data = http.get(variant["url"]).content
                image = pyvips.Image.new_from_buffer(data, "")
                assert (image.width, image.height) == (variant["width"], variant["height"])
        assert http.get("/ready").status_code == 200
        original = http.get(f"/v1/images/{ids[0]}/original")
        assert original.content == read(FILES[0])
