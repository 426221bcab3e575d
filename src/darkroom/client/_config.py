"""What both clients are built from: where the server is and the keys to use."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from darkroom import __version__
from darkroom.errors import InvalidRequest

USER_AGENT = f"darkroom-client/{__version__}"


@dataclass(frozen=True)
class Config:
    """The server's base URL, the API key, the render signing key and extra headers."""

    base_url: str
    api_key: str | None = None
    signing_key: str | bytes | None = None
    extra_headers: Mapping[str, str] | None = None

    def headers(self) -> dict[str, str]:
        """The headers of every request: the key as a bearer token, and who is asking."""
        headers = {"User-Agent": USER_AGENT}
        if self.api_key is not None:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers | dict(self.extra_headers or {})

    def signing_key_or(self, key: str | bytes | None) -> str | bytes:
        """`key`, else the client's signing key, else a refusal saying which to give."""
        chosen = key if key is not None else self.signing_key
        if not chosen:
            raise InvalidRequest(
                "render_url() needs the server's signing key (the first of "
                "DARKROOM_SIGNING_KEYS): pass key=..., or signing_key= to the client."
            )
        return chosen
