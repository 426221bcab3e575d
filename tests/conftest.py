"""Shared fixtures: real databases on every backend, and the policy for missing services.

A backing service (PostgreSQL here) that is not reachable skips the tests that need it,
with the reason, so a laptop without it still runs everything else. With
`DARKROOM_REQUIRE_SERVICES=1` (as in CI) the same tests fail instead: a green CI run
means every backend really ran.

Test tiers: every test that needs a backing service (PostgreSQL, Redis, RabbitMQ, the moto
S3 server) is marked `slow` at collection, from the fixtures it uses, so `pytest -m "not
slow"` is a fast loop that needs nothing but Python. Modules that start `darkroom`
processes, and the long tails of cross products, mark themselves slow.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from darkroom.db.engine import create_engine, session_factory
from darkroom.db.migrate import upgrade
from tests.s3_server import (
    AWS_VARIABLES_TO_CLEAR,
    S3Server,
    S3ServerUnavailable,
    credentials_env,
    running_s3_server,
)

POSTGRES_URL = os.environ.get(
    "DARKROOM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
"""A PostgreSQL database the tests may connect to in order to create their own databases."""

DATABASE_BACKENDS = ("sqlite", "postgresql")
REDIS_URL = os.environ.get("DARKROOM_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
"""A Redis database the tests may use, keys under a per-test prefix."""

SERVICE_FIXTURES = frozenset(
    {
        "postgres_admin",
        "postgres_url",
        "redis_url",
        "broker",
        "rabbitmq",
        "redis_prefix",
        "s3_server",
        "s3_bucket",
        "s3_store",
    }
)
"""Fixtures that reach a backing service: a test using any of them, directly or through
another fixture, is slow."""

SERVICE_PARAMS: dict[str, frozenset[str]] = {
    "database_url": frozenset({"postgresql"}),
    "db_engine": frozenset({"postgresql"}),
    "store": frozenset({"s3"}),
    "storage": frozenset({"s3"}),
}
"""Parametrized fixtures whose listed parameters reach a backing service through
`request.getfixturevalue`, which the fixture closure of a test does not show."""


def services_required() -> bool:
    """Whether a missing backing service fails the tests that need it rather than skipping."""
    return os.environ.get("DARKROOM_REQUIRE_SERVICES") == "1"


def service_unavailable(reason: str) -> NoReturn:
    """Skip the current test for `reason`, or fail it when services are required."""
    if services_required():
        pytest.fail(f"{reason} (required: DARKROOM_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


def needs_service(item: pytest.Item) -> bool:
    """Whether a collected test uses a backing service, by its fixtures and parameters."""
    if not SERVICE_FIXTURES.isdisjoint(getattr(item, "fixturenames", ())):
        return True
    callspec = getattr(item, "callspec", None)
    params: dict[str, object] = callspec.params if callspec is not None else {}
    return any(
        isinstance(value := params.get(name), str) and value in values
        for name, values in SERVICE_PARAMS.items()
    )


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: a worker per core for the fast tier, one more when slow tests run.

    The slow tests spend much of their time waiting on `darkroom` processes, brokers and
    heartbeats; a third worker fills those waits (the full suite took 288 s instead of
    335 s on 2 cores), while the fast tier, all CPU, is slower with it (82 s instead of 69 s).
    """
    cores = len(os.sched_getaffinity(0))
    return cores if fast_tier(config) else cores + 1


def fast_tier(config: pytest.Config) -> bool:
    """Whether this run is the fast tier (`-m "not slow"`)."""
    return "not slow" in " ".join((config.getoption("markexpr") or "").split())


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """In the fast tier, a module marked slow as a whole is not even imported.

    Its tests would all be deselected, but collecting them costs each worker seconds
    (schemathesis builds its cases from the OpenAPI document, the browser tests import
    Playwright, the analyzer tests their models).
    """
    if not fast_tier(config) or collection_path.suffix != ".py":
        return None
    if not collection_path.name.startswith("test_"):
        return None
    return SLOW_MODULE in collection_path.read_text(encoding="utf-8") or None


SLOW_MODULE = "\npytestmark = pytest.mark.slow"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that needs a backing service `slow` (before `-m` deselects)."""
    for item in items:
        if needs_service(item):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An autocommit engine on the maintenance database, able to CREATE and DROP DATABASE."""
    url = make_url(POSTGRES_URL)
    engine = sa.create_engine(
        url,
        isolation_level="AUTOCOMMIT",
        poolclass=sa.NullPool,
        connect_args={"connect_timeout": 3},
    )
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:
        engine.dispose()
        cause = str(exc.orig).splitlines()[0]
        service_unavailable(
            f"PostgreSQL not reachable at {url.host}:{url.port or 5432} "
            f"as {url.username} (database {url.database}): {cause}"
        )
    yield engine
    engine.dispose()


@pytest.fixture(params=DATABASE_BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database of each backend, dropped after the test.

    PostgreSQL gets a uniquely named database per test, so parallel runs (xdist, or two
    checkouts sharing one server) never see each other's tables.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'darkroom.db'}"
        return
    with new_postgres_database(request.getfixturevalue("postgres_admin")) as url:
        yield url


@pytest.fixture
def postgres_url(postgres_admin: Engine) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped after the test."""
    with new_postgres_database(postgres_admin) as url:
        yield url


@contextmanager
def new_postgres_database(admin: Engine) -> Iterator[str]:
    """Create a uniquely named database, yield its URL, drop it (even if still in use)."""
    name = f"darkroom_test_{secrets.token_hex(6)}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            # FORCE ends connections a failed test may have leaked, so the drop never hangs.
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db_engine(database_url: str) -> Iterator[Engine]:
    """An engine on a database migrated to the newest schema."""
    upgrade(database_url)
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def db_sessions(db_engine: Engine) -> sessionmaker[Session]:
    """The session factory the service layer would use, bound to the migrated database."""
    return session_factory(db_engine)


@pytest.fixture(scope="session")
def aws_credentials() -> Iterator[dict[str, str]]:
    """Dummy AWS credentials in the environment, for the whole session (moto checks none).

    Stores under test take theirs from the standard AWS chain, exactly as in production;
    the developer's own AWS profile is hidden meanwhile.
    """
    with pytest.MonkeyPatch.context() as patch:
        for name in AWS_VARIABLES_TO_CLEAR:
            patch.delenv(name, raising=False)
        variables = credentials_env()
        for name, value in variables.items():
            patch.setenv(name, value)
        yield variables


@pytest.fixture(scope="session")
def s3_server(
    aws_credentials: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[S3Server]:
    """This test process's own moto S3 server; skipped (or failed in CI) if it cannot start."""
    with ExitStack() as stack:
        try:
            server = stack.enter_context(running_s3_server(tmp_path_factory.mktemp("moto")))
        except S3ServerUnavailable as exc:
            service_unavailable(f"S3 test server (moto_server) unavailable: {exc}")
        yield server


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> Iterator[str]:
    """A new, uniquely named bucket, deleted with everything in it after the test."""
    with s3_server.bucket() as name:
        yield name


@pytest.fixture
def redis_url() -> str:
    """The test Redis's URL; skipped (or failed in CI) when it is not reachable."""
    parts = urlsplit(REDIS_URL)
    try:
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 2).close()
    except OSError as exc:
        service_unavailable(f"Redis not reachable at {parts.netloc}: {exc}")
    return REDIS_URL
