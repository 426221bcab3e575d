"""The relational schema of Darkroom, portable between SQLite and PostgreSQL 15."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# The state of images, variants and analyses is the wire contract's enum: one set of values.
from darkroom.contract import Status as Status
from darkroom.db.ids import new_id

# Every constraint gets a predictable name, so migrations can address it on both backends
# (SQLite batch migrations rebuild tables and need names to find constraints again).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time as a timezone-aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware timestamp that is always stored and returned in UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Refuse naive datetimes and normalise to UTC before storing."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: Darkroom stores timezone-aware UTC timestamps")
        value = value.astimezone(UTC)
        # SQLite keeps timestamps as text without an offset; storing every value in one
        # zone makes text order equal time order, so comparisons in SQL stay correct.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return every timestamp as an aware UTC datetime, whatever the backend gave."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _status_type() -> sa.Enum:
    # A plain VARCHAR (no native PG enum) so a new state never needs a type migration.
    return sa.Enum(
        Status,
        native_enum=False,
        create_constraint=False,
        length=16,
        values_callable=lambda enum: [member.value for member in enum],
        validate_strings=True,
    )


def _status_check() -> sa.CheckConstraint:
    values = ", ".join(f"'{member.value}'" for member in Status)
    return sa.CheckConstraint(f"status IN ({values})", name="status")


class Base(DeclarativeBase):
    """Declarative base carrying the shared metadata, naming convention and type map."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: sa.JSON(),
    }


class _Timestamps:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Image(_Timestamps, Base):
    """One uploaded original and its overall processing state."""

    __tablename__ = "images"
    __table_args__ = (
        sa.Index("ix_images_owner_id_id", "owner_id", "id"),
        sa.Index("ix_images_status_id", "status", "id"),
        _status_check(),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    owner_id: Mapped[str | None] = mapped_column(sa.String(255))
    # Indexed: originals are content-addressed and shared, and deleting an image must
    # count the other images still using its original.
    original_key: Mapped[str] = mapped_column(sa.String(512), index=True)
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    mime_type: Mapped[str] = mapped_column(sa.String(64))
    file_size: Mapped[int] = mapped_column(sa.BigInteger)
    width: Mapped[int] = mapped_column(sa.Integer)
    height: Mapped[int] = mapped_column(sa.Integer)
    frames: Mapped[int] = mapped_column(sa.Integer, default=1, server_default=sa.text("1"))
    has_alpha: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    status: Mapped[Status] = mapped_column(_status_type(), default=Status.PENDING)
    error: Mapped[str | None] = mapped_column(sa.Text)
    callback_url: Mapped[str | None] = mapped_column(sa.String(2048))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(255), unique=True)

    # lazy="raise": every load of variants is explicit, so a detached Image handed to the
    # service layer never triggers a hidden query (or a DetachedInstanceError) later.
    variants: Mapped[list[ImageVariant]] = relationship(
        back_populates="image",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise",
        order_by="ImageVariant.profile",
    )
    analyses: Mapped[list[ImageAnalysis]] = relationship(
        back_populates="image",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise",
        order_by="ImageAnalysis.analysis",
    )


class ImageVariant(_Timestamps, Base):
    """One output of an image under a named profile, and the work state that produces it."""

    __tablename__ = "image_variants"
    __table_args__ = (
        sa.UniqueConstraint("image_id", "profile"),
        sa.Index("ix_image_variants_status_lease_until", "status", "lease_until"),
        _status_check(),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    image_id: Mapped[str] = mapped_column(
        sa.String(36), sa.ForeignKey("images.id", ondelete="CASCADE")
    )
    profile: Mapped[str] = mapped_column(sa.String(64))
    spec: Mapped[dict[str, Any]]
    spec_hash: Mapped[str] = mapped_column(sa.String(64))
    output_key: Mapped[str | None] = mapped_column(sa.String(512))
    width: Mapped[int | None] = mapped_column(sa.Integer)
    height: Mapped[int | None] = mapped_column(sa.Integer)
    file_size: Mapped[int | None] = mapped_column(sa.BigInteger)
    format: Mapped[str | None] = mapped_column(sa.String(16))
    status: Mapped[Status] = mapped_column(_status_type(), default=Status.PENDING)
    error_msg: Mapped[str | None] = mapped_column(sa.Text)
    attempt_count: Mapped[int] = mapped_column(sa.Integer, default=0, server_default=sa.text("0"))
    next_attempt_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]

    image: Mapped[Image] = relationship(back_populates="variants", lazy="raise")


