"""The error hierarchy decides HTTP status and retry in one place.

The rules are checked on every class under `DarkroomError`, however deep and in whichever
module of the package it is defined: the whole package is imported first, then the
hierarchy is walked recursively.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import cache
from http import HTTPStatus

import pytest

import darkroom
from darkroom import errors
from darkroom.retry import GiveUp, Retry, RetryPolicy

NOT_IMPORTED = ("darkroom.__main__", "darkroom.db.migrations")
"""Modules that cannot be imported as a library: `__main__` runs the CLI, and the Alembic
environment and revisions run only inside Alembic. Neither defines errors."""

FAMILIES: tuple[type[errors.DarkroomError], ...] = (
    errors.PermanentError,
    errors.TransientError,
)
CODE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")


def import_every_module() -> None:
    """Import each module of the package, so that every error class it defines exists."""
    for module in pkgutil.walk_packages(darkroom.__path__, prefix="darkroom."):
        if not module.name.startswith(NOT_IMPORTED):
            importlib.import_module(module.name)


def descendants(cls: type[errors.DarkroomError]) -> list[type[errors.DarkroomError]]:
    """Every subclass of `cls` at any depth defined in the package, each once, sorted.

    Classes defined outside the package (a test's own) are left out, so that every xdist
    worker collects the same list whatever it imported first.
    """
    found: dict[type[errors.DarkroomError], None] = {}
    stack = list(cls.__subclasses__())
    while stack:
        sub = stack.pop()
        if sub not in found:
            found[sub] = None
            stack.extend(sub.__subclasses__())
    ours = (c for c in found if c.__module__.startswith("darkroom."))
    return sorted(ours, key=lambda c: (c.__module__, c.__qualname__))


@cache
def hierarchy() -> tuple[type[errors.DarkroomError], ...]:
    """`DarkroomError` and every class under it, defined anywhere in the package."""
    import_every_module()
    return (errors.DarkroomError, *descendants(errors.DarkroomError))


def under(base: type[errors.DarkroomError]) -> list[type[errors.DarkroomError]]:
    """The classes of the hierarchy strictly below `base`."""
    return [c for c in hierarchy() if c is not base and issubclass(c, base)]


def error_classes() -> list[type[errors.DarkroomError]]:
    return list(hierarchy())


def name(cls: type[errors.DarkroomError]) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def family(cls: type[errors.DarkroomError]) -> type[errors.DarkroomError] | None:
    """PermanentError or TransientError, whichever `cls` is under; None for neither."""
    found = [f for f in FAMILIES if issubclass(cls, f)]
    assert len(found) <= 1, f"{name(cls)} is both permanent and transient"
    return found[0] if found else None


def test_the_walk_reaches_every_module_and_every_depth() -> None:
    found = set(hierarchy())
    # Four levels down: DarkroomError > PermanentError > ImageError > ImageTooLarge > ...
    assert {errors.TooManyPixels, errors.TooManyFrames} <= found
    modules = {cls.__module__ for cls in found}
    # Errors defined next to the code that raises them, outside darkroom.errors, one of
    # them (FetchTimeout) three levels down.
    assert {
        "darkroom.fetch.errors",
        "darkroom.storage.keys",
        "darkroom.storage.base",
        "darkroom.settings.loading",
    } <= modules


@pytest.mark.parametrize("cls", error_classes(), ids=name)
def test_each_class_declares_its_own_code_and_message(cls: type[errors.DarkroomError]) -> None:
    # A subclass that forgot its code would answer with its parent's and be indistinguishable.
    own = vars(cls)
    assert "code" in own, f"{name(cls)} inherits code {cls.code!r}"
    assert "default_message" in own, f"{name(cls)} inherits its default message"
    assert CODE.fullmatch(cls.code), cls.code
    assert cls.default_message.strip()
    assert cls.default_message.endswith("."), cls.default_message
    assert isinstance(cls.retryable, bool)
    assert cls.__doc__, f"{name(cls)} has no docstring saying when it is raised"


def test_codes_are_unique() -> None:
    by_code: dict[str, list[str]] = {}
    for cls in hierarchy():
        by_code.setdefault(cls.code, []).append(name(cls))
    assert {code: names for code, names in by_code.items() if len(names) > 1} == {}


@pytest.mark.parametrize("cls", error_classes(), ids=name)
def test_status_and_retry_follow_the_family(cls: type[errors.DarkroomError]) -> None:
    status = cls.status_code
    assert status in {s.value for s in HTTPStatus}, f"{name(cls)}: {status} is not HTTP"
    kind = family(cls)
    if kind is errors.PermanentError:
        # The caller's mistake: a 4xx, and retrying cannot help.
        assert 400 <= status < 500, f"{name(cls)} is permanent but answers {status}"
        assert cls.retryable is False, f"{name(cls)} is permanent but retryable"
    elif kind is errors.TransientError:
        # A dependency of ours failed: a 5xx, and the same work may succeed later.
        assert 500 <= status < 600, f"{name(cls)} is transient but answers {status}"
        assert cls.retryable is True, f"{name(cls)} is transient but not retryable"
    else:
        # Neither the caller's fault nor a hiccup (our bug, a misconfiguration): 500, final.
        assert status == 500, f"{name(cls)} answers {status}"
        assert cls.retryable is False, f"{name(cls)} is retryable outside TransientError"


@pytest.mark.parametrize("cls", error_classes()[1:], ids=name)
def test_subclasses_agree_with_their_bases(cls: type[errors.DarkroomError]) -> None:
    for base in cls.__bases__:
        if not issubclass(base, errors.DarkroomError) or base is errors.DarkroomError:
            continue  # the families themselves set what the root leaves open
        assert cls.retryable == base.retryable, f"{name(cls)} flips retryable of {name(base)}"
        assert cls.status_code // 100 == base.status_code // 100, (
            f"{name(cls)} answers {cls.status_code}, its base {name(base)} {base.status_code}"
        )
        assert cls.code != base.code


@pytest.mark.parametrize("cls", error_classes(), ids=name)
def test_instances_carry_the_class_fields_to_the_body_and_the_retry_policy(
    cls: type[errors.DarkroomError],
) -> None:
    exc = cls()
    assert (exc.status_code, exc.retryable, errors.is_retryable(exc)) == (
        cls.status_code,
        cls.retryable,
        cls.retryable,
    )
    assert exc.to_dict() == {
        "error": {"code": cls.code, "message": cls.default_message, "details": None}
    }
    assert str(exc) == cls.default_message
    decision = RetryPolicy().decide(exc, attempt=1)
    if cls.retryable:
        assert isinstance(decision, Retry)
    else:
        assert decision == GiveUp(cls.default_message, cls.code)


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
        (errors.UnknownProfile, 422, False),
        (errors.ExtraNotInstalled, 422, False),
        (errors.UnknownAnalysis, 422, False),
        (errors.RateLimited, 429, False),
        (errors.ConfigurationError, 500, False),
        (errors.StorageUnavailable, 503, True),
        (errors.DatabaseUnavailable, 503, True),
        (errors.BrokerUnavailable, 503, True),
        (errors.Overloaded, 503, True),
        (errors.RenderTimeout, 503, True),
    ],
)
def test_documented_statuses(cls: type[errors.DarkroomError], status: int, retryable: bool) -> None:
    # The statuses the README promises to API clients.
    assert (cls.status_code, cls.retryable) == (status, retryable)


@pytest.mark.parametrize("cls", under(errors.ImageError), ids=name)
def test_every_image_error_is_a_permanent_client_error(cls: type[errors.DarkroomError]) -> None:
    assert issubclass(cls, errors.PermanentError)
    assert not cls.retryable
    assert 400 <= cls.status_code < 500


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


def test_a_missing_extra_names_its_install_command() -> None:
    exc = errors.ExtraNotInstalled.named("The 'ocr' analysis", "ocr")
    assert exc.message == (
        "The 'ocr' analysis needs the 'ocr' extra, which is not installed here: "
        "pip install 'darkroom-images[ocr]'."
    )
    assert exc.details == {"feature": "The 'ocr' analysis", "extra": "ocr"}


def test_unknown_exceptions_are_retried() -> None:
    assert errors.is_retryable(ConnectionResetError())
    assert errors.Overloaded(retry_after=7).retry_after == 7
