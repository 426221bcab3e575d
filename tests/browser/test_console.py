"""The console in a real browser: what a person on the product team does with it.

Each test signs in from a fresh browser context; screenshots of every page land in
tests/browser/artifacts/.
"""

from __future__ import annotations

import base64
import re

import pytest

from darkroom.service import dead_letters
from tests.browser.conftest import TIMEOUT_MS, Console, screenshot
from tests.conftest import services_required
from tests.corpus import CORPUS

try:
    from playwright.sync_api import Browser, Page, expect
except ImportError:
    if services_required():
        raise
    pytest.skip("Playwright is not installed: pip install -e '.[test]'", allow_module_level=True)

pytestmark = pytest.mark.slow  # a browser and an embedded service per module

UPLOADS = ("exif-orient-1-landscape.jpg", "png-interlaced-rgba.png")
THUMBNAILS_LOADED = """ids => ids.every(id => {
    const img = document.querySelector(`.card[data-id="${id}"][data-status="done"] img`);
    return img !== null && img.complete && img.naturalWidth > 0;
})"""
UNLABELLED = """() => [...document.querySelectorAll(
    'input:not([type=hidden]), select, textarea')]
    .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
    .map(e => e.outerHTML)"""


def test_a_wrong_key_is_refused(console: Console, page: Page) -> None:
    page.goto(f"{console.url}/console/images")
    expect(page).to_have_url(f"{console.url}/console/sign-in?next=%2Fconsole%2Fimages")
    screenshot(page, "sign-in")
    page.get_by_label("API key").fill("drk_this-is-not-a-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("unknown or revoked")
    assert "/console/sign-in" in page.url
    page.goto(f"{console.url}/console/images")
    assert "/console/sign-in" in page.url  # still no session


def test_upload_watch_inspect_and_sign_out(console: Console, page: Page) -> None:
    console.sign_in(page)
    page.get_by_role("checkbox", name="broken").uncheck()  # the profile that fails for good
    page.get_by_label("Choose images, or drop them here").set_input_files(
        [str(CORPUS / name) for name in UPLOADS]
    )
    rows = page.locator("[data-uploads] li")
    expect(rows).to_have_count(2)
    expect(page.locator('[data-uploads] li[data-status="done"]')).to_have_count(
        2, timeout=TIMEOUT_MS
    )
    ids = rows.evaluate_all("rows => rows.map(r => r.dataset.id)")
    assert len(set(ids)) == 2
    # The grid picks both up by itself, and their thumbnails load (lazily: once in view).
    for image_id in ids:
        card = page.locator(f'.card[data-id="{image_id}"][data-status="done"]')
        expect(card).to_be_attached()
        card.scroll_into_view_if_needed()
    page.wait_for_function(THUMBNAILS_LOADED, arg=ids)
    screenshot(page, "images")

    page.locator(f'.card[data-id="{ids[0]}"] a').click()
    expect(page.get_by_role("heading", name="Variants")).to_be_visible()
    variants = page.locator("table.variants tbody tr[data-profile]")
    profiles = variants.evaluate_all("rows => rows.map(r => r.dataset.profile)")
    assert {"avatar", "thumb_200", "webp_800"} <= set(profiles)
    assert "broken" not in profiles
    thumb = page.locator('tr[data-profile="thumb_200"]')
    expect(thumb).to_contain_text("done")
    expect(thumb).to_contain_text("200 \u00d7 200")
    expect(thumb).to_contain_text("jpeg")
    download = thumb.get_by_role("link", name="Download")
    answer = page.request.get(f"{console.url}{download.get_attribute('href')}")
    assert answer.status == 200
    assert answer.headers["content-type"] == "image/jpeg"

    # The render playground: a live preview and a signed URL that really renders.
    page.get_by_label("Width").fill("150")
    signed = page.get_by_label("Signed URL")
    expect(signed).to_have_value(re.compile(rf".*/v1/render/{ids[0]}\?w=150&.*sig=.*"))
    page.wait_for_function(
        "() => document.querySelector('[data-playground-preview]').naturalWidth === 150"
    )
    rendered = page.request.get(signed.input_value())
    assert rendered.status == 200
    assert rendered.headers["content-type"] == "image/webp"
    screenshot(page, "image")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(f"{console.url}/console/images")
    assert "/console/sign-in" in page.url


def test_drop_a_file_onto_the_upload_zone(console: Console, page: Page) -> None:
    console.sign_in(page)
    page.get_by_role("checkbox", name="broken").uncheck()
    encoded = base64.b64encode((CORPUS / "png-interlaced-rgba.png").read_bytes()).decode()
    dropped = page.evaluate_handle(
        """encoded => {
            const bytes = Uint8Array.from(atob(encoded), c => c.charCodeAt(0));
            const data = new DataTransfer();
            data.items.add(new File([bytes], "dropped.png", {type: "image/png"}));
            return data;
        }""",
        encoded,
    )
    page.dispatch_event("[data-dropzone]", "drop", {"dataTransfer": dropped})
    row = page.locator("[data-uploads] li", has_text="dropped.png")
    expect(row).to_have_attribute("data-status", "done", timeout=TIMEOUT_MS)


def test_make_a_profile_and_preview_it(console: Console, page: Page) -> None:
    console.sign_in(page)
    page.goto(f"{console.url}/console/profiles")
    page.get_by_role("link", name="New profile").click()
    page.get_by_label("Name").fill("banner")
    page.get_by_label("Preview on").select_option(console.face_image)  # 800x533: no upscaling
    page.get_by_label("Spec (JSON)").fill(
        '{"width": 120, "height": 60, "fit": "cover", "format": "png"}'
    )
    page.wait_for_function(
        "() => document.querySelector('[data-profile-preview]').naturalWidth === 120"
    )
    screenshot(page, "profile-edit")
    page.get_by_label("Spec (JSON)").fill('{"width": -5}')
    expect(page.locator("[data-preview-error]")).to_contain_text("width")
    page.get_by_label("Spec (JSON)").fill('{"width": 120, "height": 60, "fit": "cover"}')
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_role("status")).to_have_text("Profile saved.")
    expect(page.get_by_role("link", name="banner")).to_be_visible()
    screenshot(page, "profiles")


