"""Fetching an image from a URL without exposing internal services (SSRF-safe)."""

from darkroom.fetch.addresses import AddressClass, classify
from darkroom.fetch.errors import FetchFailed, FetchForbidden, FetchTimeout, FetchUnavailable
from darkroom.fetch.fetcher import Fetched, fetch
from darkroom.fetch.policy import FetchPolicy, host_matches

__all__ = [
    "AddressClass",
    "FetchFailed",
    "FetchForbidden",
    "FetchPolicy",
    "FetchTimeout",
    "FetchUnavailable",
    "Fetched",
    "classify",
    "fetch",
    "host_matches",
]
