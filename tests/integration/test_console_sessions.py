"""The console's sign-in, sessions and CSRF over real HTTP: what a browser would send.

No browser here (tests/browser drives one): these check the cookie's flags, that every
POST needs its session's CSRF token, that a key sees only what it may, and the open mode.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from darkroom.service import auth, dead_letters, images, profiles
from darkroom.service.context import Context
from darkroom.service.dto import Status
from tests.corpus import read
from tests.integration.conftest import Service, start_service

IMAGE = read("png-interlaced-rgba.png")  # 100x100: cheap to store and render
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class World:
    """A service with keys: an admin, alice's upload key and bob's read key; one image each."""

    service: Service
    keys: dict[str, str]
    alice_image: str
    bob_image: str
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def ctx(self) -> Context:
        """The running service's context."""
        return self.service.runtime.ctx

    def browser(self) -> httpx.Client:
        """A fresh client (its own cookie jar), like a new browser; closed with the world."""
        client = httpx.Client(base_url=self.service.http.base_url, timeout=30)
        self.clients.append(client)
        return client

    def signed_in(self, who: str) -> tuple[httpx.Client, str]:
        """A client signed in with `who`'s key, and its session's CSRF token."""
        client = self.browser()
        response = sign_in(client, self.keys[who])
        assert response.status_code == 303, response.text
        page = client.get("/console/images")
        assert page.status_code == 200
        return client, csrf_of(page.text)


def wait(ctx: Context, image_id: str) -> None:
    """Until the image is done or failed."""
    deadline = time.monotonic() + 60
    while images.get(ctx, image_id).status not in (Status.DONE, Status.FAILED):
        assert time.monotonic() < deadline, f"image {image_id} is still not done"
        time.sleep(0.05)


def csrf_of(html: str) -> str:
    """The CSRF token of a console page's forms."""
    found = _CSRF.search(html)
    assert found is not None, html
    return found.group(1)


