"""The request bodies the API accepts, as pydantic models that document them in OpenAPI.

The routes read bodies themselves (streamed, size-limited, with messages that name the
field): these models describe the same rules for OpenAPI and the contract tests, and are
not used to parse requests.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, RootModel
from pydantic.json_schema import SkipJsonSchema

from darkroom.analysis.registry import ANALYSES
from darkroom.imaging.spec import MAX_DIMENSION

Base64 = Annotated[
    str,
    Field(
        min_length=1,
        json_schema_extra={"contentEncoding": "base64"},
        description="Image bytes in base64 (standard or URL-safe, padding optional); "
        "a data: URL is accepted too.",
    ),
]
ProfileList = Annotated[list[Annotated[str, Field(min_length=1)]], Field(description="Names.")]
SomeProfiles = Annotated[ProfileList, Field(min_length=1)]
# At least one name once split on commas: the same test the route applies.
ProfileCsv = Annotated[str, Field(pattern=r"[^,\s]", description="Comma-separated profile names.")]
_ANALYSIS = "|".join(ANALYSES)
AnalysisName = Literal["colors", "faces", "labels", "logos", "nsfw", "ocr"]
AnalysisList = Annotated[list[AnalysisName], Field(description="Analysis names.")]
AnalysisCsv = Annotated[
    str,
    Field(
        pattern=rf"^\s*({_ANALYSIS})\s*(,\s*({_ANALYSIS})\s*)*$",
        description="Comma-separated analysis names.",
    ),
]
MaybeAnalysisCsv = Annotated[
    str,
    Field(
        pattern=rf"^(\s*({_ANALYSIS})\s*(,\s*({_ANALYSIS})\s*)*)?$",
        description="Comma-separated analysis names.",
    ),
]
OwnerId = Annotated[str, Field(max_length=255, description="Any id of yours, to list by.")]
CallbackUrl = Annotated[
    str, Field(max_length=2048, description="Where to post the result (webhooks: to come).")
]


def _one_of(schema: dict[str, Any]) -> None:
    # pydantic writes a plain union as anyOf; these alternatives exclude each other.
    schema["oneOf"] = schema.pop("anyOf")


class UploadForm(BaseModel):
    """A multipart/form-data upload: the image in `file`, options as text fields."""

    file: bytes = Field(
        json_schema_extra={"format": "binary"}, description="The image; its format is sniffed."
    )
    profiles: str | SkipJsonSchema[None] = Field(
        None,
        description="Comma-separated profile names; every profile when absent, none when empty.",
    )
    analyses: MaybeAnalysisCsv | SkipJsonSchema[None] = Field(
        None,
        description="Comma-separated analyses (colors, faces, labels, logos, nsfw, ocr); the "
        "deployment's defaults when absent, none when empty.",
    )
    owner_id: OwnerId | SkipJsonSchema[None] = None
    callback_url: CallbackUrl | SkipJsonSchema[None] = None


class _UploadOptions(BaseModel):
    profiles: ProfileList | str | None = Field(
        None,
        description="Profile names, as a list or comma-separated; every profile when null, "
        "none when empty.",
    )
    analyses: AnalysisList | MaybeAnalysisCsv | None = Field(
        None,
        description="Analyses (colors, faces, labels, logos, nsfw, ocr), as a list or "
        "comma-separated; the deployment's defaults when null, none when empty.",
    )
    owner_id: OwnerId | None = None
    callback_url: CallbackUrl | None = None


class UploadData(_UploadOptions):
    """A JSON upload of the image's bytes in base64."""

    model_config = ConfigDict(json_schema_extra={"not": {"required": ["url"]}})

    data: Base64


class UploadUrl(_UploadOptions):
    """A JSON upload by URL: the image is fetched (http or https, public addresses only)."""

    model_config = ConfigDict(json_schema_extra={"not": {"required": ["data"]}})

    url: str = Field(
        max_length=8192,
        json_schema_extra={"format": "uri"},
        description="An absolute http(s) URL without credentials.",
    )


class DirectUploadJson(_UploadOptions):
    """A direct upload: what the client will PUT to the store, and what to make of it."""

    content_type: str = Field(
        min_length=1,
        max_length=64,
        description="The file's media type, e.g. `image/jpeg`; the PUT must send it.",
    )
    bytes: int = Field(ge=1, description="The file's exact size; the PUT must send exactly this.")
    filename: str | None = Field(None, max_length=255, description="The file's name, for logs.")


class UploadJson(RootModel[UploadData | UploadUrl]):
    """A JSON upload: exactly one of `data` (base64) or `url`."""

    model_config = ConfigDict(json_schema_extra=_one_of)


class AddVariants(BaseModel):
    """More profiles for an existing image."""

    profiles: SomeProfiles | ProfileCsv = Field(
        description="Profile names, as a list or comma-separated."
    )


class LogoForm(BaseModel):
    """A reference logo: its image in `file` (any format uploads accept)."""

    file: bytes = Field(
        json_schema_extra={"format": "binary"},
        description="The logo, cut close, as large and sharp as you have it.",
    )


class AddAnalyses(BaseModel):
    """More analyses for an existing image."""

    analyses: Annotated[AnalysisList, Field(min_length=1)] | AnalysisCsv = Field(
        description="Analysis names, as a list or comma-separated."
    )


Side = Annotated[int, Field(ge=1, le=MAX_DIMENSION, description="Pixels.")]


class _Job(BaseModel):
    image_data: Base64
    output_format: Literal["jpeg", "png"] | None = Field(
        None, description="jpeg or png; the input's format when null."
    )


class ResizeJob(_Job):
    """Resize to exactly width x height (the aspect ratio is not kept)."""

    operation: Literal["resize"]
    width: Side
    height: Side


class ThumbnailJob(_Job):
    """Fit inside width x height, keeping the aspect ratio."""

    operation: Literal["thumbnail"]
    width: Side | None = None
    height: Side | None = None


class JobRequest(RootModel[Annotated[ResizeJob | ThumbnailJob, Field(discriminator="operation")]]):
    """A job of the reference job service."""


MODELS: tuple[type[BaseModel], ...] = (
    UploadForm,
    UploadJson,
    AddVariants,
    AddAnalyses,
    LogoForm,
    JobRequest,
    DirectUploadJson,
)
"""Every request body model, for the OpenAPI components."""

assert set(get_args(AnalysisName)) == set(ANALYSES), "AnalysisName must list every analysis"
