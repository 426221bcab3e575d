"""/jobs: drop-in compatible with the reference Go job service.

A job is an image of the submitting key's owner: other owners' keys get 404 for it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from darkroom.api.auth import Reader, Uploader
from darkroom.api.body import decode_base64, json_limit, read_json
from darkroom.api.deps import Ctx, blocking
from darkroom.api.downloads import media_type
from darkroom.api.openapi import IMAGE_TYPES, binary, errors, header, links, request_body
from darkroom.api.request_bodies import JobRequest
from darkroom.api.schemas import job_out, job_submitted
from darkroom.contract import JobOut, JobSubmitted
from darkroom.errors import InvalidRequest
from darkroom.service import jobs

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.post(
    "",
    status_code=202,
    response_description="Accepted: the job is queued.",
    responses={
        # Not to the download: it is there only once the job is completed.
        202: {"links": links("job_id", "$response.body#/job_id", "get_job")},
        **errors(400, 401, 403, 413, 415, 422, 503),
    },
    openapi_extra=request_body(("application/json", JobRequest)),
)
async def submit_job(request: Request, ctx: Ctx, who: Uploader) -> JobSubmitted:
    """Start a job: base64 `image_data`, `operation` resize|thumbnail, sizes, `output_format`."""
    limit = ctx.limits.max_bytes
    body = await read_json(request, json_limit(limit))
    data = decode_base64(body.get("image_data"), "image_data", limit)
    job = await blocking(
        jobs.submit,
        ctx,
        data,
        operation=_string(body, "operation") or "",
        width=_size(body, "width"),
        height=_size(body, "height"),
        output_format=_string(body, "output_format"),
        owner=who.acting_owner(None),
    )
    return job_submitted(job)


@router.get("/{job_id}", responses=errors(401, 404, 503))
async def get_job(ctx: Ctx, who: Reader, job_id: str) -> JobOut:
    """The job's status and paths."""
    return job_out(await blocking(jobs.get, ctx, job_id, owner=who.owner_scope))


_ATTACHMENT = {"Content-Disposition": header('attachment; filename="{job_id}.{ext}"')}


@router.get(
    "/{job_id}/download",
    response_class=Response,
    responses={
        200: binary("The processed image.", IMAGE_TYPES, _ATTACHMENT),
        **errors(401, 404, 503),
    },
)
async def download_job(ctx: Ctx, who: Reader, job_id: str) -> Response:
    """The processed image, once the job is completed."""
    job, data = await blocking(jobs.output, ctx, job_id, owner=who.owner_scope)
    filename = f"{job.image.id}.{(job.variant.format or 'bin').replace('jpeg', 'jpg')}"
    return Response(
        data,
        media_type=media_type(job.variant.format),
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _string(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None or isinstance(value, str):
        return value
    raise InvalidRequest(f"'{name}' must be a string.")


def _size(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)  # 300.0 is a whole number in JSON
    raise InvalidRequest(f"'{name}' must be a whole number of pixels.")
