"""The eager pipeline on a cluster: 1 `darkroom api` + N `darkroom worker` processes.

Usage: python -m bench.cluster [--photos 60] [--workers 1 2] [--rounds 1]

The same burst as `bench.pipeline` (distinct 3000x2000 JPEGs x the three default profiles,
upload to all done) against the deployment `docs/deploy.md` describes, every service real
and on loopback: PostgreSQL (a fresh database, dropped after), RabbitMQ (queues under a
fresh prefix, deleted after) and an S3 server (`moto_server`, a fresh bucket). One API
process takes the uploads; each worker process runs one transform thread per core. Beside
each figure, from the same run: the bare pyvips loop on 2 processes. Needs the
`postgres`, `rabbitmq` and `s3` extras and `moto[server]` (the `test` extra has them).
Prints Markdown.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pika
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from tests.s3_server import S3Server, free_port, s3_env, unique_bucket_name

from bench.pipeline import POLL, Round, _upload, _wait_done, bare_burst, burst, make_photos, medians
from darkroom.queue.broker import QUEUES

POSTGRES_URL = os.environ.get(
    "DARKROOM_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
RABBITMQ_URL = os.environ.get(
    "DARKROOM_BENCH_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F"
)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, migrated-later PostgreSQL database's URL; dropped afterwards."""
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    name = f"darkroom_bench_{secrets.token_hex(4)}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@contextmanager
def queue_prefix() -> Iterator[str]:
    """A fresh queue-name prefix; its queues are deleted afterwards."""
    prefix = f"bench{secrets.token_hex(3)}."
    try:
        yield prefix
    finally:
        connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
        channel = connection.channel()
        for queue in QUEUES:
            for name in (prefix + queue, f"{prefix}{queue}.DQ", f"{prefix}{queue}.XQ"):
                channel.queue_delete(name)
        connection.close()


@contextmanager
def s3_bucket(root: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A running S3 server with a fresh bucket: the bucket and the settings to reach it."""
    server = S3Server(free_port(), root / "s3.log")
    server.start()
    try:
        bucket = unique_bucket_name()
        server.create_bucket(bucket)
        yield bucket, s3_env(server.endpoint)
    finally:
        server.stop()


@contextmanager
def process(root: Path, name: str, args: list[str], env: dict[str, str]) -> Iterator[None]:
    """`darkroom ARGS` in the background, its log in `root/NAME.log`; stopped afterwards."""
    log = (root / f"{name}.log").open("ab")
    child = subprocess.Popen(
        [sys.executable, "-m", "darkroom", *args], env=env, stdout=log, stderr=log
    )
    try:
        yield
    finally:
        child.terminate()
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        log.close()


def _healthy(port: int, root: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError((root / "api.log").read_text())
        time.sleep(0.2)


def cluster(photos: list[bytes], workers: int, port: int) -> tuple[float, float, int]:
    """Burst seconds, burst p50 upload-to-done seconds and failures, on a fresh cluster."""
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        database_url = stack.enter_context(postgres_database())
        prefix = stack.enter_context(queue_prefix())
        bucket, s3 = stack.enter_context(s3_bucket(root))
        env = (
            os.environ
            | s3
            | {
                "DARKROOM_DATABASE_URL": database_url,
                "DARKROOM_STORAGE_URL": f"s3://{bucket}/objects",
                "DARKROOM_BROKER_URL": RABBITMQ_URL,
                "DARKROOM_QUEUE_PREFIX": prefix,
                "DARKROOM_PORT": str(port),
                "DARKROOM_LOG_LEVEL": "warning",
            }
        )
        subprocess.run([sys.executable, "-m", "darkroom", "migrate"], env=env, check=True)
        stack.enter_context(process(root, "api", ["api"], env))
        for index in range(workers):
            stack.enter_context(process(root, f"worker{index}", ["worker"], env))
        _healthy(port, root)
        http = stack.enter_context(httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120))
        _wait_done(http, _upload(http, -1, photos[-1]), POLL)  # every process warm
        return burst(http, photos[:-1])


def main() -> None:
    """Alternate bare and cluster for each worker count, round after round; print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photos", type=int, default=60)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--port", type=int, default=18097)
    args = parser.parse_args()
    photos = make_photos(args.photos + 1)
    rows: dict[int, list[Round]] = {w: [] for w in args.workers}
    for round_number in range(1, args.rounds + 1):
        for workers in args.workers:
            bare = bare_burst(photos[:-1])
            seconds, p50, failed = cluster(photos, workers, args.port)
            rows[workers].append(Round(seconds, p50, bare, failed))
            print(
                f"round {round_number}, {workers} worker process(es): {seconds:.2f} s, p50 "
                f"{p50 * 1000:.0f} ms (bare {bare:.2f} s)",
                file=sys.stderr,
            )
    print(
        f"{args.photos} distinct 3000x2000 JPEGs x thumb_200,webp_800,avatar through 1 API "
        "process and N worker processes (PostgreSQL, RabbitMQ, moto S3, all on loopback). "
        "Ratio = bare time / cluster time (above 1: Darkroom faster); p50 = upload to done "
        "during the burst."
    )
    print()
    print("| worker processes | burst s | bare 2 processes s | ratio | burst p50 ms | failed |")
    print("|---:|---:|---:|---:|---:|---:|")
    for workers, rounds in rows.items():
        seconds, p50, bare, ratio, failed = medians(rounds)
        print(
            f"| {workers} | {seconds:.2f} | {bare:.2f} | {ratio:.2f} | {p50 * 1000:.0f} "
            f"| {failed} |"
        )


if __name__ == "__main__":
    main()
