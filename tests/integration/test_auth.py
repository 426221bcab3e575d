"""API keys over real HTTP: every route for every kind of caller, tenancy, open mode, start-up.

The route table is the contract: each route, called with no key, another owner's key, and
the owner's read, upload and admin keys, answers exactly the status the table derives from
the route's role and whether it acts on one owner's image. Two owners (alice and bob) each
have an image; the other owner's key is bob's upload key, so it reaches the tenancy check
(404) wherever its role allows the route at all.
"""

from __future__ import annotations

import base64
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from darkroom.client import sign_url
from darkroom.runtime.http import is_loopback, open_access_refusal
from darkroom.runtime.wiring import open_context
from darkroom.service import auth, dead_letters, images, jobs, logos, profiles
from darkroom.service.auth import Role
from darkroom.service.context import Context
from darkroom.settings import load_settings
from tests.corpus import read
from tests.integration.conftest import Service, start_service, wait_until
from tests.logo_images import encode, make_logo
from tests.receiver import Receiver, receiving

SIGNING_KEY = "auth-test-signing-key-0123456789"
IMAGE = read("png-interlaced-rgba.png")  # 100x100: cheap to store and render
LOGO = encode(make_logo(1, "ACME"), "PNG")
IMAGE_B64 = base64.b64encode(IMAGE).decode()
CALLERS = ("none", "other", "read", "upload", "admin")
"""No key; bob's upload key; alice's read and upload keys; an admin key (of owner ops)."""
ROLE_OF = {"other": Role.UPLOAD, "read": Role.READ, "upload": Role.UPLOAD, "admin": Role.ADMIN}


