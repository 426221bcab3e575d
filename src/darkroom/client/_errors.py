"""Error answers as exceptions: the server's own classes, found by the answer's `code`.

`{"error": {"code", "message", "details"}}` becomes the `darkroom.errors` class declaring
that code, so `except NotFound` or `except ImageTooLarge` works as it does on the server.
A code the client does not know (a newer server's, or one defined beside server-only
code) becomes a subclass of the class for the answer's HTTP status, carrying that code.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from darkroom import errors
from darkroom.contract import ImageOut, Status
from darkroom.errors import DarkroomError, PermanentError, TransientError

_BY_STATUS: dict[int, type[DarkroomError]] = {
    400: errors.InvalidRequest,
    401: errors.Unauthorized,
    403: errors.Forbidden,
    404: errors.NotFound,
    409: errors.Conflict,
    413: errors.ImageTooLarge,
    415: errors.UnsupportedFormat,
    422: errors.PermanentError,
    429: errors.RateLimited,
}


def _walk(cls: type[DarkroomError]) -> Iterator[type[DarkroomError]]:
    yield cls
    for sub in cls.__subclasses__():
        yield from _walk(sub)


_BY_CODE: dict[str, type[DarkroomError]] = {
    cls.code: cls for cls in _walk(DarkroomError) if cls.__module__ == errors.__name__
}
_UNKNOWN: dict[tuple[type[DarkroomError], str, int], type[DarkroomError]] = {}


class VariantsFailed(PermanentError):
    """Raised by `wait` when the image ended failed; `reasons` says why, per output."""

    code = "variants_failed"
    status_code = 422
    default_message = "The image failed: a variant or analysis of it failed."

    def __init__(
        self, message: str | None = None, *, details: Any = None, image: ImageOut | None = None
    ) -> None:
        self.image = image
        self.reasons: dict[str, str] = {} if image is None else failure_reasons(image)
        """Why each failed output failed: by profile name, and `analysis:NAME` by analysis."""
        if image is not None and message is None:
            listed = "; ".join(f"{name}: {why}" for name, why in self.reasons.items())
            message = f"Image {image.id} failed ({listed or image.error or 'no reason given'})."
        super().__init__(message, details=details if details is not None else self.reasons or None)


class WaitTimeout(TransientError):
    """Raised by `wait` when the image is still pending or processing at its deadline."""

    code = "wait_timeout"
    status_code = 504
    default_message = "The image was not finished when the wait timed out."

    def __init__(
        self, message: str | None = None, *, details: Any = None, image: ImageOut | None = None
    ) -> None:
        self.image = image
        """The image as last seen."""
        super().__init__(message, details=details)


def failure_reasons(image: ImageOut) -> dict[str, str]:
    """Why each failed variant and analysis of `image` failed."""
    reasons = {v.profile: v.error or "failed" for v in image.variants if v.status == Status.FAILED}
    for a in image.analyses:
        if a.status == Status.FAILED:
            reasons[f"analysis:{a.name}"] = a.error or "failed"
    return reasons


def error_from_response(response: httpx.Response) -> DarkroomError:
    """The exception an error answer stands for, with its status, code, message and details."""
    status = response.status_code
    code, message, details = _read_body(response)
    cls = _class_for(code, status)
    exc = cls(message, details=details)
    retry_after = response.headers.get("Retry-After", "")
    if retry_after.isdigit():
        exc.retry_after = int(retry_after)
    return exc


def _read_body(response: httpx.Response) -> tuple[str | None, str, Any]:
    try:
        body = response.json()
        error = body["error"]
        return str(error["code"]), str(error["message"]), error.get("details")
    except (ValueError, KeyError, TypeError):
        # Not our error shape: a proxy's page, say. Its start is the best message there is.
        text = response.text.strip()[:200] or response.reason_phrase
        return None, f"HTTP {response.status_code} from {response.request.url}: {text}", None


def _class_for(code: str | None, status: int) -> type[DarkroomError]:
    known = _BY_CODE.get(code or "")
    if known is not None and known.status_code == status:
        return known
    base = known or _by_status(status)
    if code is None or (base.code == code and base.status_code == status):
        return base
    key = (base, code, status)
    if key not in _UNKNOWN:
        name = "".join(part.capitalize() for part in code.split("_")) or "Unknown"
        _UNKNOWN[key] = type(
            name,
            (base,),
            {
                "__doc__": f"An error answer with code {code!r} (HTTP {status}).",
                "__module__": __name__,
                "code": code,
                "status_code": status,
            },
        )
    return _UNKNOWN[key]


def _by_status(status: int) -> type[DarkroomError]:
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if 400 <= status < 500:
        return PermanentError
    if status in (502, 503, 504):
        return TransientError
    return DarkroomError