def test_replay_a_dead_letter_and_see_the_analyses(console: Console, page: Page) -> None:
    console.sign_in(page)
    page.goto(f"{console.url}/console/dead-letters")
    row = page.locator(f'tr[data-letter="{console.letter_id}"]')
    expect(row).to_contain_text("broken")
    expect(row).to_contain_text("crop")
    screenshot(page, "dead-letters")
    # The image page says why its variant failed, after how many attempts, and offers a retry.
    row.get_by_role("link").click()
    failed = page.locator('tr[data-profile="broken"]')
    expect(failed).to_contain_text("failed")
    expect(failed.get_by_role("button", name="Retry broken")).to_be_visible()
    expect(page.locator("tr.variant-error")).to_contain_text("falls outside the 100x100 image")
    screenshot(page, "image-failed")
    page.go_back()
    row.get_by_role("button", name="Replay").click()
    expect(page.get_by_role("status")).to_have_text("Replayed 1 dead letter(s).")
    letters = dead_letters.list_page(console.ctx, include_replayed=True, limit=50, cursor=None)
    replayed = next(d for d in letters.items if d.id == console.letter_id)
    assert replayed.replayed_at is not None

    page.goto(f"{console.url}/console/images/{console.face_image}")
    box = page.locator(".face-box").first
    expect(box).to_be_visible()
    bounds = box.bounding_box()
    assert bounds is not None
    assert bounds["width"] > 10
    assert bounds["height"] > 10
    expect(page.locator("#analysis-colors")).to_be_visible()
    expect(page.locator("[data-exif]")).to_contain_text("Canon EOS 5D Mark III")
    screenshot(page, "image-analyses")


def test_keys_are_shown_once_and_revoked(console: Console, page: Page) -> None:
    console.sign_in(page)
    page.goto(f"{console.url}/console/keys")
    page.get_by_label("Owner").fill("alice")
    page.get_by_label("Role").select_option("upload")
    page.get_by_role("button", name="Create key").click()
    created = page.locator("[data-created-key]")
    expect(created).to_have_value(re.compile(r"drk_.+"))
    screenshot(page, "keys")
    page.goto(f"{console.url}/console/keys")  # shown once: never again
    expect(page.locator("[data-created-key]")).to_have_count(0)
    alice = page.locator("tr", has_text="alice")
    alice.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("status")).to_have_text("Key revoked.")
    expect(page.locator("tr", has_text="alice")).to_contain_text("revoked")


@pytest.mark.parametrize(
    "path", ["/images", "/images/{face}", "/profiles", "/profiles/new", "/dead-letters", "/keys"]
)
def test_pages_fit_a_phone_and_label_every_field(
    console: Console, browser: Browser, path: str
) -> None:
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        console.sign_in(page)
        page.goto(f"{console.url}/console{path.format(face=console.face_image)}")
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate("() => document.documentElement.scrollWidth - innerWidth")
        assert overflow <= 0, f"{path} is {overflow} px wider than a phone"
        assert page.evaluate(UNLABELLED) == []
        name = path.strip("/").replace("/", "-").replace("{face}", "face")
        screenshot(page, f"phone-{name}")
    finally:
        context.close()


def test_the_keyboard_reaches_the_content_first(console: Console, page: Page) -> None:
    console.sign_in(page)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
