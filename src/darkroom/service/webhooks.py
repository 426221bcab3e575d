"""Webhooks: an image's completion, POSTed signed to its callback_url (via the outbox).

The body is built at delivery time: `data` is the image exactly as `GET /v1/images/{id}`
shows it then. The signature scheme is in `darkroom.webhook_signing`.
"""

from __future__ import annotations

import json

from darkroom.db.engine import transaction
from darkroom.db.repo import images as image_rows
from darkroom.errors import DarkroomError, InvalidCallbackUrl, NotFound, TransientError
from darkroom.fetch import FetchPolicy
from darkroom.fetch.sender import check_destination
from darkroom.service.context import Context
from darkroom.service.delivery import Due, GiveUp, Request, destination_policy
from darkroom.service.documents import image_document
from darkroom.service.dto import ImageRecord
from darkroom.webhook_signing import HEADER, sign

COMPLETION_KINDS = ("image.done", "image.failed")


def policy(ctx: Context) -> FetchPolicy:
    """Where webhooks may go: public addresses, or hosts in DARKROOM_WEBHOOK_ALLOW_HOSTS."""
    settings = ctx.settings
    return destination_policy(
        tuple(settings.webhook_allow_hosts),
        settings.webhook_timeout_seconds,
        "DARKROOM_WEBHOOK_ALLOW_HOSTS",
        ctx.fetch_policy.own_address,
    )


def check_callback_url(ctx: Context, url: str) -> str:
    """The URL, if a webhook could be delivered there; InvalidCallbackUrl (422) if not.

    A resolver that is down now is not the caller's mistake: that stays a transient error.
    """
    try:
        check_destination(url, policy(ctx))
    except TransientError:
        raise
    except DarkroomError as exc:
        message = exc.message.replace("Cannot fetch", "Cannot deliver webhooks to", 1)
        raise InvalidCallbackUrl(message, details=exc.details) from None
    return url


def request(ctx: Context, event: Due) -> Request:
    """The signed POST announcing `event`; GiveUp once its image is gone."""
    try:
        with transaction(ctx.sessions) as session:
            image = ImageRecord.of(image_rows.get_image(session, event.image_id))
    except NotFound:
        raise GiveUp("the image was deleted before its webhook could be delivered") from None
    document = {
        "id": event.id,
        "type": event.kind,
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": image_document(image),
    }
    body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    headers = {
        "Content-Type": "application/json",
        "Darkroom-Event": event.kind,
        "Darkroom-Delivery": event.id,
    }
    secret = ctx.settings.webhook_secret
    if secret is not None:
        headers[HEADER] = sign(secret.get_secret_value(), body)
    return Request("POST", body, headers, policy(ctx))