class ImageAnalysis(_Timestamps, Base):
    """One analysis of an image (OCR, faces, ...), its result, and the work state behind it.

    Worked on like a variant: the same claims, leases, retries and dead letters, and the
    image is done only when its variants and its analyses are.
    """

    __tablename__ = "image_analyses"
    __table_args__ = (
        sa.UniqueConstraint("image_id", "analysis"),
        sa.Index("ix_image_analyses_status_lease_until", "status", "lease_until"),
        _status_check(),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    image_id: Mapped[str] = mapped_column(
        sa.String(36), sa.ForeignKey("images.id", ondelete="CASCADE")
    )
    analysis: Mapped[str] = mapped_column(sa.String(32))
    result: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON())
    model_name: Mapped[str | None] = mapped_column(sa.String(128))
    model_version: Mapped[str | None] = mapped_column(sa.String(64))
    duration_ms: Mapped[int | None] = mapped_column(sa.Integer)
    status: Mapped[Status] = mapped_column(_status_type(), default=Status.PENDING)
    error_msg: Mapped[str | None] = mapped_column(sa.Text)
    attempt_count: Mapped[int] = mapped_column(sa.Integer, default=0, server_default=sa.text("0"))
    next_attempt_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]

    image: Mapped[Image] = relationship(back_populates="analyses", lazy="raise")


class Profile(_Timestamps, Base):
    """A named, versioned transformation spec that uploads can request."""

    __tablename__ = "profiles"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    spec: Mapped[dict[str, Any]]
    version: Mapped[int] = mapped_column(sa.Integer, default=1, server_default=sa.text("1"))


class Logo(_Timestamps, Base):
    """A reference logo the logos analysis looks for: its name and its stored image."""

    __tablename__ = "logos"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    image_key: Mapped[str] = mapped_column(sa.String(512))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    mime_type: Mapped[str] = mapped_column(sa.String(64))
    file_size: Mapped[int] = mapped_column(sa.BigInteger)
    width: Mapped[int] = mapped_column(sa.Integer)
    height: Mapped[int] = mapped_column(sa.Integer)
    features: Mapped[int] = mapped_column(sa.Integer)
    """How many distinct features the logo has: the more, the surer a find."""


class DirectUpload(Base):
    """A direct upload: signed for a client to PUT its bytes to the store, then completed
    into an image, or swept once expired."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    owner_id: Mapped[str | None] = mapped_column(sa.String(255))
    object_key: Mapped[str] = mapped_column(sa.String(512))
    filename: Mapped[str | None] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(64))
    declared_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    request: Mapped[dict[str, Any]]
    """What to make of the image: profiles, analyses, callback_url."""
    image_id: Mapped[str | None] = mapped_column(sa.String(36))
    """The image the upload became, once completed."""
    expires_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeadLetter(Base):
    """Work that failed for good: what, why, and whether an operator replayed it."""

    __tablename__ = "dead_letters"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(sa.String(32))
    image_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    variant_id: Mapped[str | None] = mapped_column(sa.String(36))
    reason: Mapped[str] = mapped_column(sa.Text)
    error_code: Mapped[str] = mapped_column(sa.String(64))
    attempts: Mapped[int] = mapped_column(sa.Integer)
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    replayed_at: Mapped[datetime | None]


class Event(Base):
    """An outbox entry: an event, and its delivery to `target` (None: recorded only)."""

    __tablename__ = "events"
    __table_args__ = (
        sa.Index("ix_events_delivered_at_next_attempt_at", "delivered_at", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(sa.String(64))
    image_id: Mapped[str] = mapped_column(sa.String(36), index=True)
    payload: Mapped[dict[str, Any]]
    target: Mapped[str | None] = mapped_column(sa.String(2048))
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0, server_default=sa.text("0"))
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]
    last_status: Mapped[int | None] = mapped_column(sa.Integer)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    given_up_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """A bearer key: only its SHA-256 is stored; it acts for one owner with one role."""

    __tablename__ = "api_keys"
    __table_args__ = (sa.CheckConstraint("role IN ('read', 'upload', 'admin')", name="role"),)

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=new_id)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))
    """The key's first characters, shown in listings so that people can tell keys apart."""
    owner_id: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class RenderCacheEntry(Base):
    """One cached on-demand render: where it is stored, how big, when last served."""

    __tablename__ = "render_cache"

    key: Mapped[str] = mapped_column(sa.String(512), primary_key=True)
    image_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    size: Mapped[int] = mapped_column(sa.BigInteger)
    last_access: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
