"""A real S3 server for the tests: `moto_server` in a subprocess on a free loopback port.

Each pytest process (each xdist worker) starts a server of its own, on a port the kernel
picks, so parallel workers never share buckets. The server can be stopped and started
again on the same port to simulate an outage; it keeps nothing across a restart.
"""

from __future__ import annotations

import importlib.util
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING

import boto3
import httpx
from botocore.config import Config
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

REGION = "us-east-1"
ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"
# Unset while the tests talk to moto, so a developer's own AWS setup cannot leak in.
AWS_VARIABLES_TO_CLEAR = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN")
_START_TIMEOUT = 20.0
_STOP_TIMEOUT = 5.0
_PORT_ATTEMPTS = 3


class S3ServerUnavailable(RuntimeError):
    """moto_server is not installed or did not start."""


def credentials_env() -> dict[str, str]:
    """Dummy AWS credentials and settings for clients of the test server (moto checks none)."""
    return {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": REGION,
        # Without the keys above botocore would try the EC2 metadata endpoint, for seconds.
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def s3_env(endpoint: str) -> dict[str, str]:
    """The environment variables a Darkroom process needs to use the S3 server at `endpoint`."""
    return {
        "DARKROOM_S3_ENDPOINT_URL": endpoint,
        "DARKROOM_S3_REGION": REGION,
        **credentials_env(),
    }


def unique_bucket_name() -> str:
    """A fresh, valid bucket name: tests never share a bucket."""
    return f"darkroom-test-{secrets.token_hex(6)}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class S3Server:
    """One moto_server process on 127.0.0.1:`port`; `stop()` and `start()` keep the port."""

    def __init__(self, port: int, log_path: Path) -> None:
        self.port = port
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        # Kept across restarts (the endpoint does not change): a new client costs ~70 ms.
        self._admin: S3Client | None = None

    def __repr__(self) -> str:
        return f"S3Server({self.endpoint!r}, running={self.running})"

    @property
    def endpoint(self) -> str:
        """The server's base URL, for `endpoint_url` and `DARKROOM_S3_ENDPOINT_URL`."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = _START_TIMEOUT) -> None:
        """Start the server and wait until it answers; raise S3ServerUnavailable if not."""
        if self.running:
            return
        self._log = self.log_path.open("ab")
        # `python -m moto.server` is `moto_server`, found without relying on PATH.
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        self._process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=1.0, trust_env=False) as http:
            while True:
                if self._process.poll() is not None:
                    self.stop()
                    raise S3ServerUnavailable(
                        f"moto_server exited at start on port {self.port}: {self._log_tail()}"
                    )
                try:
                    # moto answers GET / with its bucket list: the server is up and is moto.
                    if b"ListAllMyBucketsResult" in http.get(self.endpoint).content:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise S3ServerUnavailable(
                        f"moto_server did not answer on port {self.port} within {timeout} s: "
                        f"{self._log_tail()}"
                    )
                time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server (an outage: requests are refused) and wait until it is gone."""
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self, *buckets: str) -> None:
        """Stop the server if it runs, start it again, and re-create `buckets` (moto forgets)."""
        self.stop()
        self.start()
        for bucket in buckets:
            self.create_bucket(bucket)

    def client(self, config: Config | None = None) -> S3Client:
        """A new client on this server with the dummy credentials; the caller closes it."""
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
            config=config,
        )

    @property
    def admin(self) -> S3Client:
        """The server's own client, for setting up and checking buckets; `close()` closes it."""
        if self._admin is None:
            self._admin = self.client()
        return self._admin

    def create_bucket(self, name: str) -> None:
        """Create an empty bucket."""
        self.admin.create_bucket(Bucket=name)

    def delete_bucket(self, name: str) -> None:
        """Delete a bucket with every object and unfinished upload in it; a missing one is fine."""
        try:
            _empty_bucket(self.admin, name)
            self.admin.delete_bucket(Bucket=name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchBucket":
                raise

    def close(self) -> None:
        """Stop the server and close its own client."""
        self.stop()
        if self._admin is not None:
            self._admin.close()
            self._admin = None

    @contextmanager
    def bucket(self) -> Iterator[str]:
        """A new, uniquely named bucket, deleted with all its objects on exit."""
        name = unique_bucket_name()
        self.create_bucket(name)
        try:
            yield name
        finally:
            # A fault test may have left the server stopped; moto restarts empty then.
            if not self.running:
                self.start()
            self.delete_bucket(name)

    def _log_tail(self) -> str:
        lines = self.log_path.read_text(errors="replace").strip().splitlines()
        return " | ".join(lines[-5:]) or "(no output)"


@contextmanager
def running_s3_server(log_dir: Path) -> Iterator[S3Server]:
    """Start moto_server on a free port, yield it, stop it; raise S3ServerUnavailable if not."""
    if importlib.util.find_spec("moto") is None:
        raise S3ServerUnavailable("moto_server is not installed: pip install 'moto[server]'")
    server: S3Server | None = None
    for attempt in range(_PORT_ATTEMPTS):
        # Another process may take the free port before moto binds it: pick another.
        server = S3Server(free_port(), log_dir / f"moto-{attempt}.log")
        try:
            server.start()
        except S3ServerUnavailable:
            if attempt == _PORT_ATTEMPTS - 1:
                raise
            continue
        break
    assert server is not None
    try:
        yield server
    finally:
        server.close()


def _empty_bucket(client: S3Client, name: str) -> None:
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
        keys: list[ObjectIdentifierTypeDef] = [
            {"Key": item["Key"]} for item in page.get("Contents", ())
        ]
        if keys:
            client.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
    uploads = client.list_multipart_uploads(Bucket=name).get("Uploads", ())
    for upload in uploads:
        client.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
