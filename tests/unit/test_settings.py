"""Settings: defaults, DARKROOM_ variables over the reference service's aliases, validation."""

from __future__ import annotations

import os
from dataclasses import fields
from pathlib import Path

import pytest
from pydantic import ValidationError

from darkroom import errors
from darkroom.imaging.formats import ImageFormat
from darkroom.imaging.limits import DEFAULT_INPUT_FORMATS, DEFAULT_LIMITS, Limits
from darkroom.settings import (
    ENV_ALIASES,
    InvalidSettings,
    Settings,
    env_names,
    load_settings,
)
from darkroom.settings.table import settings_table

ALIAS_NAMES = {alias.env for alias in ENV_ALIASES}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting leaks in from the machine running the tests."""
    for name in list(os.environ):
        if name.upper().startswith("DARKROOM_") or name in ALIAS_NAMES:
            monkeypatch.delenv(name)


def invalid(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    """The message `load_settings` refuses `env` with."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(InvalidSettings) as caught:
        load_settings()
    assert caught.value.message.startswith("Invalid settings:\n  - ")
    assert caught.value.code == "invalid_settings"
    assert not caught.value.retryable
    return caught.value.message


def test_embedded_defaults() -> None:
    s = load_settings()
    assert s.database_url == "sqlite:///./data/darkroom.db"
    assert s.storage_url == "file://./data/objects"
    assert s.output_storage_url is None
    assert s.outputs_url == "file://./data/objects"
    assert s.broker_url == "memory://"
    assert (s.host, s.port) == ("127.0.0.1", 8080)
    assert s.workers == len(os.sched_getaffinity(0))
    assert s.queue_prefix == ""
    assert (s.reconcile_interval_seconds, s.lease_seconds, s.shutdown_timeout_seconds) == (
        30,
        300,
        30,
    )
    assert s.max_upload_bytes == 50 * 1024 * 1024
    assert (s.max_pixels, s.max_frames, s.max_animation_pixels) == (
        100_000_000,
        256,
        500_000_000,
    )
    assert s.enable_svg is False
    assert s.url_fetch_allow_hosts == ()
    assert s.url_fetch_timeout_seconds == 10
    assert (s.signing_keys, s.allow_unsigned, s.webhook_secret) == ((), False, None)
    assert (s.s3_endpoint_url, s.s3_region) == (None, None)
    assert s.log_level == "info"


# (alias variable, its value, setting, value it gives, DARKROOM_ value, value that gives)
ALIAS_CASES = [
    ("PORT", "9000", "port", 9000, "9100", 9100),
    (
        "DB_PATH",
        "./data/jobs.db",
        "database_url",
        "sqlite:///./data/jobs.db",
        "postgresql://db/x",
        "postgresql://db/x",
    ),
    (
        "DB_PATH",
        "/var/lib/jobs.db",
        "database_url",
        "sqlite:////var/lib/jobs.db",
        "sqlite:///a.db",
        "sqlite:///a.db",
    ),
    ("UPLOAD_DIR", "./uploads", "storage_url", "file://./uploads", "s3://bucket", "s3://bucket"),
    ("UPLOAD_DIR", "/srv/uploads", "storage_url", "file:///srv/uploads", "file://x", "file://x"),
    ("UPLOAD_DIR", "uploads", "storage_url", "file://./uploads", "file://x", "file://x"),
    ("OUTPUT_DIR", "./outputs", "storage_url", "file://./outputs", "file://x", "file://x"),
    ("OUTPUT_DIR", "../outputs", "output_storage_url", "file://../outputs", "s3://out", "s3://out"),
    ("WORKER_POOL_SIZE", "7", "workers", 7, "3", 3),
    ("MAX_UPLOAD_SIZE", "10485760", "max_upload_bytes", 10485760, "2048", 2048),
]


