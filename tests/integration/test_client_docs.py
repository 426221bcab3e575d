"""docs/client.md runs: its Python examples, in order, against a live embedded service."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.corpus import CORPUS
from tests.integration.conftest import start_service

DOC = Path(__file__).resolve().parents[2] / "docs" / "client.md"
DOC_ADDRESS = "http://127.0.0.1:8080"
"""The address the examples use: `darkroom serve`'s default, replaced by the live one."""
SIGNING_KEY = "the-first-of-DARKROOM_SIGNING_KEYS"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def examples() -> list[str]:
    """The Python code blocks of docs/client.md, in order."""
    return BLOCK.findall(DOC.read_text())


def test_the_doc_has_examples_of_every_part() -> None:
    code = "\n".join(examples())
    for call in ("upload(", "wait(", "download(", "render_url(", "iter_images(", "AsyncClient"):
        assert call in code, call
    assert DOC_ADDRESS in code


@pytest.mark.slow  # every example for real: uploads, renders, a backfill, a job
def test_every_example_runs_against_a_live_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copyfile(CORPUS / "jpeg-progressive.jpg", tmp_path / "photo.jpg")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DARKROOM_API_KEY", raising=False)
    for service in start_service(tmp_path / "service", signing_keys=[SIGNING_KEY])():
        url = str(service.http.base_url).rstrip("/")
        namespace: dict[str, object] = {"__name__": "docs_client"}
        for number, block in enumerate(examples(), start=1):
            code = compile(block.replace(DOC_ADDRESS, url), f"docs/client.md#{number}", "exec")
            exec(code, namespace)
        namespace["client"].close()  # type: ignore[attr-defined]
    printed = capsys.readouterr().out
    assert "thumb_200 200 200 jpeg" in printed
    assert "404 not_found" in printed
    assert (tmp_path / "thumb.jpg").is_file()
    assert (tmp_path / "original.jpg").read_bytes() == (tmp_path / "photo.jpg").read_bytes()
