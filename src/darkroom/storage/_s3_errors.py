"""How S3Store reports S3's failures: one mapping from botocore errors to Darkroom errors."""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
)

from darkroom.errors import ConfigurationError, DarkroomError, NotFound, StorageUnavailable

_NOT_FOUND = frozenset({"NoSuchKey", "NotFound", "404"})
_TRANSIENT = frozenset(
    {
        "InternalError",
        "RequestTimeout",
        "ServiceUnavailable",
        "SlowDown",
        "Throttling",
        "ThrottlingException",
    }
)
_ACCESS_DENIED = (
    "access denied; check that the AWS credentials in use may read, write, list and delete "
    "objects in this bucket"
)
_WRONG_REGION = "the bucket is in another region; check DARKROOM_S3_REGION"
_HINTS = {
    "NoSuchBucket": "the bucket does not exist; check the bucket name in the storage URL, "
    "DARKROOM_S3_ENDPOINT_URL and DARKROOM_S3_REGION",
    "AccessDenied": _ACCESS_DENIED,
    "AllAccessDisabled": "all access to this bucket is disabled; check the bucket",
    "InvalidAccessKeyId": "the S3 server does not know the access key; check "
    "AWS_ACCESS_KEY_ID (or the AWS profile or role in use) and DARKROOM_S3_ENDPOINT_URL",
    "SignatureDoesNotMatch": "the S3 server refused the request signature; check "
    "AWS_SECRET_ACCESS_KEY (or the AWS profile or role in use)",
    "AuthorizationHeaderMalformed": _WRONG_REGION,
    "PermanentRedirect": _WRONG_REGION,
    # A HEAD request has no error body: botocore reports the bare HTTP status as the code.
    "403": _ACCESS_DENIED,
    "301": _WRONG_REGION,
}
_NO_CREDENTIALS = (
    "no usable AWS credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
    "AWS_PROFILE, or run with an instance or task role"
)


class S3Misconfigured(ConfigurationError):
    """The S3 bucket, endpoint, region or credentials are wrong: an operator must fix them."""

    code = "storage_misconfigured"
    default_message = "The S3 object storage is misconfigured."


def translate_error(
    exc: ClientError | BotoCoreError, bucket: str, key: str | None
) -> DarkroomError:
    """The Darkroom error a botocore failure of a request on `bucket` (and `key`) stands for.

    Missing key → NotFound; a bucket or credentials problem → S3Misconfigured; anything
    else (connection errors, timeouts, 5xx, throttling, and codes not anticipated here) →
    StorageUnavailable, retried within the retry policy's bounded budget.
    """
    where = f"S3 bucket {bucket!r}"
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in _NOT_FOUND and key is not None:
            return NotFound(f"No object is stored under {key!r}.")
        if code in _HINTS:
            return S3Misconfigured(f"{where}: {_HINTS[code]}.")
        if code in _TRANSIENT or status >= 500 or status == 429:
            return StorageUnavailable(f"{where} is unavailable ({code or status}).")
        subject = f"for {key!r} " if key is not None else ""
        return StorageUnavailable(f"{where} refused the request {subject}({code}, HTTP {status}).")
    if isinstance(exc, NoCredentialsError | PartialCredentialsError | CredentialRetrievalError):
        return S3Misconfigured(f"{where}: {_NO_CREDENTIALS}.")
    if isinstance(exc, ProfileNotFound):
        return S3Misconfigured(f"{where}: {exc}; check AWS_PROFILE.")
    # Connection refused or reset, timeouts, a response cut short.
    return StorageUnavailable(f"{where} is unavailable ({type(exc).__name__}).")