@pytest.mark.parametrize(
    ("alias", "alias_value", "field", "from_alias", "own_value", "from_own"), ALIAS_CASES
)
def test_darkroom_variable_beats_alias_beats_default(
    monkeypatch: pytest.MonkeyPatch,
    alias: str,
    alias_value: str,
    field: str,
    from_alias: object,
    own_value: str,
    from_own: object,
) -> None:
    default = getattr(load_settings(), field)
    assert default not in (from_alias, from_own)

    monkeypatch.setenv(alias, alias_value)
    assert getattr(load_settings(), field) == from_alias

    monkeypatch.setenv(f"DARKROOM_{field.upper()}", own_value)
    assert getattr(load_settings(), field) == from_own

    # An explicit argument (e.g. `serve --port`) beats both.
    assert getattr(load_settings(**{field: from_own}), field) == from_own


def test_every_alias_is_covered_by_the_precedence_test() -> None:
    assert {(a.env, a.field) for a in ENV_ALIASES} == {(c[0], c[2]) for c in ALIAS_CASES}


def test_explicit_arguments_beat_every_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DARKROOM_PORT", "9100")
    monkeypatch.setenv("PORT", "9000")
    assert load_settings(port=9200).port == 9200


def test_upload_and_output_dirs_together(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPLOAD_DIR", "./uploads")
    monkeypatch.setenv("OUTPUT_DIR", "./outputs")
    s = load_settings()
    assert (s.storage_url, s.output_storage_url) == ("file://./uploads", "file://./outputs")
    assert s.outputs_url == "file://./outputs"


def test_upload_dir_alone_keeps_outputs_with_originals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPLOAD_DIR", "./uploads")
    s = load_settings()
    assert (s.storage_url, s.output_storage_url, s.outputs_url) == (
        "file://./uploads",
        None,
        "file://./uploads",
    )


def test_output_dir_alone_holds_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTPUT_DIR", "./outputs")
    s = load_settings()
    assert (s.storage_url, s.outputs_url) == ("file://./outputs", "file://./outputs")


def test_empty_variables_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DARKROOM_PORT", "")
    monkeypatch.setenv("PORT", "9000")
    monkeypatch.setenv("DB_PATH", "  ")
    s = load_settings()
    assert (s.port, s.database_url) == (9000, "sqlite:///./data/darkroom.db")


def test_lists_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    key1, key2 = "k" * 16, "secret-two-0123456789"
    monkeypatch.setenv("DARKROOM_SIGNING_KEYS", f" {key1} ,{key2},")
    monkeypatch.setenv(
        "DARKROOM_URL_FETCH_ALLOW_HOSTS", "Images.Example.com., *.CDN.test,10.0.0.7,[::1]"
    )
    s = load_settings()
    assert [k.get_secret_value() for k in s.signing_keys] == [key1, key2]
    assert s.url_fetch_allow_hosts == ("images.example.com", "*.cdn.test", "10.0.0.7", "::1")
    assert key1 not in repr(s)
    assert key2 not in str(s)


def test_analysis_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    model = tmp_path / "nsfw.onnx"
    model.write_bytes(b"weights")
    monkeypatch.setenv("DARKROOM_DEFAULT_ANALYSES", " faces , colors ")
    monkeypatch.setenv("DARKROOM_ANALYSIS_MODELS", f"nsfw={model}")
    monkeypatch.setenv("DARKROOM_NSFW_THRESHOLD", "0.6")
    settings = load_settings()
    assert settings.default_analyses == ("faces", "colors")
    assert settings.analysis_models == {"nsfw": model}
    assert settings.nsfw_threshold == 0.6


def test_lists_from_arguments() -> None:
    s = load_settings(url_fetch_allow_hosts=["Minio"], signing_keys=["x" * 16])
    assert s.url_fetch_allow_hosts == ("minio",)
    assert [k.get_secret_value() for k in s.signing_keys] == ["x" * 16]


def test_scalars_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "DARKROOM_ENABLE_SVG": "true",
        "DARKROOM_ALLOW_UNSIGNED": "1",
        "DARKROOM_LOG_LEVEL": "DEBUG",
        "DARKROOM_WEBHOOK_SECRET": "w" * 20,
        "DARKROOM_QUEUE_PREFIX": "staging.",
        "DARKROOM_S3_ENDPOINT_URL": "http://minio:9000",
        "DARKROOM_S3_REGION": "eu-west-1",
        "DARKROOM_URL_FETCH_TIMEOUT_SECONDS": "2.5",
        "DARKROOM_SHUTDOWN_TIMEOUT_SECONDS": "5",
        "DARKROOM_BROKER_URL": "amqp://guest:guest@rabbit:5672/",
        "DARKROOM_DATABASE_URL": "postgresql+psycopg://u:p@db/darkroom",
    }.items():
        monkeypatch.setenv(name, value)
    s = load_settings()
    assert (s.enable_svg, s.allow_unsigned, s.log_level) == (True, True, "debug")
    assert s.webhook_secret is not None
    assert s.webhook_secret.get_secret_value() == "w" * 20
    assert (s.queue_prefix, s.s3_endpoint_url, s.s3_region) == (
        "staging.",
        "http://minio:9000",
        "eu-west-1",
    )
    assert (s.url_fetch_timeout_seconds, s.shutdown_timeout_seconds) == (2.5, 5.0)
    assert s.broker_url == "amqp://guest:guest@rabbit:5672/"
    assert s.database_url == "postgresql+psycopg://u:p@db/darkroom"


