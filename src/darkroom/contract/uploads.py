"""Direct uploads: where a client sends its bytes itself, before completing the upload."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from darkroom.contract._base import Out


class DirectUploadOut(Out):
    """A signed direct upload: send the file with `method` to `url` with exactly `headers`
    before `expires_at`, then POST `complete_url`."""

    id: str = Field(description="The upload's id.")
    url: str = Field(description="The store's signed URL the bytes go to, with no API key.")
    method: str = Field(description="The HTTP method to send them with: `PUT`.")
    headers: dict[str, str] = Field(
        description="Headers the request must carry exactly (the store checks them)."
    )
    expires_at: datetime = Field(description="The URL is refused from this time on.")
    complete_url: str = Field(description="POST here once the bytes are stored.")
