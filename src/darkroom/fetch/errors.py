"""Typed failures of a fetch, placed in the one hierarchy of `darkroom.errors`."""

from __future__ import annotations

from darkroom.errors import Forbidden, PermanentError, TransientError


class FetchForbidden(Forbidden):
    """The URL's host, port or resolved address may not be fetched under the policy."""

    code = "fetch_forbidden"
    default_message = "Fetching this URL is not allowed."


class FetchFailed(PermanentError):
    """The remote server answered, but not with the file: the URL itself is at fault."""

    code = "fetch_failed"
    status_code = 422
    default_message = "The remote server did not return a file for this URL."


class FetchUnavailable(TransientError):
    """The remote server failed or could not be reached; the same URL may work later."""

    code = "fetch_unavailable"
    status_code = 502
    default_message = "The remote server is unavailable; try again shortly."


class FetchTimeout(FetchUnavailable):
    """The remote server did not connect or answer within the allowed time."""

    code = "fetch_timeout"
    status_code = 504
    default_message = "The remote server did not answer in time."
