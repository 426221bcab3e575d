"""Outbox delivery: where each event goes, the last answer, and when delivery was given up.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add events.target, events.last_status and events.given_up_at, and an image index."""
    with op.batch_alter_table("events") as batch:
        batch.add_column(sa.Column("target", sa.String(2048), nullable=True))
        batch.add_column(sa.Column("last_status", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("given_up_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f("ix_events_image_id"), "events", ["image_id"])


def downgrade() -> None:
    """Drop what upgrade added."""
    op.drop_index(op.f("ix_events_image_id"), table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("given_up_at")
        batch.drop_column("last_status")
        batch.drop_column("target")
