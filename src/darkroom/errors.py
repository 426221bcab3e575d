"""The one exception hierarchy of Darkroom.

Every error raised on purpose derives from `DarkroomError`. Each class declares the HTTP
status it maps to, a stable machine-readable `code`, and whether a queue worker should
retry the work that raised it. The HTTP error handler and the retry policy read these
fields and nothing else, so a new failure mode is classified by choosing its base class.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar


class DarkroomError(Exception):
    """Root of every error Darkroom raises on purpose."""

    code: ClassVar[str] = "internal_error"
    status_code: ClassVar[int] = 500
    retryable: ClassVar[bool] = False
    default_message: ClassVar[str] = "An internal error occurred."
    retry_after: int | None = None
    """Seconds after which the same request may succeed (the Retry-After header), if known."""

    def __init__(self, message: str | None = None, *, details: Any = None) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        """The public JSON body: `{"error": {"code", "message", "details"}}`."""
        return error_body(self.code, self.message, self.details)


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The one shape of every error answer; also used for the HTTP framework's own refusals."""
    return {"error": {"code": code, "message": message, "details": details}}


class PermanentError(DarkroomError):
    """Retrying cannot help: the input or the request itself is at fault."""

    code = "bad_request"
    status_code = 400
    default_message = "The request cannot be processed."


class TransientError(DarkroomError):
    """A dependency hiccup: the same work is expected to succeed if tried again later."""

    code = "temporarily_unavailable"
    status_code = 503
    retryable = True
    default_message = "A dependency is temporarily unavailable; try again shortly."


class ConfigurationError(DarkroomError):
    """The deployment is misconfigured: an operator, not the caller, must fix it."""

    code = "configuration_error"
    default_message = "The server is misconfigured."


# --- the caller's mistakes -------------------------------------------------------------


class InvalidRequest(PermanentError):
    """The request is malformed (bad parameter, missing field)."""

    code = "invalid_request"
    status_code = 400
    default_message = "The request is invalid."


class InvalidSpec(PermanentError):
    """A transformation spec failed validation; `details` lists each problem."""

    code = "invalid_spec"
    status_code = 422
    default_message = "The transformation spec is invalid."


class UnknownAnalysis(PermanentError):
    """An analysis name this server does not know."""

    code = "unknown_analysis"
    status_code = 422
    default_message = "Unknown analysis."


class ExtraNotInstalled(PermanentError):
    """The request needs an optional extra this deployment has not installed.

    The message names the `pip install` to run; a worker asked to consume the work of a
    missing extra refuses to start with the same message.
    """

    code = "extra_not_installed"
    status_code = 422
    default_message = "This feature needs an optional extra that is not installed."

    @classmethod
    def named(cls, feature: str, extra: str) -> ExtraNotInstalled:
        """The refusal of `feature`, naming the install command of its `extra`."""
        return cls(
            f"{feature} needs the '{extra}' extra, which is not installed here: "
            f"pip install 'darkroom-images[{extra}]'.",
            details={"feature": feature, "extra": extra},
        )


class UnknownProfile(PermanentError):
    """A request names a profile that does not exist."""

    code = "unknown_profile"
    status_code = 422
    default_message = "Unknown profile."


class Unauthorized(PermanentError):
    """No valid credentials were presented."""

    code = "unauthorized"
    status_code = 401
    default_message = "Authentication is required."


class Forbidden(PermanentError):
    """The credentials or signature do not grant this request."""

    code = "forbidden"
    status_code = 403
    default_message = "This request is not allowed."


class NotFound(PermanentError):
    """The addressed resource does not exist."""

    code = "not_found"
    status_code = 404
    default_message = "Not found."


class Conflict(PermanentError):
    """The request conflicts with the current state of the resource."""

    code = "conflict"
    status_code = 409
    default_message = "The request conflicts with the current state."