def sign_in(client: httpx.Client, key: str, next: str = "") -> httpx.Response:
    """Fill in and send the sign-in form."""
    form = client.get("/console/sign-in")
    assert form.status_code == 200
    return client.post(
        "/console/sign-in", data={"key": key, "csrf": csrf_of(form.text), "next": next}
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One service for the module: signing in does not change what the others see."""
    for service in start_service(tmp_path_factory.mktemp("console"))():
        ctx = service.runtime.ctx
        alice = images.upload(ctx, IMAGE, images.Upload(profiles=[], owner_id="alice")).image.id
        bob = images.upload(ctx, IMAGE, images.Upload(profiles=[], owner_id="bob")).image.id
        keys = {
            "admin": auth.create_key(ctx, owner_id="ops", role="admin")[0],
            "alice": auth.create_key(ctx, owner_id="alice", role="upload")[0],
            "bob": auth.create_key(ctx, owner_id="bob", role="read")[0],
        }
        made = World(service, keys, alice, bob)
        yield made
        for client in made.clients:
            client.close()


def test_without_a_session_pages_lead_to_the_sign_in_form(world: World) -> None:
    client = world.browser()
    response = client.get("/console/images?status=done")
    assert response.status_code == 303
    assert (
        response.headers["location"] == "/console/sign-in?next=%2Fconsole%2Fimages%3Fstatus%3Ddone"
    )
    scripted = client.get("/console/api/images", headers={"Accept": "application/json"})
    assert scripted.status_code == 401
    assert scripted.json()["error"]["code"] == "unauthorized"


def test_signing_in_sets_a_strict_http_only_session_cookie(world: World) -> None:
    client = world.browser()
    response = sign_in(client, world.keys["alice"], next="/console/profiles")
    assert response.status_code == 303
    assert response.headers["location"] == "/console/profiles"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("darkroom_console=")
    )
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/console"} <= flags
    assert "secure" not in flags  # plain HTTP on loopback
    assert world.keys["alice"] not in cookie  # the session names the key, never holds it
    assert client.get("/console/profiles").status_code == 200


def test_behind_https_the_cookie_is_secure(world: World) -> None:
    client = world.browser()
    # uvicorn trusts X-Forwarded-Proto from loopback, as from a TLS-terminating proxy.
    https = {"X-Forwarded-Proto": "https"}
    form = client.get("/console/sign-in", headers=https)
    assert "secure" in form.headers["set-cookie"].lower()
    # httpx keeps a Secure cookie from a plain-HTTP URL: send it as the browser would.
    nonce = form.cookies["darkroom_console_signin"]
    response = client.post(
        "/console/sign-in",
        data={"key": world.keys["alice"], "csrf": csrf_of(form.text)},
        headers=https | {"Cookie": f"darkroom_console_signin={nonce}"},
    )
    assert response.status_code == 303
    assert "secure" in response.headers["set-cookie"].lower()


def test_a_wrong_key_is_refused_with_a_reason(world: World) -> None:
    client = world.browser()
    response = sign_in(client, "drk_not-a-real-key")
    assert response.status_code == 401
    assert "unknown or revoked" in response.text
    assert "darkroom_console=" not in response.headers.get("set-cookie", "")
    assert client.get("/console/images").status_code == 303


def test_the_sign_in_form_needs_its_own_csrf_token(world: World) -> None:
    client = world.browser()
    forged = client.post("/console/sign-in", data={"key": world.keys["admin"], "csrf": "x"})
    assert forged.status_code == 403
    assert "darkroom_console=" not in forged.headers.get("set-cookie", "")


def test_next_never_leaves_the_console(world: World) -> None:
    client = world.browser()
    for target in ("https://evil.example/", "//evil.example/console/", "/v1/images"):
        response = sign_in(client, world.keys["alice"], next=target)
        assert response.headers["location"] == "/console/images"


def test_every_post_needs_the_session_csrf_token(world: World) -> None:
    client, token = world.signed_in("admin")
    _, other_token = world.signed_in("admin")
    path = "/console/profiles"
    spec = {"name": "csrf_check", "spec": '{"width": 10}'}
    assert client.post(path, data=spec).status_code == 403
    assert client.post(path, data=spec | {"csrf": other_token}).status_code == 403
    headers = {"X-CSRF-Token": other_token}
    assert client.post(path, data=spec, headers=headers).status_code == 403
    assert client.post(path, data=spec | {"csrf": token}).status_code == 303
    assert client.post("/console/sign-out").status_code == 403
    assert client.post("/console/sign-out", data={"csrf": token}).status_code == 303
    assert client.get("/console/images").status_code == 303  # signed out
    profiles.delete_profile(world.ctx, "csrf_check")


def test_a_forged_cookie_is_no_session(world: World) -> None:
    client, _ = world.signed_in("bob")
    value = client.cookies["darkroom_console"]
    client.cookies.set("darkroom_console", value[:-2] + "AA", path="/console")
    assert client.get("/console/images").status_code == 303


def test_a_revoked_key_ends_its_sessions(world: World) -> None:
    key, record = auth.create_key(world.ctx, owner_id="alice", role="read")
    client = world.browser()
    assert sign_in(client, key).status_code == 303
    assert client.get("/console/images").status_code == 200
    auth.revoke_key(world.ctx, record.id)
    assert client.get("/console/images").status_code == 303


def test_a_key_sees_only_its_owners_images(world: World) -> None:
    client, _ = world.signed_in("alice")
    grid = client.get("/console/images").text
    assert world.alice_image in grid
    assert world.bob_image not in grid
    for path in ("", "/thumbnail", "/original"):
        assert client.get(f"/console/images/{world.bob_image}{path}").status_code == 404
    assert client.get(f"/console/images/{world.alice_image}/thumbnail").status_code == 200
    assert client.get("/console/images?owner=bob").status_code == 403
    assert client.get("/console/keys").status_code == 403
    assert client.get("/console/dead-letters").status_code == 403
    admin, _ = world.signed_in("admin")
    grid = admin.get("/console/images").text
    assert world.alice_image in grid
    assert world.bob_image in grid
    assert admin.get("/console/keys").status_code == 200


def test_the_profile_filter_lists_only_images_with_that_variant(world: World) -> None:
    made = images.upload(world.ctx, IMAGE, images.Upload(profiles=["avatar"], owner_id="alice"))
    client, _ = world.signed_in("alice")
    grid = client.get("/console/images?profile=avatar").text
    assert made.image.id in grid
    assert world.alice_image not in grid  # no variants at all
    assert made.image.id not in client.get("/console/images?profile=thumb_200").text


def test_a_read_key_cannot_upload(world: World) -> None:
    client, token = world.signed_in("bob")
    response = client.post(
        "/console/images",
        files={"files": ("a.png", IMAGE)},
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert response.status_code == 403
    assert "upload role" in response.json()["error"]["message"]


def test_pages_carry_a_strict_content_security_policy(world: World) -> None:
    client, _ = world.signed_in("alice")
    response = client.get("/console/images")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


def test_a_failed_variant_is_retried_and_dead_letters_replayed_by_kind(world: World) -> None:
    ctx = world.ctx
    outside = {"crop": {"left": 0, "top": 0, "width": 500, "height": 500}}
    profiles.put_profile(ctx, "broken_console", outside)  # fails for good: a dead letter
    accepted = images.upload(
        ctx, IMAGE, images.Upload(profiles=["broken_console"], owner_id="alice")
    )
    image_id = accepted.image.id
    wait(ctx, image_id)
    client, token = world.signed_in("alice")
    retry = f"/console/images/{image_id}/variants/broken_console/retry"
    assert client.post(retry, data={"csrf": token}).status_code == 303
    letters = dead_letters.list_page(ctx, include_replayed=True, limit=50, cursor=None).items
    mine = [d for d in letters if d.image_id == image_id]
    assert mine[-1].replayed_at is not None  # the retry replayed the variant's letter
    wait(ctx, image_id)  # fails again: a new letter
    admin, admin_token = world.signed_in("admin")
    replayed = admin.post(
        "/console/dead-letters/replay-all", data={"csrf": admin_token, "kind": "transform"}
    )
    assert replayed.status_code == 303
    assert "notice=replayed" in replayed.headers["location"]
    page = admin.get(replayed.headers["location"])
    assert re.search(r"Replayed [1-9]\d* dead letter", page.text)
    unknown = admin.post(
        "/console/dead-letters/replay-all", data={"csrf": admin_token, "kind": "nope"}
    )
    assert unknown.status_code == 400
    profiles.delete_profile(ctx, "broken_console")


@pytest.fixture
def open_service(tmp_path: Path) -> Iterator[Service]:
    """A service without any key: the open mode of a loopback-bound serve."""
    yield from start_service(tmp_path)()


def test_with_no_key_the_console_is_open(open_service: Service) -> None:
    with httpx.Client(base_url=open_service.http.base_url, follow_redirects=True) as client:
        response = client.get("/console/keys")
        assert response.status_code == 200
        assert str(response.url).endswith("/console/keys")
        assert "open mode" in response.text
        token = csrf_of(response.text)
        created = client.post(
            "/console/keys", data={"csrf": token, "owner": "ops", "role": "admin"}
        )
        assert created.status_code == 200
        assert re.search(r'value="drk_[^"]+"', created.text)
        # Now a key exists: the open session ends, and the console asks for a key.
        assert "/console/sign-in" in str(client.get("/console/images").url)