def test_settings_are_frozen() -> None:
    s = load_settings()
    with pytest.raises(ValidationError):
        s.port = 1  # type: ignore[misc]


# --- validation ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "value", "expected"),
    [
        (
            "DARKROOM_PORT",
            "0",
            "DARKROOM_PORT or PORT: Input should be greater than or equal to 1 (got '0')",
        ),
        (
            "PORT",
            "70000",
            "DARKROOM_PORT or PORT: Input should be less than or equal to 65535 (got '70000')",
        ),
        ("PORT", "http", "DARKROOM_PORT or PORT: Input should be a valid integer"),
        (
            "WORKER_POOL_SIZE",
            "0",
            "DARKROOM_WORKERS or WORKER_POOL_SIZE: Input should be greater than 0",
        ),
        (
            "MAX_UPLOAD_SIZE",
            "-1",
            "DARKROOM_MAX_UPLOAD_BYTES or MAX_UPLOAD_SIZE: Input should be greater than 0",
        ),
        ("DARKROOM_MAX_PIXELS", "0", "DARKROOM_MAX_PIXELS: Input should be greater than 0"),
        ("DARKROOM_MAX_FRAMES", "-3", "DARKROOM_MAX_FRAMES: Input should be greater than 0"),
        ("DARKROOM_LEASE_SECONDS", "0", "DARKROOM_LEASE_SECONDS: Input should be greater than 0"),
        (
            "DARKROOM_DATABASE_URL",
            "mysql://u:pw@h/d",
            "unsupported database scheme 'mysql': use sqlite:///path/to/file.db or postgresql://",
        ),
        ("DARKROOM_DATABASE_URL", "postgres://u:pw@h/d", "write postgresql://"),
        ("DB_PATH", "", None),
        (
            "DARKROOM_STORAGE_URL",
            "ftp://host/dir",
            "DARKROOM_STORAGE_URL or UPLOAD_DIR or OUTPUT_DIR: unsupported storage URL",
        ),
        ("DARKROOM_STORAGE_URL", "./data", "unsupported storage URL './data'"),
        ("DARKROOM_STORAGE_URL", "s3://", "names no location: add a bucket name"),
        (
            "DARKROOM_OUTPUT_STORAGE_URL",
            "file://",
            "OUTPUT_DIR: storage URL 'file://' names no location: add a directory",
        ),
        ("DARKROOM_BROKER_URL", "kafka://k", "unsupported broker scheme 'kafka': use memory://"),
        ("DARKROOM_QUEUE_PREFIX", "1st", "DARKROOM_QUEUE_PREFIX: must start with a letter or _"),
        (
            "DARKROOM_URL_FETCH_ALLOW_HOSTS",
            "ok.test,bad host",
            "DARKROOM_URL_FETCH_ALLOW_HOSTS: 'bad host' is not a valid host pattern",
        ),
        ("DARKROOM_URL_FETCH_ALLOW_HOSTS", "*", "'*' is only allowed as a leading '*.'"),
        ("DARKROOM_URL_FETCH_ALLOW_HOSTS", "10.0.0.0/8", "address ranges are not supported"),
        (
            "DARKROOM_SIGNING_KEYS",
            "0123456789abcdef,short",
            "DARKROOM_SIGNING_KEYS (item 2): a secret is shorter than 16 characters",
        ),
        (
            "DARKROOM_WEBHOOK_SECRET",
            "short",
            "DARKROOM_WEBHOOK_SECRET: a secret is shorter than 16 characters",
        ),
        (
            "DARKROOM_S3_ENDPOINT_URL",
            "minio:9000",
            "'minio:9000' is not an http:// or https:// URL",
        ),
        (
            "DARKROOM_LOG_LEVEL",
            "loud",
            "Input should be 'critical', 'error', 'warning', 'info' or 'debug'",
        ),
        ("DARKROOM_ENABLE_SVG", "maybe", "DARKROOM_ENABLE_SVG: Input should be a valid boolean"),
        (
            "DARKROOM_DEFAULT_ANALYSES",
            "colors,horoscope",
            "DARKROOM_DEFAULT_ANALYSES: unknown analyses horoscope: choose from "
            "colors, faces, labels, logos, nsfw, ocr",
        ),
        (
            "DARKROOM_ANALYSIS_MODELS",
            "faces=/etc/hostname",
            "no model file to replace for faces: only for background, labels, nsfw, ocr",
        ),
        (
            "DARKROOM_ANALYSIS_MODELS",
            "nsfw=/nowhere/model.onnx",
            "no model file at nsfw=/nowhere/model.onnx",
        ),
        ("DARKROOM_ANALYSIS_MODELS", "nsfw", "write analysis=/path/to/model.onnx, not 'nsfw'"),
        ("DARKROOM_NSFW_THRESHOLD", "1.5", "DARKROOM_NSFW_THRESHOLD: Input should be less than"),
        (
            "DARKROOM_AVIF_EFFORT",
            "10",
            "DARKROOM_AVIF_EFFORT: Input should be less than or equal to 9",
        ),
        (
            "DARKROOM_MAX_ANIMATION_PIXELS",
            "1000",
            "DARKROOM_MAX_ANIMATION_PIXELS (1000) must be at least DARKROOM_MAX_PIXELS (100000000)",
        ),
    ],
)
def test_invalid_values_get_messages_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, expected: str | None
) -> None:
    if expected is None:  # an empty alias is unset, not an error
        monkeypatch.setenv(env, value)
        assert load_settings().database_url == "sqlite:///./data/darkroom.db"
        return
    assert expected in invalid(monkeypatch, **{env: value})


