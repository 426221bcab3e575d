"""Validated value types of the settings, each with a message that says what to write."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, SecretStr
from pydantic_settings import NoDecode

from darkroom.analysis.registry import ANALYSES, REPLACEABLE_MODELS
from darkroom.fetch.policy import normalize_pattern

MIN_SECRET_LENGTH = 16

_DATABASE_DIALECTS = ("sqlite", "postgresql")
_STORAGE_SCHEMES = ("file", "s3")
_BROKER_SCHEMES = ("memory", "amqp", "amqps", "redis", "rediss")
# Dramatiq's own rule for queue names; the prefix is the start of one.
_QUEUE_PREFIX = re.compile(r"([A-Za-z_][A-Za-z0-9._-]*)?")


def url_scheme(url: str) -> str:
    """The lowercased scheme of `url`, or "" when it has none."""
    return url.split("://", 1)[0].lower() if "://" in url else ""


def _database_url(value: str) -> str:
    dialect = url_scheme(value).split("+", 1)[0]
    if dialect == "postgres":
        raise ValueError("write postgresql://... (SQLAlchemy does not accept postgres://)")
    if dialect not in _DATABASE_DIALECTS:
        raise ValueError(
            f"unsupported database scheme {dialect!r}: use sqlite:///path/to/file.db "
            "or postgresql://user:password@host/dbname"
        )
    return value


def _storage_url(value: str) -> str:
    scheme = url_scheme(value)
    if scheme not in _STORAGE_SCHEMES:
        raise ValueError(
            f"unsupported storage URL {value!r}: use file://relative/dir, "
            "file:///absolute/dir or s3://bucket/prefix"
        )
    if not value.split("://", 1)[1].strip("/"):
        missing = "a directory" if scheme == "file" else "a bucket name"
        raise ValueError(f"storage URL {value!r} names no location: add {missing}")
    return value


def _broker_url(value: str) -> str:
    scheme = url_scheme(value)
    if scheme not in _BROKER_SCHEMES:
        raise ValueError(
            f"unsupported broker scheme {scheme!r}: use memory:// (in-process), "
            "amqp://host (RabbitMQ) or redis://host"
        )
    return value


def _http_url(value: str) -> str:
    if url_scheme(value) not in ("http", "https"):
        raise ValueError(f"{value!r} is not an http:// or https:// URL")
    return value


def _redis_url(value: str) -> str:
    if url_scheme(value) not in ("redis", "rediss"):
        raise ValueError(f"{value!r} is not a redis:// or rediss:// URL")
    return value


def _queue_prefix(value: str) -> str:
    if not _QUEUE_PREFIX.fullmatch(value):
        raise ValueError(
            "must start with a letter or _ and contain only letters, digits, '.', '_', '-'"
        )
    return value


def _split_commas(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


def _lowercase(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _host_patterns(value: tuple[str, ...]) -> tuple[str, ...]:
    # The fetcher's own rule, so a pattern accepted here is never refused at fetch time.
    return tuple(normalize_pattern(pattern) for pattern in value)


def _analysis_names(value: tuple[str, ...]) -> tuple[str, ...]:
    unknown = [name for name in value if name not in ANALYSES]
    if unknown:
        known = ", ".join(ANALYSES)
        raise ValueError(f"unknown analyses {', '.join(unknown)}: choose from {known}")
    return value


def _model_paths(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    paths = {}
    for item in _split_commas(value):
        name, sep, path = item.partition("=")
        if not sep or not path.strip():
            raise ValueError(f"write analysis=/path/to/model.onnx, not {item!r}")
        paths[name.strip()] = Path(path.strip())
    return paths


def _known_model_paths(value: dict[str, Path]) -> dict[str, Path]:
    unknown = [name for name in value if name not in REPLACEABLE_MODELS]
    if unknown:
        known = ", ".join(REPLACEABLE_MODELS)
        raise ValueError(f"no model file to replace for {', '.join(unknown)}: only for {known}")
    missing = [f"{name}={path}" for name, path in value.items() if not path.is_file()]
    if missing:
        raise ValueError(f"no model file at {', '.join(missing)}")
    return value


def _secret(value: SecretStr) -> SecretStr:
    if len(value.get_secret_value()) < MIN_SECRET_LENGTH:
        raise ValueError(
            f"a secret is shorter than {MIN_SECRET_LENGTH} characters; generate one with "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return value


def _hex_secret(value: SecretStr) -> SecretStr:
    text = value.get_secret_value()
    try:
        if not bytes.fromhex(text):
            raise ValueError
    except ValueError:
        raise ValueError("expected hex digits (an imgproxy key or salt)") from None
    return value


DatabaseUrl = Annotated[str, AfterValidator(_database_url)]
StorageUrl = Annotated[str, AfterValidator(_storage_url)]
BrokerUrl = Annotated[str, AfterValidator(_broker_url)]
HttpUrl = Annotated[str, AfterValidator(_http_url)]
RedisUrl = Annotated[str, AfterValidator(_redis_url)]
QueuePrefix = Annotated[str, AfterValidator(_queue_prefix)]
LogFormat = Annotated[Literal["json", "console", "auto"], BeforeValidator(_lowercase)]
LogLevel = Annotated[
    Literal["critical", "error", "warning", "info", "debug"], BeforeValidator(_lowercase)
]
Secret = Annotated[SecretStr, AfterValidator(_secret)]
HexSecret = Annotated[SecretStr, AfterValidator(_hex_secret)]
# NoDecode: the environment gives "a,b", not the JSON list pydantic-settings expects.
HostPatterns = Annotated[
    tuple[str, ...],
    NoDecode,
    AfterValidator(_host_patterns),
    BeforeValidator(_split_commas),
]
Secrets = Annotated[tuple[Secret, ...], NoDecode, BeforeValidator(_split_commas)]
AnalysisNames = Annotated[
    tuple[str, ...], NoDecode, AfterValidator(_analysis_names), BeforeValidator(_split_commas)
]
ModelPaths = Annotated[
    dict[str, Path], NoDecode, AfterValidator(_known_model_paths), BeforeValidator(_model_paths)
]
