"""/jobs: drop-in compatible with the reference Go job service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from darkroom.api.body import decode_base64, json_limit, read_json
from darkroom.api.deps import Ctx, blocking
from darkroom.api.views import isotime, media_type
from darkroom.errors import InvalidRequest
from darkroom.service import jobs

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.post("", status_code=202)
async def submit_job(request: Request, ctx: Ctx) -> JSONResponse:
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
    )
    return JSONResponse(
        {"job_id": job.image.id, "status": job.status, "message": "Image processing job submitted"},
        status_code=202,
    )


@router.get("/{job_id}")
async def get_job(ctx: Ctx, job_id: str) -> dict[str, Any]:
    """The job's status and paths."""
    job = await blocking(jobs.get, ctx, job_id)
    spec = job.variant.spec
    return {
        "id": job.image.id,
        "status": job.status,
        "operation": job.operation,
        "width": spec.get("width"),
        "height": spec.get("height"),
        "input_path": job.image.original_key,
        "output_path": job.variant.output_key or "",
        "error": job.variant.error_msg,
        "created_at": isotime(job.image.created_at),
        "updated_at": isotime(job.variant.updated_at),
    }


@router.get("/{job_id}/download")
async def download_job(ctx: Ctx, job_id: str) -> Response:
    """The processed image, once the job is completed."""
    job, data = await blocking(jobs.output, ctx, job_id)
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
    raise InvalidRequest(f"'{name}' must be a whole number of pixels.")
