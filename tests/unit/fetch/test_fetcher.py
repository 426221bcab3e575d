"""Fetching from a real origin on 127.0.0.1: the file, limits, timeouts, remote errors."""

from __future__ import annotations

import re
import time

import pytest

from darkroom.errors import ImageTooLarge
from darkroom.fetch import FetchFailed, FetchTimeout, FetchUnavailable, fetch
from tests.unit.fetch.conftest import IMAGE, Network, loopback_policy
from tests.unit.fetch.origin import HUGE, Origin


def test_fetches_the_image(origin: Origin, network: Network) -> None:
    fetched = fetch(origin.url("/image.jpg"), loopback_policy())
    assert fetched.content == IMAGE
    assert fetched.url == origin.url("/image.jpg")
    assert fetched.content_type == "image/jpeg"
    assert [r.host for r in origin.state.requests] == [f"127.0.0.1:{origin.port}"]
    assert network.connections == [("127.0.0.1", origin.port)]


def test_a_file_exactly_at_the_limit_is_accepted(origin: Origin) -> None:
    fetched = fetch(origin.url("/image.jpg"), loopback_policy(max_bytes=len(IMAGE)))
    assert len(fetched.content) == len(IMAGE)


def test_a_declared_size_over_the_limit_is_refused_up_front(origin: Origin) -> None:
    with pytest.raises(ImageTooLarge) as caught:
        fetch(origin.url("/image.jpg"), loopback_policy(max_bytes=len(IMAGE) - 1))
    assert caught.value.message.endswith(
        f"the remote file is {len(IMAGE)} bytes; the limit is {len(IMAGE) - 1}."
    )
    assert caught.value.status_code == 413


@pytest.mark.parametrize("path", ["/huge", "/huge-unsized"])
def test_a_huge_body_is_abandoned_without_reading_the_rest(path: str, origin: Origin) -> None:
    started = time.monotonic()
    with pytest.raises(ImageTooLarge, match="the remote file is"):
        fetch(origin.url(path), loopback_policy(max_bytes=1024 * 1024))
    assert time.monotonic() - started < 2
    # The origin noticed the hang-up long before it had sent everything.
    assert origin.state.wait_sent(path) < HUGE // 4


def test_a_server_that_never_answers_times_out(origin: Origin) -> None:
    started = time.monotonic()
    with pytest.raises(FetchTimeout, match="did not answer in time") as caught:
        fetch(origin.url("/slow"), loopback_policy(read_timeout=0.3))
    assert 0.3 <= time.monotonic() - started < 1.5
    assert caught.value.retryable
    assert caught.value.status_code == 504


def test_a_trickle_is_cut_off_by_the_overall_deadline(origin: Origin) -> None:
    started = time.monotonic()
    with pytest.raises(FetchTimeout, match=re.escape("took longer than 0.5 s")):
        fetch(origin.url("/drip"), loopback_policy(read_timeout=0.3, total_timeout=0.5))
    assert 0.5 <= time.monotonic() - started < 1.5


@pytest.mark.parametrize(
    ("status", "reason"), [(404, "Not Found"), (403, "Forbidden"), (410, "Gone")]
)
def test_a_remote_client_error_is_permanent(status: int, reason: str, origin: Origin) -> None:
    with pytest.raises(FetchFailed) as caught:
        fetch(origin.url(f"/status/{status}"), loopback_policy())
    assert caught.value.message.endswith(
        f"the remote server answered {status} {reason}; check the URL."
    )
    assert caught.value.details == {"url": origin.url(f"/status/{status}"), "status": status}
    assert (caught.value.status_code, caught.value.retryable) == (422, False)


@pytest.mark.parametrize("status", [500, 502, 503, 429, 408])
def test_a_remote_server_error_is_transient(status: int, origin: Origin) -> None:
    with pytest.raises(FetchUnavailable, match=f"answered {status} .*; try again later") as caught:
        fetch(origin.url(f"/status/{status}"), loopback_policy())
    assert (caught.value.status_code, caught.value.retryable) == (502, True)


def test_a_success_without_content_is_a_failure(origin: Origin) -> None:
    with pytest.raises(FetchFailed, match="answered 204 No Content instead of 200 OK"):
        fetch(origin.url("/status/204"), loopback_policy())


def test_an_encoded_body_is_refused(origin: Origin) -> None:
    with pytest.raises(FetchFailed, match="gzip-encoded although asked not to"):
        fetch(origin.url("/gzip"), loopback_policy())


def test_a_server_that_does_not_speak_http_is_transient(origin: Origin) -> None:
    with pytest.raises(FetchUnavailable, match=re.escape("the connection to 127.0.0.1 failed")):
        fetch(origin.url("/garbage"), loopback_policy())


def test_a_closed_port_is_transient(network: Network) -> None:
    from tests.unit.fetch.origin import closed_port

    port = closed_port()
    with pytest.raises(FetchUnavailable) as caught:
        fetch(f"http://127.0.0.1:{port}/image.jpg", loopback_policy())
    assert f"could not connect to 127.0.0.1 port {port} (Connection refused)" in str(caught.value)
    assert network.connections == [("127.0.0.1", port)]
