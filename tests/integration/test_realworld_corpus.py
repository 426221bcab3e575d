"""Every real-world file (tests/fixtures/realworld) through upload, variants and a render.

One embedded service serves the whole module. Each file is uploaded with two small
profiles: an accepted file must reach `done` with every variant done and answer a signed
on-demand render with a decodable image; a refused one must carry the status and error
code `expected.json` records for it. Nothing may ever answer a 5xx.

An entry of `expected.json` with a `known_issue` records the right outcome of a file the
service does not handle right yet, and says what it does instead: such a file may still
differ (even with a 5xx), but once it gets its right outcome the test fails until the
`known_issue` is removed, as a strict xfail would.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pyvips

from darkroom.client import sign_url
from tests.integration.conftest import DONE_STATES, Service, start_service

pytestmark = pytest.mark.slow

REALWORLD = Path(__file__).parents[1] / "fixtures" / "realworld"
KEY = "realworld-corpus-key-0123456789"
PROFILES = {
    "rw_webp_200": {"width": 200, "height": 200, "fit": "contain", "format": "webp"},
    "rw_jpeg_64": {"width": 64, "height": 64, "fit": "cover", "format": "jpeg"},
}
THREADS = 4
WAIT_SECONDS = 60.0


@dataclass(frozen=True)
class Expected:
    """What `expected.json` says of one file."""

    status: int | str
    code: str | None
    known_issue: str | None


def expectations() -> dict[str, Expected]:
    """Every file of the real-world corpus and its expected outcome."""
    rows: dict[str, dict[str, Any]] = json.loads((REALWORLD / "expected.json").read_text())
    return {
        name: Expected(row["status"], row.get("code"), row.get("known_issue"))
        for name, row in rows.items()
    }


@pytest.fixture(scope="module")
def realworld(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One embedded service with the two corpus profiles, for every test of the module."""
    root = tmp_path_factory.mktemp("realworld")
    for service in start_service(root, signing_keys=[KEY])():
        for name, spec in PROFILES.items():
            answer = service.http.put(f"/v1/profiles/{name}", json=spec)
            assert answer.status_code == 200, answer.text
        yield service


