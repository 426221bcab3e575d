"""Data access for the service layer: every query Darkroom runs, as functions over a Session.

Functions never commit: the caller owns the transaction (see `engine.transaction`), so
several calls, e.g. finishing a variant and writing its completion event, commit together.
Entities come back as ORM objects (usable after commit, relationships loaded where the
docstring says so); computed results come back as frozen dataclasses. Failures are raised
as `darkroom.errors` classes: NotFound, Conflict, InvalidRequest.
"""

from __future__ import annotations

from darkroom.db._dead_letters import (
    add_dead_letter,
    get_dead_letter,
    list_dead_letters,
    mark_dead_letter_replayed,
    purge_dead_letters,
)
from darkroom.db._events import add_event, claim_due_events, mark_event_delivered, mark_event_failed
from darkroom.db._images import (
    NewVariant,
    add_variants,
    count_images_with_original,
    create_image,
    delete_image,
    find_image_by_idempotency_key,
    get_image,
    images_without_profile,
    list_images,
    lock_original,
)
from darkroom.db._pagination import Page
from darkroom.db._profiles import delete_profile, get_profile, list_profiles, put_profile
from darkroom.db._render_cache import (
    add_cache_entry,
    cache_keys_of_image,
    cache_size,
    delete_cache_entries,
    least_recently_used,
    touch_cache_entry,
)
from darkroom.db._variants import (
    ImageStatusChange,
    VariantState,
    claim_variant,
    find_stuck_variants,
    image_status_for,
    mark_variant_done,
    mark_variant_failed,
    refresh_image_status,
    release_leases,
    requeue_variant,
    retry_variant,
)

__all__ = [
    "ImageStatusChange",
    "NewVariant",
    "Page",
    "VariantState",
    "add_cache_entry",
    "add_dead_letter",
    "add_event",
    "add_variants",
    "cache_keys_of_image",
    "cache_size",
    "claim_due_events",
    "claim_variant",
    "count_images_with_original",
    "create_image",
    "delete_cache_entries",
    "delete_image",
    "delete_profile",
    "find_image_by_idempotency_key",
    "find_stuck_variants",
    "get_dead_letter",
    "get_image",
    "get_profile",
    "image_status_for",
    "images_without_profile",
    "least_recently_used",
    "list_dead_letters",
    "list_images",
    "list_profiles",
    "lock_original",
    "mark_dead_letter_replayed",
    "mark_event_delivered",
    "mark_event_failed",
    "mark_variant_done",
    "mark_variant_failed",
    "purge_dead_letters",
    "put_profile",
    "refresh_image_status",
    "release_leases",
    "requeue_variant",
    "retry_variant",
    "touch_cache_entry",
]
