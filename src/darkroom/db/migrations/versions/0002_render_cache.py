"""On-demand render cache index, and whether an image has alpha (for format=auto).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add images.has_alpha and the render_cache table."""
    with op.batch_alter_table("images") as batch:
        batch.add_column(
            sa.Column("has_alpha", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_table(
        "render_cache",
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("image_id", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("last_access", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_render_cache")),
    )
    op.create_index(op.f("ix_render_cache_image_id"), "render_cache", ["image_id"])
    op.create_index(op.f("ix_render_cache_last_access"), "render_cache", ["last_access"])


def downgrade() -> None:
    """Drop what upgrade added."""
    op.drop_index(op.f("ix_render_cache_last_access"), table_name="render_cache")
    op.drop_index(op.f("ix_render_cache_image_id"), table_name="render_cache")
    op.drop_table("render_cache")
    with op.batch_alter_table("images") as batch:
        batch.drop_column("has_alpha")