def wait_until_settled(service: Service, image_id: str) -> dict[str, Any]:
    """Poll the image until done or failed; its last JSON (not settled: still pending)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        body: dict[str, Any] = service.http.get(f"/v1/images/{image_id}").json()
        if body["status"] in DONE_STATES or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def outcome_of(service: Service, name: str) -> tuple[int | str, str | None, list[str]]:
    """(status, error code, problems) of one file through upload, variants and a render.

    The status is "accepted" for an upload answered 201/202, else the HTTP status.
    """
    data = (REALWORLD / name).read_bytes()
    answer = service.upload(data, name=Path(name).name, profiles=",".join(PROFILES))
    if answer.status_code >= 500:
        return answer.status_code, None, [f"upload answered {answer.status_code}: {answer.text}"]
    if answer.status_code not in (201, 202):
        code: str | None = answer.json().get("error", {}).get("code")
        return answer.status_code, code, []

    problems: list[str] = []
    image_id: str = answer.json()["id"]
    body = wait_until_settled(service, image_id)
    variants = {v["profile"]: v for v in body["variants"]}
    if body["status"] != "done" or set(variants) != set(PROFILES):
        problems.append(f"image {body['status']}: {body['variants']}")
    for profile, variant in variants.items():
        if variant["status"] != "done":
            problems.append(f"variant {profile} {variant['status']}: {variant.get('error')}")

    rendered = service.http.get(sign_url(f"/v1/render/{image_id}?w=96&h=96&fmt=png", KEY))
    if rendered.status_code != 200:
        problems.append(f"render answered {rendered.status_code}: {rendered.text[:300]}")
    else:
        try:
            picture = pyvips.Image.new_from_buffer(rendered.content, "")
            picture.avg()
        except pyvips.Error as exc:
            problems.append(f"render output does not decode: {exc}")
        else:
            if not (0 < picture.width <= 96 and 0 < picture.height <= 96):
                problems.append(f"render is {picture.width}x{picture.height}, not within 96x96")
    return "accepted", None, problems


def test_every_realworld_file_has_its_expected_outcome(realworld: Service) -> None:
    expected = expectations()
    on_disk = {
        str(path.relative_to(REALWORLD))
        for path in REALWORLD.rglob("*")
        if path.is_file() and path.parent not in (REALWORLD, REALWORLD / "licenses")
    }
    assert on_disk == set(expected), "expected.json and the files on disk differ"

    names = sorted(expected)
    random.Random(11).shuffle(names)  # mix heavy and light files across the threads
    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = pool.map(lambda name: outcome_of(realworld, name), names)
        results = dict(zip(names, outcomes, strict=True))

    failures: list[str] = []
    for name in sorted(names):
        want = expected[name]
        status, code, problems = results[name]
        right = (status, code) == (want.status, want.code) and not problems
        if want.known_issue is not None:
            if right:
                failures.append(f"{name}: fixed ({status} {code}); remove its known_issue")
            continue
        if isinstance(status, int) and status >= 500:
            failures.append(f"{name}: {status}: {problems}")
        elif (status, code) != (want.status, want.code):
            failures.append(f"{name}: got {status} {code}, expected {want.status} {want.code}")
        elif problems:
            failures.append(f"{name}: accepted but {'; '.join(problems)}")
    assert not failures, "\n".join(failures)


# Refusals of different inputs at the same moment, through HTTP: each answer must be the one
# its input gets alone (libvips keeps one error buffer per process, see README input rules).
ISOLATION_BAD = [
    "pillow/hopper_lzma.tif",  # 415, LZMA TIFF
    "libvips/ojpeg-strip.tif",  # 415, old-style JPEG TIFF
    "pillow/hopper.Lab.tif",  # 415, LabQ TIFF
    "bmpsuite/q/rgb24jpeg.bmp",  # 415, BMP wrapping JPEG
    "bmpsuite/q/rgb16-231.bmp",  # 415, BMP bit fields
    "pngsuite/xcsn0g01.png",  # 422, PNG data damaged
    "libvips/truncated.jpg",  # 422, JPEG truncated
    "libvips/truncated.gif",  # 422, GIF truncated
    "pillow/crash-0da013a13571cc8eb457a39fee8db18f8a3c7127.tif",  # 422, TIFF damaged
    "libheif/fuzzing/data/corpus/github_138.heic",  # 422, HEIF header damaged
    "bmpsuite/b/reallybig.bmp",  # 413, 3000000x2000000
    "libvips/17000x17000.avif",  # 413, 17000x17000
]
ISOLATION_GOOD = ["pngsuite/basn6a08.png", "libvips/sample.jpg", "pillow/hopper.webp"]
ISOLATION_THREADS, ISOLATION_ROUNDS = 8, 3


def upload_answer(service: Service, name: str) -> tuple[int, str, str]:
    """(status, code, message) of an upload; 202 and empty texts when accepted."""
    answer = service.upload((REALWORLD / name).read_bytes(), name="upload", profiles="rw_jpeg_64")
    if answer.status_code in (201, 202):
        return 202, "", ""
    error: dict[str, Any] = answer.json()["error"]
    return answer.status_code, error["code"], error["message"]


def test_concurrent_refusals_over_http_each_describe_their_own_input(
    realworld: Service,
) -> None:
    alone = {name: upload_answer(realworld, name) for name in ISOLATION_BAD + ISOLATION_GOOD}
    for name in ISOLATION_BAD:
        status, _, message = alone[name]
        assert 400 <= status < 500, (name, alone[name])
        assert message, name
    assert len({alone[name][2] for name in ISOLATION_BAD}) == len(ISOLATION_BAD), alone
    for name in ISOLATION_GOOD:
        assert alone[name] == (202, "", ""), (name, alone[name])

    seen: dict[str, set[tuple[int, str, str]]] = {name: set() for name in alone}
    lock, start = threading.Lock(), threading.Barrier(ISOLATION_THREADS)
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        order = list(alone) * ISOLATION_ROUNDS
        random.Random(seed).shuffle(order)
        start.wait()
        try:
            for name in order:
                result = upload_answer(realworld, name)
                with lock:
                    seen[name].add(result)
        except BaseException as exc:  # anything failing here fails the test
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(ISOLATION_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert seen == {name: {alone[name]} for name in alone}
