"""The error hierarchy decides HTTP status and retry in one place."""

from __future__ import annotations

import pytest

from darkroom import errors


@pytest.mark.parametrize(
    ("cls", "status", "retryable"),
    [
        (errors.InvalidRequest, 400, False),
        (errors.Unauthorized, 401, False),
        (errors.Forbidden, 403, False),
        (errors.NotFound, 404, False),
        (errors.Conflict, 409, False),
        (errors.ImageTooLarge, 413, False),
        (errors.TooManyPixels, 413, False),
        (errors.TooManyFrames, 413, False),
        (errors.UnsupportedFormat, 415, False),
        (errors.CorruptImage, 422, False),
        (errors.InvalidSpec, 422, False),
        (errors.RateLimited, 429, False),
        (errors.StorageUnavailable, 503, True),
        (errors.DatabaseUnavailable, 503, True),
        (errors.BrokerUnavailable, 503, True),
        (errors.Overloaded, 503, True),
    ],
)
def test_status_and_retry_are_declared_by_the_class(
    cls: type[errors.DarkroomError], status: int, retryable: bool
) -> None:
    exc = cls()
    assert (exc.status_code, exc.retryable, errors.is_retryable(exc)) == (
        status,
        retryable,
        retryable,
    )
    body = exc.to_dict()
    assert set(body) == {"error"}
    assert body["error"]["code"] == cls.code
    assert body["error"]["message"] == cls.default_message


def test_every_image_error_is_permanent() -> None:
    image_errors: list[type[errors.ImageError]] = [
        errors.ImageError,
        *errors.ImageError.__subclasses__(),
        errors.TooManyPixels,
    ]
    assert all(not cls.retryable and 400 <= cls.status_code < 500 for cls in image_errors)


def test_message_and_details_travel_to_the_body() -> None:
    exc = errors.InvalidSpec("width: too big", details=[{"field": "width", "message": "too big"}])
    assert exc.to_dict() == {
        "error": {
            "code": "invalid_spec",
            "message": "width: too big",
            "details": [{"field": "width", "message": "too big"}],
        }
    }
    assert str(exc) == "width: too big"


def test_unknown_exceptions_are_retried() -> None:
    assert errors.is_retryable(ConnectionResetError())
    assert errors.Overloaded(retry_after=7).retry_after == 7
