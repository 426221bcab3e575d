"""Reference logos: register, read and remove the logos the logos analysis looks for.

Each logo's features are computed once per process and logo version (its image's digest)
and kept, so an analysis compares against every registered logo without re-reading them.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

from darkroom.analysis import logos as logo_analyzer
from darkroom.db.engine import transaction
from darkroom.db.repo import logos as logo_rows
from darkroom.errors import InvalidRequest
from darkroom.imaging import verify
from darkroom.imaging.formats import TRAITS
from darkroom.service.context import Context
from darkroom.service.dto import LogoRecord
from darkroom.storage import is_profile_name, logo_key

_references: dict[str, tuple[str, Any]] = {}
"""Prepared references by logo name, with the digest of the image they were made from."""
_lock = threading.Lock()


def check_name(name: str) -> str:
    """A valid logo name, or InvalidRequest saying what names look like."""
    if not is_profile_name(name):
        raise InvalidRequest(
            f"Invalid logo name {name!r}: use 1-64 lowercase letters, digits, '_' or '-', "
            "starting with a letter."
        )
    return name


def put(ctx: Context, name: str, data: bytes) -> LogoRecord:
    """Register (or replace) a logo from an image of it.

    Refused before anything is stored: what uploads refuse, an image with too few
    distinct features to be found (422), and a deployment without the `logos` extra.
    """
    check_name(name)
    logo_analyzer.model_info()
    info = verify(data, ctx.limits)
    reference = logo_analyzer.prepare_reference(name, data)
    sha256 = hashlib.sha256(data).hexdigest()
    key = logo_key(name, sha256, TRAITS[info.format].extension)
    if not ctx.originals.exists(key):
        ctx.originals.put(key, data, info.mime_type)
    width, height = info.upright_size()
    new = logo_rows.NewLogo(
        key, sha256, info.mime_type, len(data), width, height, len(reference.points)
    )
    with transaction(ctx.sessions) as session:
        row, replaced = logo_rows.put_logo(session, name, new)
        record = LogoRecord.of(row)
    if replaced is not None:
        ctx.originals.delete(replaced)
    with _lock:
        _references[name] = (sha256, reference)
    return record


def get(ctx: Context, name: str) -> LogoRecord:
    """One logo; NotFound if there is none of that name (an invalid name names none)."""
    with transaction(ctx.sessions) as session:
        return LogoRecord.of(logo_rows.get_logo(session, name))


def list_all(ctx: Context) -> list[LogoRecord]:
    """Every logo, by name."""
    with transaction(ctx.sessions) as session:
        return [LogoRecord.of(row) for row in logo_rows.list_logos(session)]


def image(ctx: Context, name: str) -> tuple[LogoRecord, bytes]:
    """A logo and the bytes of its image."""
    logo = get(ctx, name)
    return logo, ctx.originals.get(logo.image_key)


def delete(ctx: Context, name: str) -> None:
    """Remove a logo; later analyses no longer look for it (done ones keep their finds)."""
    with transaction(ctx.sessions) as session:
        row = logo_rows.delete_logo(session, name)
        key = row.image_key
    ctx.originals.delete(key)
    with _lock:
        _references.pop(name, None)


def references(ctx: Context) -> list[Any]:
    """The prepared references of every registered logo (`logos.Reference`), by name."""
    found = []
    for logo in list_all(ctx):
        with _lock:
            kept = _references.get(logo.name)
        if kept is None or kept[0] != logo.sha256:
            data = ctx.originals.get(logo.image_key)
            kept = (logo.sha256, logo_analyzer.prepare_reference(logo.name, data))
            with _lock:
                _references[logo.name] = kept
        found.append(kept[1])
    return found
