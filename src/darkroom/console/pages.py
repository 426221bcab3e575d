"""Rendering pages: the Jinja templates shipped in the package, and what every page shows."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.templating import Jinja2Templates

from darkroom.console.access import Visit

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
NOTICES = {
    "uploaded": "Uploaded {n} image(s).",
    "retried": "The variant is queued again.",
    "replayed": "Replayed {n} dead letter(s).",
    "saved": "Profile saved.",
    "backfilled": "Backfill queued {n} image(s).",
    "revoked": "Key revoked.",
}
"""Messages shown after a form's redirect, by `?notice=` (never free text from the URL)."""


def _size(value: int | None) -> str:
    if value is None:
        return "—"
    size = float(value)
    for unit in ("B", "KiB", "MiB"):
        if size < 1024 or unit == "MiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def _when(value: datetime | None) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


TEMPLATES.env.filters["size"] = _size
TEMPLATES.env.filters["when"] = _when


def root(request: Request) -> str:
    """Where the console is mounted (`/console`), for the links of its pages."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def page(
    request: Request, template: str, visit: Visit | None, status_code: int = 200, **values: Any
) -> HTMLResponse:
    """The page `template` with `values`, the visitor and the notice of a redirect."""
    notice = NOTICES.get(request.query_params.get("notice", ""))
    count = request.query_params.get("n", "")
    values = {
        "root": root(request),
        "visit": visit,
        "csrf": visit.csrf if visit else values.pop("csrf", ""),
        "notice": notice.format(n=count if count.isdigit() else "") if notice else None,
        **values,
    }
    response = TEMPLATES.TemplateResponse(request, template, values, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect(request: Request, path: str, **query: str | int) -> RedirectResponse:
    """A 303 to a console path (after a form POST), with a notice or filter in `query`."""
    suffix = f"?{urlencode(query)}" if query else ""
    return RedirectResponse(f"{root(request)}{path}{suffix}", status_code=303)
