"""The client runs where none of the server's packages can be imported.

A subprocess installs an import hook that refuses every server-only package, as if
`pip install darkroom-images` (no extras) were all there is; the client must import and
work, and the `darkroom` command must say, in one line, which extra to install.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

REFUSED = (
    "fastapi",
    "pyvips",
    "sqlalchemy",
    "starlette",
    "dramatiq",
    "typer",
    "uvicorn",
    "boto3",
    "alembic",
    "pydantic_settings",
    "PIL",
)

REFUSE = textwrap.dedent(
    f"""
    import sys

    REFUSED = {REFUSED!r}

    class Refuse:
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in REFUSED:
                raise ModuleNotFoundError(f"No module named {{name!r}} (refused)", name=name)
            return None

    sys.meta_path.insert(0, Refuse())
    """
)


def python(code: str) -> subprocess.CompletedProcess[str]:
    """Run `code` after the refusing hook, in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-c", REFUSE + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_client_imports_and_works_without_any_server_package() -> None:
    done = python(
        """
        import httpx
        from darkroom import errors
        from darkroom.client import AsyncClient, Client, sign_url, verify_webhook
        from darkroom.contract import ImageOut

        def answer(request):
            body = {"error": {"code": "not_found", "message": "No image x.", "details": None}}
            return httpx.Response(404, json=body)

        with Client("http://darkroom.test", transport=httpx.MockTransport(answer)) as client:
            try:
                client.get("x")
            except errors.NotFound as exc:
                assert (exc.status_code, exc.message) == (404, "No image x.")
            url = client.render_url("x", key="k" * 32, width=10)
            assert url.startswith("http://darkroom.test/v1/render/x?w=10&sig=")
        assert sign_url("/v1/render/x", "k" * 32).startswith("/v1/render/x?sig=")
        loaded = sorted(m for m in sys.modules if m.partition(".")[0] in REFUSED)
        assert loaded == [], loaded
        print("lean")
        """
    )
    assert (done.returncode, done.stdout.strip()) == (0, "lean"), done.stderr


def test_the_command_names_the_server_extra_instead_of_a_traceback() -> None:
    for entry in (
        "from darkroom._command import main; main()",
        "import runpy; runpy.run_module('darkroom', run_name='__main__')",
    ):
        done = python(entry)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, lines
        assert "pip install 'darkroom-images[server]'" in lines[0]
        assert "fastapi" in lines[0]
