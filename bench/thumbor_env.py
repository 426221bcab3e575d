"""thumbor 7.8 for benchmarks: a virtualenv kept under a cache folder, and a server on a
free loopback port that reads images from a folder.

`ensure_thumbor()` makes (once) a virtualenv with `thumbor==7.8.0` from the package index
under `~/.cache/darkroom-bench/thumbor-7.8` (or `$DARKROOM_BENCH_CACHE/thumbor-7.8`);
`running_thumbor(root)` starts it with unsafe URLs allowed, the file loader rooted at
`root`, no storage and no result storage, EXIF orientation applied (as Darkroom does),
in 2 processes, and yields its base URL.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

VERSION = "7.8.0"


def cache_dir() -> Path:
    """Where the benchmark virtualenvs live."""
    base = os.environ.get("DARKROOM_BENCH_CACHE", "~/.cache/darkroom-bench")
    return Path(base).expanduser()


def ensure_thumbor() -> Path:
    """The `thumbor` program of the cached virtualenv, installed first if need be."""
    venv = cache_dir() / "thumbor-7.8"
    program = venv / "bin" / "thumbor"
    if program.exists():
        return program
    venv.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, f"thumbor=={VERSION}"], check=True)
    return program


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_thumbor(root: Path, *, processes: int = 2) -> Iterator[str]:
    """thumbor serving the images under `root` as `/unsafe/.../NAME`; its base URL."""
    program = ensure_thumbor()
    port = free_port()
    config = root / "thumbor.conf"
    config.write_text(
        "\n".join(
            [
                "ALLOW_UNSAFE_URL = True",
                "LOADER = 'thumbor.loaders.file_loader'",
                f"FILE_LOADER_ROOT_PATH = {str(root)!r}",
                "STORAGE = 'thumbor.storages.no_storage'",
                "RESULT_STORAGE = None",
                "RESPECT_ORIENTATION = True",
                "",
            ]
        )
    )
    log = (root / "thumbor.log").open("ab")
    command = [str(program), "--ip", "127.0.0.1", "--port", str(port), "--conf", str(config)]
    # A session of its own: with --processes thumbor forks, and its children must go with it.
    child = subprocess.Popen(
        [*command, "--processes", str(processes)],
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthcheck").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or child.poll() is not None:
                raise RuntimeError((root / "thumbor.log").read_text())
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(child.pid, signal.SIGTERM)
        child.wait(timeout=30)
        log.close()
