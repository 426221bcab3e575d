"""Fixtures of the storage tests: every backend, on the real filesystem or a real S3 server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from darkroom.storage import LocalStore, ObjectStore
from darkroom.storage.s3 import S3Store
from tests.s3_server import REGION, S3Server

STORE_BACKENDS = ("local", "s3")


@pytest.fixture
def local_store(tmp_path: Path) -> LocalStore:
    """An empty store rooted in a directory of its own."""
    return LocalStore(tmp_path / "objects")


@pytest.fixture
def s3_store(s3_server: S3Server, s3_bucket: str) -> Iterator[S3Store]:
    """An empty S3 store on the test server, under a prefix of its own in a fresh bucket."""
    store = S3Store(s3_bucket, "store/prefix", endpoint_url=s3_server.endpoint, region=REGION)
    yield store
    store.close()


@pytest.fixture(params=STORE_BACKENDS)
def store(request: pytest.FixtureRequest) -> ObjectStore:
    """An empty store of each backend: the ObjectStore contract holds for all of them."""
    backend: ObjectStore = request.getfixturevalue(f"{request.param}_store")
    return backend
