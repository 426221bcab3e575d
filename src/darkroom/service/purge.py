"""CDN purges: after an image's public bytes change or go, tell the CDN, through the outbox.

Two ways, by configuration: an HTTP `PURGE` of each public URL under
DARKROOM_CDN_PURGE_BASE (Varnish, Fastly, nginx's proxy_cache_purge), or one POST of
`{"urls": [...]}` to DARKROOM_CDN_PURGE_ENDPOINT (a small adapter for any CDN's API).
The purge is written to the outbox in the caller's transaction, so it is retried like a
webhook and survives a crash between the change and the call.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import quote, urlsplit

from sqlalchemy.orm import Session

from darkroom.db.repo import events as event_rows
from darkroom.service.context import Context
from darkroom.service.delivery import Due, Request, destination_policy
from darkroom.settings import Settings

KIND = "cdn.purge"
METHOD_PURGE = "PURGE"
METHOD_POST = "POST"


def enabled(settings: Settings) -> bool:
    """Whether a CDN is configured to be purged."""
    return bool(settings.cdn_purge_base or settings.cdn_purge_endpoint)


def public_paths(image_id: str, profiles: Iterable[str]) -> list[str]:
    """The paths under which a CDN may hold an image's bytes: original, variants, renders.

    Renders are named by their prefix: their query strings are the clients' own, so a
    CDN that caches them must purge by prefix (a ban, a surrogate key) from this path.
    """
    quoted = quote(image_id, safe="")
    paths = [f"/v1/images/{quoted}/original"]
    paths += [variant_path(image_id, profile) for profile in sorted(profiles)]
    paths.append(f"/v1/render/{quoted}")
    return paths


def variant_path(image_id: str, profile: str) -> str:
    """The public path of one variant's bytes."""
    return f"/v1/images/{quote(image_id, safe='')}/variants/{quote(profile, safe='')}"


def record(session: Session, settings: Settings, image_id: str, paths: Iterable[str]) -> int:
    """Queue the purge of `paths` in the caller's transaction; how many requests it will take."""
    paths = list(paths)
    if not paths or not enabled(settings):
        return 0
    base = (settings.cdn_purge_base or "").rstrip("/")
    if settings.cdn_purge_endpoint:
        urls = [base + path for path in paths]
        event_rows.add_event(
            session,
            kind=KIND,
            image_id=image_id,
            payload={"method": METHOD_POST, "urls": urls},
            target=settings.cdn_purge_endpoint,
        )
        return 1
    for path in paths:
        event_rows.add_event(
            session,
            kind=KIND,
            image_id=image_id,
            payload={"method": METHOD_PURGE},
            target=base + path,
        )
    return len(paths)


def request(ctx: Context, event: Due) -> Request:
    """The PURGE of one URL, or the POST of a list of URLs, that `event` stands for."""
    settings = ctx.settings
    # The destinations are the operator's own configuration, not a caller's input: their
    # hosts are allowed even on private addresses (a CDN's purge API inside the network).
    hosts = tuple(
        host
        for url in (settings.cdn_purge_base, settings.cdn_purge_endpoint)
        if url and (host := urlsplit(url).hostname)
    )
    policy = destination_policy(
        hosts,
        settings.webhook_timeout_seconds,
        "DARKROOM_CDN_PURGE_*",
        ctx.fetch_policy.own_address,
    )
    if event.payload.get("method") == METHOD_POST:
        body = json.dumps({"urls": event.payload.get("urls", [])}).encode("utf-8")
        return Request(METHOD_POST, body, {"Content-Type": "application/json"}, policy)
    return Request(METHOD_PURGE, b"", {}, policy)
