"""Initial schema: images, image_variants, profiles, dead_letters, events.

Revision ID: 0001
Revises:
Create Date: 2026-11-24

Written by hand to match darkroom.db.schema; a test compares the two. Literal values are
copied rather than imported so this revision keeps meaning what it meant when written.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_STATUS_CHECK = "status IN ('pending', 'processing', 'done', 'failed')"


def _timestamp() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create every table, index and constraint of the first schema."""
    op.create_table(
        "images",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("owner_id", sa.String(255), nullable=True),
        sa.Column("original_key", sa.String(512), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("mime_type", sa.String(64), nullable=False),
        sa.Column("file_size", sa.BigInteger(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("frames", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("callback_url", sa.String(2048), nullable=True),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_images")),
        sa.CheckConstraint(_STATUS_CHECK, name=op.f("ck_images_status")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_images_idempotency_key")),
    )
    op.create_index(op.f("ix_images_original_key"), "images", ["original_key"])
    op.create_index(op.f("ix_images_sha256"), "images", ["sha256"])
    op.create_index(op.f("ix_images_owner_id_id"), "images", ["owner_id", "id"])
    op.create_index(op.f("ix_images_status_id"), "images", ["status", "id"])

    op.create_table(
        "image_variants",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("image_id", sa.String(36), nullable=False),
        sa.Column("profile", sa.String(64), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("spec_hash", sa.String(64), nullable=False),
        sa.Column("output_key", sa.String(512), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("file_size", sa.BigInteger(), nullable=True),
        sa.Column("format", sa.String(16), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error_msg", sa.Text(), nullable=True),
        sa.Column("attempt_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", _timestamp(), nullable=True),
        sa.Column("lease_until", _timestamp(), nullable=True),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_image_variants")),
        sa.UniqueConstraint("image_id", "profile", name=op.f("uq_image_variants_image_id_profile")),
        sa.CheckConstraint(_STATUS_CHECK, name=op.f("ck_image_variants_status")),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["images.id"],
            name=op.f("fk_image_variants_image_id_images"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        op.f("ix_image_variants_status_lease_until"),
        "image_variants",
        ["status", "lease_until"],
    )

    op.create_table(
        "profiles",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("updated_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_profiles")),
    )

    op.create_table(
        "dead_letters",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("image_id", sa.String(36), nullable=False),
        sa.Column("variant_id", sa.String(36), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("error_code", sa.String(64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("replayed_at", _timestamp(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    op.create_index(op.f("ix_dead_letters_image_id"), "dead_letters", ["image_id"])

    op.create_table(
        "events",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("image_id", sa.String(36), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", _timestamp(), nullable=False),
        sa.Column("delivered_at", _timestamp(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index(
        op.f("ix_events_delivered_at_next_attempt_at"),
        "events",
        ["delivered_at", "next_attempt_at"],
    )


def downgrade() -> None:
    """Drop everything the upgrade created."""
    op.drop_index(op.f("ix_events_delivered_at_next_attempt_at"), table_name="events")
    op.drop_table("events")
    op.drop_index(op.f("ix_dead_letters_image_id"), table_name="dead_letters")
    op.drop_table("dead_letters")
    op.drop_table("profiles")
    op.drop_index(op.f("ix_image_variants_status_lease_until"), table_name="image_variants")
    op.drop_table("image_variants")
    op.drop_index(op.f("ix_images_status_id"), table_name="images")
    op.drop_index(op.f("ix_images_owner_id_id"), table_name="images")
    op.drop_index(op.f("ix_images_sha256"), table_name="images")
    op.drop_index(op.f("ix_images_original_key"), table_name="images")
    op.drop_table("images")
