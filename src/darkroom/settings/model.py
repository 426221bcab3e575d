"""The settings themselves: every setting with its default, validation and description.

Each is read from `DARKROOM_<NAME>`; a few also fall back to the variables of the reference
job service (`ENV_ALIASES`). `loading.load_settings` reads and validates them.
"""

from __future__ import annotations

import os

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from darkroom.imaging.encode import Encoding
from darkroom.imaging.formats import ImageFormat
from darkroom.imaging.limits import DEFAULT_INPUT_FORMATS, Limits
from darkroom.settings.aliases import ENV_PREFIX, AliasSource
from darkroom.settings.types import (
    MIN_SECRET_LENGTH,
    AnalysisNames,
    BrokerUrl,
    DatabaseUrl,
    HexSecret,
    HostPatterns,
    HttpUrl,
    LogFormat,
    LogLevel,
    ModelPaths,
    QueuePrefix,
    RedisUrl,
    Secret,
    Secrets,
    StorageUrl,
)


def usable_cpus() -> int:
    """The cores this process may run on (a container or taskset may grant fewer)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class Settings(BaseSettings):
    """Every setting of a Darkroom process; build it with `load_settings()`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_ignore_empty=True,
        extra="forbid",
        frozen=True,
        hide_input_in_errors=True,
        validate_default=True,
    )

    database_url: DatabaseUrl = Field(
        default="sqlite:///./data/darkroom.db",
        description="Database: sqlite:///path/to/file.db (embedded) or "
        "postgresql://user:password@host/dbname (scale-out).",
    )
    storage_url: StorageUrl = Field(
        default="file://./data/objects",
        description="Object storage for originals: file://relative/dir, file:///absolute/dir "
        "or s3://bucket/prefix.",
    )
    output_storage_url: StorageUrl | None = Field(
        default=None,
        description="Object storage for variants and cached renders, if not storage_url.",
        json_schema_extra={"default_text": "same as storage_url"},
    )
    broker_url: BrokerUrl = Field(
        default="memory://",
        description="Message broker: memory:// runs the queue in this process; amqp:// "
        "(RabbitMQ) or redis:// to share work between processes.",
    )
    host: str = Field(default="127.0.0.1", min_length=1, description="Address the API binds.")
    port: int = Field(default=8080, ge=1, le=65535, description="TCP port of the API.")
    workers: int = Field(
        default_factory=usable_cpus,
        gt=0,
        description="Transform worker threads in this process.",
        json_schema_extra={"default_text": "number of CPU cores"},
    )
    queue_prefix: QueuePrefix = Field(
        default="",
        description="Prefix of every queue name, so deployments can share one broker.",
    )
    reconcile_interval_seconds: float = Field(
        default=30,
        gt=0,
        description="How often stuck variants are looked for and re-enqueued.",
    )
    lease_seconds: int = Field(
        default=300,
        gt=0,
        description="How long a worker owns a claimed variant before it counts as stuck.",
    )
    job_ttl_seconds: float | None = Field(
        default=None,
        gt=0,
        description="A variant or analysis whose message waited in the queue longer than "
        "this is failed (job_expired, dead-lettered, counted in darkroom_jobs_expired_total) "
        "instead of being worked on late. Unset: never.",
    )
    worker_presigned: bool = Field(
        default=False,
        description="Put presigned URLs of the original and of each output into every "
        "transform and analysis message, so workers need no storage credentials (S3 only). "
        "Set on the API and on the processes that dispatch and reconcile.",
    )
    shutdown_timeout_seconds: float = Field(
        default=30,
        gt=0,
        description="On SIGTERM, how long in-flight transforms may run before exit.",
    )
    max_upload_bytes: int = Field(
        default=50 * 1024 * 1024,
        gt=0,
        description="Largest accepted input in bytes (upload, base64 body or fetched URL).",
    )
    max_pixels: int = Field(
        default=100_000_000,
        gt=0,
        description="Largest accepted frame in pixels (width x height).",
    )
    max_frames: int = Field(
        default=256, gt=0, description="Most frames or pages accepted in one input."
    )
    max_animation_pixels: int = Field(
        default=500_000_000,
        gt=0,
        description="Largest accepted input in pixels across all its frames.",
    )
    enable_svg: bool = Field(
        default=False,
        description="Accept SVG input; it is rendered by an external engine, so only "
        "enable it for trusted sources.",
    )
    url_fetch_allow_hosts: HostPatterns = Field(
        default=(),
        description="Comma-separated hosts that URL ingestion may fetch even when they "
        "resolve to private, loopback or link-local addresses: host names, *.domain "
        "patterns or IP addresses.",
    )
    url_fetch_timeout_seconds: float = Field(
        default=10, gt=0, description="Connect and read timeout of URL ingestion."
    )
    render_allow_hosts: HostPatterns = Field(
        default=(),
        description="Comma-separated origins that on-demand render may fetch remote sources "
        "from (GET /v1/render?url=...): host names, *.domain patterns or IP addresses, each "
        "allowing the default ports (80, 443) only unless written host:port. Empty: remote "
        "sources are off.",
    )
    render_cache: bool = Field(
        default=True,
        description="Keep on-demand renders in object storage (cache/...) and serve repeats "
        "from there; 0 turns the cache off (benchmarks, debugging).",
    )
    cache_max_bytes: int = Field(
        default=10 * 1024**3,
        gt=0,
        description="Size cap of the render cache; the least recently served renders go first.",
    )
    render_source_cache_bytes: int = Field(
        default=256 * 1024**2,
        ge=0,
        description="Memory per API process for the originals of on-demand renders, so that "
        "repeat renders of an image neither fetch nor copy it again; 0 turns it off.",
    )
    upload_handoff_bytes: int = Field(
        default=128 * 1024**2,
        ge=0,
        description="Memory for uploads decoded once to verify them and handed, decoded, to "
        "this process's own workers (serve with the in-process queue); 0 turns it off.",
    )
    render_concurrency: int = Field(
        default_factory=lambda: 2 * usable_cpus(),
        gt=0,
        description="On-demand renders running at once in this process. Two per core keeps "
        "the cores busy while a render is in one of its single-threaded phases (encoding).",
        json_schema_extra={"default_text": "2 x CPU cores"},
    )
    render_queue_limit: int = Field(
        default=64,
        ge=0,
        description="On-demand renders that may wait for a slot; beyond it the API answers "
        "503 with Retry-After instead of queueing without bound.",
    )
    default_analyses: AnalysisNames = Field(
        default=(),
        description="Comma-separated analyses run on every upload that asks for none "
        "(colors, faces, labels, logos, nsfw, ocr); each needs its extra installed.",
    )
    analysis_models: ModelPaths = Field(
        default_factory=dict,
        description="Model files of your own instead of the packaged ones, for labels, nsfw, "
        "ocr (its recogniser) and background (removal): comma-separated "
        "name=/path/to/model.onnx, each of the same architecture and inputs.",
        json_schema_extra={"default_text": "(packaged models)"},
    )
    nsfw_threshold: float = Field(
        default=0.8,
        ge=0,
        le=1,
        description="NSFW score from which the nsfw analysis flags an image (nsfw: true).",
    )
    avif_effort: int = Field(
        default=0,
        ge=0,
        le=9,
        description="AVIF encoder effort, 0 (fastest) to 9: 0 takes a third of 2's time for "
        "~4% more bytes; libvips' default 4 takes 7-25x as long for ~10% fewer bytes.",
    )
    webp_effort: int = Field(
        default=4,
        ge=0,
        le=6,
        description="WebP encoder effort, 0 (fastest) to 6: 2 takes half the time of 4 for "
        "~3% more bytes.",
    )
    vips_threads: int = Field(
        default=1,
        gt=0,
        description="libvips threads per image pipeline (its VIPS_CONCURRENCY), as imgproxy "
        "sets it: renders and variants already run side by side, one pipeline each, and a "
        "pool per pipeline only adds hand-offs between threads (a PNG render's throughput "
        "rose 5-8% with 1). More make one large render alone on an idle machine finish sooner.",
    )
    render_heavy_concurrency: int = Field(
        default_factory=lambda: max(1, usable_cpus() // 2),
        gt=0,
        description="Heavy on-demand renders (big outputs, long animations, large blurs, "
        "estimated from the header) running at once; they wait in their own lane so that "
        "cheap renders keep flowing beside them.",
        json_schema_extra={"default_text": "half the CPU cores, at least 1"},
    )
    render_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Wall-clock budget of one render (on demand or a variant); libvips is "
        "stopped when it runs out and the render fails with 503 render_timeout (a variant "
        "is retried, then dead-lettered).",
    )
    signing_keys: Secrets = Field(
        default=(),
        description=f"Comma-separated HMAC keys of signed render URLs (at least "
        f"{MIN_SECRET_LENGTH} characters each); the first signs, every one verifies.",
    )
    allow_unsigned: bool = Field(
        default=False,
        description="Serve render URLs without a signature; for development only.",
    )
    thumbor_key: SecretStr | None = Field(
        default=None,
        description="thumbor's security key: /thumbor/ URLs signed with it (HMAC-SHA1) render.",
    )
    thumbor_allow_unsafe: bool = Field(
        default=False,
        description="Serve /thumbor/unsafe/... URLs (no signature); for development only.",
    )
    imgproxy_key: HexSecret | None = Field(
        default=None,
        description="imgproxy's hex key: /imgproxy/ URLs signed with it and the salt render.",
    )
    imgproxy_salt: HexSecret | None = Field(
        default=None, description="imgproxy's hex salt, prefixed to the signed path."
    )
    imgproxy_allow_insecure: bool = Field(
        default=False,
        description="Serve /imgproxy/insecure/... URLs (no signature); for development only.",
    )
    webhook_secret: Secret | None = Field(
        default=None,
        description=f"HMAC key of webhook bodies (at least {MIN_SECRET_LENGTH} characters).",
    )
    console_secret: Secret | None = Field(
        default=None,
        description=f"HMAC key of the web console's session cookies (at least "
        f"{MIN_SECRET_LENGTH} characters); unset, each process picks a random one, so "
        "sessions end with it and work only against the process that opened them.",
    )
    webhook_allow_hosts: HostPatterns = Field(
        default=(),
        description="Comma-separated hosts that callback_url may name even when they resolve "
        "to private, loopback or link-local addresses: host names, *.domain patterns or IP "
        "addresses.",
    )
    webhook_timeout_seconds: float = Field(
        default=10,
        gt=0,
        description="How long a webhook receiver has to answer before the attempt counts as "
        "failed and is retried.",
    )
    rate_limit: float | None = Field(
        default=None,
        gt=0,
        description="Requests a second allowed per API key (and per client address for "
        "signed renders), in bursts of twice that (at least one request); beyond it the "
        "answer is 429 with Retry-After. Unset: no limit.",
    )
    redis_url: RedisUrl | None = Field(
        default=None,
        description="redis:// URL where API processes share their rate-limit buckets; unset: "
        "each process counts alone.",
    )
    cdn_purge_base: HttpUrl | None = Field(
        default=None,
        description="Public base URL of the CDN in front of Darkroom (https://img.example.com): "
        "when an image's bytes change or go, each of its URLs under it gets an HTTP PURGE, "
        "unless cdn_purge_endpoint is set.",
    )
    cdn_purge_endpoint: HttpUrl | None = Field(
        default=None,
        description='URL that receives purges as a POST of {"urls": [...]} (URLs under '
        "cdn_purge_base, or bare paths without it), for CDNs purged through an API.",
    )
    outbox_interval_seconds: float = Field(
        default=1,
        gt=0,
        description="How often each serve or worker process looks for webhooks due for delivery.",
    )
    s3_endpoint_url: HttpUrl | None = Field(
        default=None,
        description="S3 API endpoint of an S3-compatible store (MinIO, R2...); unset for AWS.",
    )
    s3_region: str | None = Field(default=None, description="S3 region of the bucket.")
    redirect_downloads: bool = Field(
        default=False,
        description="Answer variant downloads with a 302 to the store's own (presigned) URL "
        "instead of streaming the bytes through the API, when the store has such URLs (S3).",
    )
    metrics_require_key: bool = Field(
        default=False,
        description="Require an admin API key for GET /metrics (once any key exists); off, "
        "Prometheus scrapes it without one.",
    )
    log_level: LogLevel = Field(
        default="info", description="critical, error, warning, info or debug."
    )
    log_format: LogFormat = Field(
        default="auto",
        description="json (one object per line), console (readable text), or auto: console "
        "on a terminal, json otherwise.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Explicit arguments, then DARKROOM_ variables, then the aliases."""
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            AliasSource(settings_cls),
            file_secret_settings,
        )

    @model_validator(mode="after")
    def _check_pixel_limits(self) -> Settings:
        # One frame is an animation too: a lower total would silently lower max_pixels.
        if self.max_animation_pixels < self.max_pixels:
            raise ValueError(
                f"{ENV_PREFIX}MAX_ANIMATION_PIXELS ({self.max_animation_pixels}) must be at "
                f"least {ENV_PREFIX}MAX_PIXELS ({self.max_pixels})"
            )
        return self

    @property
    def outputs_url(self) -> str:
        """Where variants and cached renders are stored."""
        return self.output_storage_url or self.storage_url

    def encoding(self) -> Encoding:
        """The encoder efforts the imaging core uses, as configured."""
        return Encoding(avif_effort=self.avif_effort, webp_effort=self.webp_effort)

    def limits(self) -> Limits:
        """The input limits the imaging core enforces, as configured."""
        formats = DEFAULT_INPUT_FORMATS
        if self.enable_svg:
            formats = formats | {ImageFormat.SVG}
        return Limits(
            max_bytes=self.max_upload_bytes,
            max_pixels=self.max_pixels,
            max_frames=self.max_frames,
            max_animation_pixels=self.max_animation_pixels,
            input_formats=formats,
        )