class JobExpired(PermanentError):
    """Work waited in the queue past DARKROOM_JOB_TTL_SECONDS: failed, not done hours late."""

    code = "job_expired"
    status_code = 409
    default_message = "The job waited in the queue longer than its time to live."


class InvalidCallbackUrl(PermanentError):
    """A callback_url no webhook could be delivered to (bad URL, forbidden address)."""

    code = "invalid_callback_url"
    status_code = 422
    default_message = "The callback_url cannot receive webhooks."


class RateLimited(PermanentError):
    """The caller sent too many requests; it may try again after `retry_after` seconds."""

    code = "rate_limited"
    status_code = 429
    default_message = "Too many requests."

    def __init__(
        self, message: str | None = None, *, retry_after: int = 1, details: Any = None
    ) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after


# --- image input that cannot be processed (all permanent) ------------------------------


class ImageError(PermanentError):
    """Base of every refusal of an image's bytes."""

    code = "invalid_image"
    status_code = 422
    default_message = "The image cannot be processed."


class UnsupportedFormat(ImageError):
    """The bytes are not an image format Darkroom accepts."""

    code = "unsupported_format"
    status_code = 415
    default_message = "Unsupported image format."


class CorruptImage(ImageError):
    """The bytes claim a supported format but are damaged or truncated."""

    code = "corrupt_image"
    status_code = 422
    default_message = "The image data is corrupt or truncated."


class ImageTooLarge(ImageError):
    """The image exceeds a size limit (bytes, pixels or frames)."""

    code = "image_too_large"
    status_code = 413
    default_message = "The image is too large."


class TooManyPixels(ImageTooLarge):
    """A frame, or the whole animation, has more pixels than allowed."""

    code = "too_many_pixels"
    default_message = "The image has too many pixels."


class TooManyFrames(ImageTooLarge):
    """An animated or multi-page image has more frames than allowed."""

    code = "too_many_frames"
    default_message = "The image has too many frames."


# --- our side: transient dependency failures -------------------------------------------


class StorageUnavailable(TransientError):
    """Object storage failed or timed out."""

    code = "storage_unavailable"
    default_message = "Object storage is temporarily unavailable."


class DatabaseUnavailable(TransientError):
    """The database failed or timed out."""

    code = "database_unavailable"
    default_message = "The database is temporarily unavailable."


class BrokerUnavailable(TransientError):
    """The message broker failed or timed out."""

    code = "broker_unavailable"
    default_message = "The message broker is temporarily unavailable."


class Overloaded(TransientError):
    """Too much work is queued; the caller should come back after `retry_after` seconds."""

    code = "overloaded"
    default_message = "The service is busy; retry shortly."

    def __init__(
        self, message: str | None = None, *, retry_after: int = 1, details: Any = None
    ) -> None:
        super().__init__(message, details=details)
        self.retry_after = retry_after


class RenderTimeout(TransientError):
    """A render ran past its time budget and libvips was stopped.

    Transient: the same render may fit its budget on a less busy machine; a variant that
    never does ends in the dead-letter queue once its retries are spent.
    """

    code = "render_timeout"
    default_message = "The render took longer than its time budget and was stopped."


def is_retryable(exc: BaseException) -> bool:
    """Whether work that raised `exc` should be tried again.

    Errors we did not anticipate are retried: the retry budget is bounded, and a bug or an
    unclassified network failure must not be mistaken for a verdict on the input.
    """
    if isinstance(exc, DarkroomError):
        return exc.retryable
    return True


FieldProblem = dict[str, str | None]


def field_problems(problems: Iterable[tuple[str | None, str]]) -> tuple[str, list[FieldProblem]]:
    """A one-line summary and the `details` list for errors about named fields."""
    details: list[FieldProblem] = [
        {"field": field, "message": message} for field, message in problems
    ]
    summary = "; ".join(
        f"{d['field']}: {d['message']}" if d["field"] else str(d["message"]) for d in details
    )
    return summary, details