@dataclass
class World:
    """One service with two owners' images, a job, a dead letter and a key per caller."""

    service: Service
    cdn: Receiver
    alice_image: str
    bob_image: str
    alice_job: str
    letter: str
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def ctx(self) -> Context:
        """The running service's context."""
        return self.service.runtime.ctx

    def headers(self, caller: str) -> dict[str, str]:
        """The Authorization header of `caller` (none for "none")."""
        return {} if caller == "none" else {"Authorization": f"Bearer {self.keys[caller]}"}

    def call(self, caller: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request as `caller`."""
        headers = self.headers(caller) | kwargs.pop("headers", {})
        return self.service.http.request(method, path, headers=headers, **kwargs)

    def fresh_image(self, owner: str = "alice") -> str:
        """A new image of `owner` with no variants (nothing to wait for)."""
        accepted = images.upload(self.ctx, IMAGE, images.Upload(profiles=[], owner_id=owner))
        return accepted.image.id


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The shared service: built open (no key yet), then keys are made for every caller."""
    root = tmp_path_factory.mktemp("auth")
    with receiving() as cdn:
        run = start_service(
            root,
            signing_keys=[SIGNING_KEY],
            cdn_purge_base=cdn.url,
            outbox_interval_seconds=0.05,
            # Unsigned compatible URLs: their signatures have tests of their own.
            thumbor_allow_unsafe=True,
            imgproxy_allow_insecure=True,
        )
        for service in run():
            ctx = service.runtime.ctx
            alice = service.upload(
                IMAGE, profiles="avatar", analyses="colors", owner_id="alice"
            ).json()["id"]
            bob = service.upload(IMAGE, profiles="avatar", owner_id="bob").json()["id"]
            job = jobs.submit(
                ctx,
                IMAGE,
                operation="thumbnail",
                width=40,
                height=None,
                output_format=None,
                owner="alice",
            ).image.id
            # A crop outside the image fails for good: a dead letter to replay.
            outside = {"left": 0, "top": 0, "width": 500, "height": 500}
            profiles.put_profile(ctx, "broken", {"crop": outside})
            broken = images.upload(ctx, IMAGE, images.Upload(profiles=["broken"])).image.id
            for image_id in (alice, bob, job, broken):
                service.wait(image_id)
            letter = dead_letters.list_page(
                ctx, include_replayed=False, limit=1, cursor=None
            ).items[0]
            logos.put(ctx, "acme", LOGO)
            made = World(service, cdn, alice, bob, job, letter.id)
            for caller, (owner, role) in {
                "other": ("bob", "upload"),
                "read": ("alice", "read"),
                "upload": ("alice", "upload"),
                "admin": ("ops", "admin"),
            }.items():
                made.keys[caller], _ = auth.create_key(ctx, owner_id=owner, role=role)
            yield made


Request = Callable[[World], dict[str, Any]]


def _nothing(world: World) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class Route:
    """A route as the table exercises it: the least role it needs and its success status."""

    method: str
    path: str
    """The documented path; {image_id} is alice's image, {job_id} her job."""
    role: Role | None
    """None: no key needed (a key sent anyway is checked)."""
    ok: int
    scoped: bool = False
    """Acts on alice's image: another owner's key gets 404, like a missing image."""
    fresh: bool = False
    """A new target per call: a new image of alice's, or a new profile for {name}."""
    name: str = "avatar"
    query: str = ""
    request: Request = _nothing
    """Extra request arguments (a body)."""
    path_value: str = ""
    """What a `{path}` parameter stands for (the compatible URL grammars)."""

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"

    def expected(self, caller: str) -> int:
        """The exact status `caller` gets."""
        if self.role is not None:
            if caller == "none":
                return 401
            if ROLE_OF[caller] < self.role:
                return 403
        if self.scoped and caller == "other":
            return 404
        return self.ok

    def url(self, world: World) -> str:
        """The concrete path, with fresh targets made for this one call."""
        values = {
            "path": self.path_value,
            "image_id": world.alice_image,
            "job_id": world.alice_job,
            "letter_id": world.letter,
            "upload_id": MISSING_UPLOAD,
            "profile": "avatar",
            "name": self.name,
        }
        if self.fresh and "{image_id}" in self.path:
            values["image_id"] = world.fresh_image()
        if self.fresh and "{name}" in self.path:
            values["name"] = f"doomed_{time.monotonic_ns()}"
            profiles.put_profile(world.ctx, values["name"], {"width": 10})
        path = self.path.format(**values).format(**values) + self.query
        return sign_url(path, SIGNING_KEY) if path.startswith("/v1/render/") else path


def _logo(world: World) -> dict[str, Any]:
    return {"files": {"file": ("logo.png", LOGO)}}


def _doomed_logo(world: World) -> dict[str, Any]:
    logos.put(world.ctx, "doomed", LOGO)  # a logo for each delete to remove
    return {}


def _multipart(world: World) -> dict[str, Any]:
    return {"files": {"file": ("image.png", IMAGE)}, "data": {"profiles": ""}}


def _job(world: World) -> dict[str, Any]:
    return {"json": {"image_data": IMAGE_B64, "operation": "thumbnail", "width": 20}}


def _json(body: dict[str, Any]) -> Request:
    return lambda world: {"json": body}


READ, UPLOAD, ADMIN = Role.READ, Role.UPLOAD, Role.ADMIN
IMAGE_PATH = "/v1/images/{image_id}"
MISSING_UPLOAD = "0190b7c2-0000-7000-8000-000000000000"

ROUTES = [
    Route("GET", "/health", None, 200),
    Route("GET", "/ready", None, 200),
    Route("GET", "/metrics", None, 200),
    Route("GET", "/v1/images", READ, 200),
    Route("POST", "/v1/images", UPLOAD, 202, request=_multipart),
    Route("GET", IMAGE_PATH, READ, 200, scoped=True),
    Route("HEAD", IMAGE_PATH, READ, 200, scoped=True),
    Route("GET", IMAGE_PATH + "/original", READ, 200, scoped=True),
    Route("GET", IMAGE_PATH + "/variants/{profile}", READ, 200, scoped=True),
    Route("GET", IMAGE_PATH + "/events", READ, 200, scoped=True),
    Route(
        "POST",
        IMAGE_PATH + "/variants",
        UPLOAD,
        202,
        scoped=True,
        fresh=True,
        request=_json({"profiles": ["avatar"]}),
    ),
    Route(
        "POST",
        IMAGE_PATH + "/analyses",
        UPLOAD,
        202,
        scoped=True,
        fresh=True,
        request=_json({"analyses": ["colors"]}),
    ),
    Route("GET", IMAGE_PATH + "/analyses/{name}", READ, 200, scoped=True, name="colors"),
    Route("POST", IMAGE_PATH + "/purge", UPLOAD, 202, scoped=True),
    Route("DELETE", IMAGE_PATH, UPLOAD, 204, scoped=True, fresh=True),
    Route("GET", "/v1/profiles", READ, 200),
    Route("GET", "/v1/profiles/{name}", READ, 200),
    Route("PUT", "/v1/profiles/{name}", ADMIN, 200, name="by_admin", request=_json({"width": 64})),
    Route("DELETE", "/v1/profiles/{name}", ADMIN, 204, fresh=True),
    Route("POST", "/v1/profiles/{name}/backfill", ADMIN, 202),
    Route("GET", "/v1/logos", ADMIN, 200),
    Route("PUT", "/v1/logos/{name}", ADMIN, 200, name="acme", request=_logo),
    Route("GET", "/v1/logos/{name}", ADMIN, 200, name="acme"),
    Route("GET", "/v1/logos/{name}/image", ADMIN, 200, name="acme"),
    Route("DELETE", "/v1/logos/{name}", ADMIN, 204, name="doomed", request=_doomed_logo),
    Route("GET", "/v1/dead-letters", ADMIN, 200),
    Route("POST", "/v1/dead-letters/{letter_id}/replay", ADMIN, 202),
    Route("POST", "/jobs", UPLOAD, 202, request=_job),
    Route("GET", "/jobs/{job_id}", READ, 200, scoped=True),
    Route("GET", "/jobs/{job_id}/download", READ, 200, scoped=True),
    Route("GET", "/v1/render/{image_id}", None, 200, scoped=True, query="?w=32"),
    Route("GET", "/v1/render/{image_id}/{profile}", None, 200, scoped=True),
    Route("GET", "/thumbor/{path}", None, 200, scoped=True, path_value="unsafe/32x32/{image_id}"),
    # Direct uploads need S3 storage: past the key check, this local-folder world says so.
    Route(
        "POST",
        "/v1/uploads",
        UPLOAD,
        409,
        request=_json({"filename": "a.png", "content_type": "image/png", "bytes": 9}),
    ),
    Route("POST", "/v1/uploads/{upload_id}/complete", UPLOAD, 409),
    Route(
        "GET",
        "/imgproxy/{path}",
        None,
        200,
        scoped=True,
        path_value="insecure/rs:fit:32:32/plain/darkroom://{image_id}",
    ),
    # Outside the OpenAPI document, open as well.
    Route("GET", "/openapi.json", None, 200),
    Route("GET", "/docs", None, 200),
    Route("GET", "/redoc", None, 200),
]


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("route", ROUTES, ids=[r.id for r in ROUTES])
def test_every_route_for_every_caller(world: World, route: Route, caller: str) -> None:
    response = world.call(caller, route.method, route.url(world), **route.request(world))
    expected = route.expected(caller)
    assert response.status_code == expected, response.text
    if expected == 401:
        assert response.headers["www-authenticate"].startswith("Bearer")
    codes = {401: "unauthorized", 403: "forbidden", 404: "not_found", 409: "conflict"}
    if expected >= 400 and route.method != "HEAD":
        assert response.json()["error"]["code"] == codes[expected]


def test_the_table_covers_every_documented_operation(world: World) -> None:
    document = world.call("none", "GET", "/openapi.json").json()
    documented = {
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method != "head"
    }
    # The remote render needs an allow-listed origin; its key check is tested below.
    assert documented - {(r.method, r.path) for r in ROUTES} == {("GET", "/v1/render")}


def ids(page: httpx.Response) -> set[str]:
    assert page.status_code == 200, page.text
    return {item["id"] for item in page.json()["items"]}


def test_a_key_lists_only_its_owners_images(world: World) -> None:
    alice, bob = world.alice_image, world.bob_image
    assert alice in ids(world.call("read", "GET", "/v1/images"))
    assert bob not in ids(world.call("read", "GET", "/v1/images"))
    assert alice not in ids(world.call("other", "GET", "/v1/images"))
    assert bob in ids(world.call("other", "GET", "/v1/images"))
    assert {alice, bob} <= ids(world.call("admin", "GET", "/v1/images"))
    only_bob = ids(world.call("admin", "GET", "/v1/images", params={"owner_id": "bob"}))
    assert bob in only_bob
    assert alice not in only_bob
    assert alice in ids(world.call("read", "GET", "/v1/images", params={"owner_id": "alice"}))
    named = world.call("read", "GET", "/v1/images", params={"owner_id": "bob"})
    assert named.status_code == 403
    assert named.json()["error"]["code"] == "forbidden"


def owner_of(world: World, image_id: str) -> str | None:
    return images.get(world.ctx, image_id).owner_id


def test_an_admin_uploads_for_any_owner_and_others_only_for_their_own(world: World) -> None:
    form = {"files": {"file": ("image.png", IMAGE)}}
    for_carol = world.call("admin", "POST", "/v1/images", data={"owner_id": "carol"}, **form)
    assert for_carol.status_code == 202, for_carol.text
    carol_image = for_carol.json()["id"]
    assert owner_of(world, carol_image) == "carol"
    assert world.call("read", "GET", f"/v1/images/{carol_image}").status_code == 404
    assert world.call("admin", "GET", f"/v1/images/{carol_image}").status_code == 200

    own = world.call("upload", "POST", "/v1/images", **form)
    assert owner_of(world, own.json()["id"]) == "alice"  # from the key, not the form
    named_own = world.call("upload", "POST", "/v1/images", data={"owner_id": "alice"}, **form)
    assert named_own.status_code == 202
    assert owner_of(world, named_own.json()["id"]) == "alice"

    for body in (
        {"data": {"owner_id": "bob"}, **form},
        {"json": {"data": IMAGE_B64, "owner_id": "bob"}},
    ):
        refused = world.call("upload", "POST", "/v1/images", **body)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "forbidden"

    job = world.call("upload", "POST", "/jobs", **_job(world))
    assert owner_of(world, job.json()["job_id"]) == "alice"


def test_a_revoked_key_gets_401(world: World) -> None:
    key, record = auth.create_key(world.ctx, owner_id="alice", role="read")
    bearer = {"Authorization": f"Bearer {key}"}
    assert world.service.http.get("/v1/images", headers=bearer).status_code == 200
    auth.revoke_key(world.ctx, record.id)
    refused = world.service.http.get("/v1/images", headers=bearer)
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")
    assert refused.json()["error"] == {
        "code": "unauthorized",
        "message": "The API key is unknown or revoked.",
        "details": None,
    }


@pytest.mark.parametrize(
    "authorization",
    ["Bearer drk_not-a-key", "Bearer", "Basic YWxpY2U6cGFzcw==", "drk_without_scheme"],
)
def test_a_missing_or_unknown_key_gets_401(world: World, authorization: str) -> None:
    response = world.service.http.get("/v1/profiles", headers={"Authorization": authorization})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "unauthorized"


def test_a_render_with_a_bad_key_gets_401_even_when_signed(world: World) -> None:
    url = sign_url(f"/v1/render/{world.alice_image}?w=24", SIGNING_KEY)
    assert world.service.http.get(url).status_code == 200
    bad = world.service.http.get(url, headers={"Authorization": "Bearer drk_nope"})
    assert bad.status_code == 401
    assert bad.headers["www-authenticate"].startswith("Bearer")
    # A key authorises nothing a signature must: an unsigned render stays 403.
    unsigned = world.call("admin", "GET", f"/v1/render/{world.alice_image}?w=24")
    assert unsigned.status_code == 403


def test_renders_with_keys_of_two_owners_do_not_share_a_result(world: World) -> None:
    url = sign_url(f"/v1/render/{world.alice_image}?w=28", SIGNING_KEY)
    # Warm the path for alice first: bob's identical request must still be refused.
    assert world.call("read", "GET", url).status_code == 200
    assert world.call("other", "GET", url).status_code == 404
    assert world.call("other", "GET", url, headers={"If-None-Match": "*"}).status_code == 404


def test_idempotency_keys_are_scoped_per_owner(world: World) -> None:
    form = {"files": {"file": ("image.png", IMAGE)}, "data": {"profiles": ""}}
    same = {"Idempotency-Key": "order-42"}
    first = world.call("upload", "POST", "/v1/images", headers=same, **form)
    again = world.call("upload", "POST", "/v1/images", headers=same, **form)
    other = world.call("other", "POST", "/v1/images", headers=same, **form)
    assert (first.status_code, again.status_code, other.status_code) == (202, 202, 202)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replay"] == "true"
    assert other.json()["id"] != first.json()["id"]
    assert "idempotent-replay" not in other.headers
    assert owner_of(world, other.json()["id"]) == "bob"


EVENT_FIELDS = {
    "id",
    "kind",
    "target",
    "attempts",
    "delivered_at",
    "given_up_at",
    "next_attempt_at",
    "last_status",
    "last_error",
    "created_at",
}


def test_purge_queues_requests_that_the_events_show(world: World) -> None:
    image_id = world.fresh_image()
    purge = world.call("upload", "POST", f"/v1/images/{image_id}/purge")
    assert purge.status_code == 202
    assert purge.json() == {"image_id": image_id, "purges_queued": 2}  # original, render
    wait_until(lambda: len(world.cdn.received) >= 2)

    def delivered() -> list[dict[str, Any]]:
        page = world.call("read", "GET", f"/v1/images/{image_id}/events")
        assert page.status_code == 200
        assert page.json()["next_cursor"] is None
        items: list[dict[str, Any]] = page.json()["items"]
        return [e for e in items if e["delivered_at"] is not None]

    wait_until(lambda: len(delivered()) == 2)
    events = delivered()
    assert all(set(e) == EVENT_FIELDS for e in events)
    assert {e["kind"] for e in events} == {"cdn.purge"}
    assert {e["target"] for e in events} == {
        f"{world.cdn.url}/v1/images/{image_id}/original",
        f"{world.cdn.url}/v1/render/{image_id}",
    }
    assert all((e["attempts"], e["last_status"]) == (1, 200) for e in events)


def test_open_mode_until_the_first_key_and_metrics_on_request(tmp_path: Path) -> None:
    for service in start_service(tmp_path, metrics_require_key=True)():
        http = service.http
        # No key exists: everything is open, metrics too.
        assert http.get("/v1/images").status_code == 200
        assert http.put("/v1/profiles/open_mode", json={"width": 30}).status_code == 200
        assert http.get("/v1/dead-letters").status_code == 200
        assert http.get("/metrics").status_code == 200
        uploaded = service.upload(IMAGE, profiles="", owner_id="anyone")
        assert uploaded.status_code == 202
        # An unknown key is refused even now: there is nothing it could be.
        assert http.get("/v1/images", headers={"Authorization": "Bearer x"}).status_code == 401

        admin, _ = auth.create_key(service.runtime.ctx, owner_id="ops", role="admin")
        reader, _ = auth.create_key(service.runtime.ctx, owner_id="anyone", role="read")
        for path in ("/v1/images", "/v1/profiles", "/metrics"):
            assert http.get(path).status_code == 401, path
        assert http.get("/health").status_code == 200
        assert http.get("/metrics", headers={"Authorization": f"Bearer {reader}"}).status_code == (
            403
        )
        metrics = http.get("/metrics", headers={"Authorization": f"Bearer {admin}"})
        assert metrics.status_code == 200
        assert "darkroom_variants" in metrics.text


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.10.0.1", True),
        ("localhost", True),
        ("LOCALHOST.", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("0.0.0.0", False),
        ("::", False),
        ("10.0.0.5", False),
        ("example.internal", False),
    ],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_the_start_check_warns_on_loopback_and_refuses_elsewhere(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'darkroom.db'}",
        storage_url=f"file://{tmp_path / 'objects'}",
    )
    ctx = open_context(settings, defaults=False)
    try:
        exposed = settings.model_copy(update={"host": "0.0.0.0"})
        with caplog.at_level(logging.WARNING, logger="darkroom.runtime.http"):
            assert open_access_refusal(ctx, settings, insecure=False) is None
            assert "darkroom keys create" in caplog.text
            refusal = open_access_refusal(ctx, exposed, insecure=False)
            assert refusal is not None
            assert "darkroom keys create" in refusal
            assert "--insecure" in refusal
            caplog.clear()
            assert open_access_refusal(ctx, exposed, insecure=True) is None
            assert "--insecure" in caplog.text
            auth.create_key(ctx, owner_id="ops", role="admin")
            caplog.clear()
            assert open_access_refusal(ctx, exposed, insecure=False) is None
            assert caplog.text == ""
    finally:
        ctx.engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve_command(root: Path, port: int, *extra: str) -> subprocess.Popen[str]:
    env = os.environ | {
        "DARKROOM_DATABASE_URL": f"sqlite:///{root / 'darkroom.db'}",
        "DARKROOM_STORAGE_URL": f"file://{root / 'objects'}",
        "DARKROOM_WORKERS": "1",
        "DARKROOM_LOG_FORMAT": "console",
    }
    argv = [sys.executable, "-m", "darkroom", "serve", "--host", "0.0.0.0", "--port", str(port)]
    return subprocess.Popen(
        [*argv, *extra], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


@pytest.mark.slow  # starts darkroom processes
def test_serve_refuses_a_public_address_without_keys(tmp_path: Path) -> None:
    process = serve_command(tmp_path, free_port())
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 2, output
    assert "darkroom keys create" in output
    assert "--insecure" in output


@pytest.mark.slow  # starts darkroom processes
def test_serve_insecure_starts_open_and_says_so(tmp_path: Path) -> None:
    port = free_port()
    process = serve_command(tmp_path, port, "--insecure")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v1/images", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, process.communicate()[0]
            assert time.monotonic() < deadline, "darkroom serve did not start"
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, output
    assert "--insecure" in output
    assert "open to anyone" in output