def test_secret_values_are_never_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    message = invalid(
        monkeypatch,
        DARKROOM_DATABASE_URL="mysql://admin:hunter2@db/x",
        DARKROOM_BROKER_URL="kafka://admin:hunter3@k",
        DARKROOM_SIGNING_KEYS="short-hunter4",
        DARKROOM_WEBHOOK_SECRET="hunter5",
    )
    assert message.count("\n  - ") == 4
    for secret in ("hunter2", "hunter3", "hunter4", "hunter5"):
        assert secret not in message


def test_every_problem_is_reported_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    message = invalid(monkeypatch, PORT="0", DARKROOM_MAX_FRAMES="0", DARKROOM_BROKER_URL="x")
    lines = message.splitlines()[1:]
    assert [line.split(":")[0] for line in lines] == [
        "  - DARKROOM_BROKER_URL",
        "  - DARKROOM_PORT or PORT",
        "  - DARKROOM_MAX_FRAMES",
    ]


def test_problems_are_also_structured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DARKROOM_MAX_FRAMES", "0")
    with pytest.raises(InvalidSettings) as caught:
        load_settings()
    assert caught.value.details == ["DARKROOM_MAX_FRAMES: Input should be greater than 0 (got '0')"]
    assert isinstance(caught.value.__cause__, ValidationError)
    assert isinstance(caught.value, errors.DarkroomError)


