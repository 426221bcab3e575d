"""/ready follows its dependencies: 503 naming the database while PostgreSQL is cut off,
200 again once it is back, over real HTTP against a real PostgreSQL."""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.integration.conftest import start_service
from tests.tcp_proxy import proxied

pytestmark = pytest.mark.slow  # PostgreSQL


def test_ready_is_503_while_the_database_is_unreachable(tmp_path: Path, postgres_url: str) -> None:
    url = make_url(postgres_url)
    with proxied((url.host or "127.0.0.1", url.port or 5432)) as proxy:
        through_proxy = url.set(host="127.0.0.1", port=proxy.port)
        run = start_service(
            tmp_path, database_url=through_proxy.render_as_string(hide_password=False)
        )
        with contextmanager(run)() as service:
            assert service.http.get("/ready").status_code == 200
            proxy.cut()
            down = service.http.get("/ready")
            assert down.status_code == 503
            checks = down.json()["checks"]
            assert checks["database"]["ok"] is False
            assert checks["database"]["error"]
            assert (checks["storage"]["ok"], checks["broker"]["ok"]) == (True, True)
            assert service.http.get("/health").status_code == 200  # alive all the same
            proxy.restore()
            deadline = time.monotonic() + 15
            while service.http.get("/ready").status_code != 200:
                assert time.monotonic() < deadline, "not ready after the database came back"
                time.sleep(0.1)
