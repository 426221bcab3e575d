"""The import contracts in `.importlinter` hold: the architecture is checked, not just drawn."""

from __future__ import annotations

import configparser
import logging
from pathlib import Path

import pytest
from importlinter.cli import lint_imports

CONFIG = Path(__file__).resolve().parents[2] / ".importlinter"


def _contracts() -> list[str]:
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    prefix = "importlinter:contract:"
    return [
        section.removeprefix(prefix) for section in parser.sections() if section != "importlinter"
    ]


@pytest.mark.parametrize("contract", _contracts())
def test_import_contract_is_kept(contract: str, capsys: pytest.CaptureFixture[str]) -> None:
    # import-linter configures logging with dictConfig, which disables every logger that
    # exists then: left so, the other tests in this process would log nothing.
    loggers = [v for v in logging.root.manager.loggerDict.values() if isinstance(v, logging.Logger)]
    disabled = {logger: logger.disabled for logger in loggers}
    try:
        status = lint_imports(
            config_filename=str(CONFIG),
            limit_to_contracts=(contract,),
            no_cache=True,
            no_logo=True,
        )
    finally:
        for logger, was in disabled.items():
            logger.disabled = was
    assert status == 0, capsys.readouterr().out


def test_every_layer_of_the_package_is_under_contract() -> None:
    # A new top-level package must be placed in the layers, or the contracts say nothing of it.
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    layered = {
        name.strip()
        for line in parser["importlinter:contract:layers"]["layers"].splitlines()
        for name in line.split("|")
        if name.strip()
    }
    package = CONFIG.parent / "src" / "darkroom"
    top_level = {
        f"darkroom.{path.stem}"
        for path in package.iterdir()
        if (path.is_dir() and (path / "__init__.py").exists())
        or (path.suffix == ".py" and not path.name.startswith("_"))
    }
    assert top_level - layered <= {"darkroom.client"}, top_level - layered