def test_unknown_arguments_are_refused() -> None:
    with pytest.raises(InvalidSettings, match="prot: Extra inputs are not permitted"):
        load_settings(prot=8080)


# --- limits and the settings table -----------------------------------------------------


def test_default_limits_match_the_imaging_core() -> None:
    assert load_settings().limits() == DEFAULT_LIMITS


def test_limits_map_every_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_UPLOAD_SIZE", "1000")
    monkeypatch.setenv("DARKROOM_MAX_PIXELS", "2000")
    monkeypatch.setenv("DARKROOM_MAX_FRAMES", "3")
    monkeypatch.setenv("DARKROOM_MAX_ANIMATION_PIXELS", "6000")
    limits = load_settings().limits()
    assert limits == Limits(
        max_bytes=1000,
        max_pixels=2000,
        max_frames=3,
        max_animation_pixels=6000,
        input_formats=DEFAULT_INPUT_FORMATS,
    )
    assert {f.name for f in fields(Limits)} == {
        "max_bytes",
        "max_pixels",
        "max_frames",
        "max_animation_pixels",
        "input_formats",
    }


def test_enable_svg_adds_svg_and_nothing_else() -> None:
    formats = load_settings(enable_svg=True).limits().input_formats
    assert formats == DEFAULT_INPUT_FORMATS | {ImageFormat.SVG}
    assert ImageFormat.SVG not in load_settings().limits().input_formats
    assert ImageFormat.PDF not in formats


def test_settings_table_lists_every_field() -> None:
    table = settings_table()
    assert [row[0] for row in table] == [f"DARKROOM_{n.upper()}" for n in Settings.model_fields]
    assert len(table) == len(Settings.model_fields) == 57
    for name, default, description in table:
        assert name.isupper()
        assert default
        assert description.endswith("."), name
    rows = {name: (default, description) for name, default, description in table}
    assert rows["DARKROOM_PORT"] == ("8080", "TCP port of the API. Fallback: PORT (port number).")
    assert rows["DARKROOM_WORKERS"][0] == "number of CPU cores"
    assert rows["DARKROOM_MAX_UPLOAD_BYTES"][0] == "52428800"
    assert rows["DARKROOM_ENABLE_SVG"][0] == "false"
    assert rows["DARKROOM_SIGNING_KEYS"][0] == "(unset)"
    assert rows["DARKROOM_LEASE_SECONDS"][0] == "300"
    assert rows["DARKROOM_RECONCILE_INTERVAL_SECONDS"][0] == "30"
    assert rows["DARKROOM_OUTPUT_STORAGE_URL"][0] == "same as storage_url"
    assert rows["DARKROOM_STORAGE_URL"][1].endswith(
        "Fallback: UPLOAD_DIR (directory), then OUTPUT_DIR (directory, when UPLOAD_DIR is unset)."
    )


def test_every_alias_appears_in_the_table() -> None:
    descriptions = " ".join(row[2] for row in settings_table())
    for alias in ALIAS_NAMES:
        assert f"{alias} (" in descriptions


def test_env_names() -> None:
    assert env_names("storage_url") == ["DARKROOM_STORAGE_URL", "UPLOAD_DIR", "OUTPUT_DIR"]
    assert env_names("host") == ["DARKROOM_HOST"]
