"""Checking AWS Signature Version 4 on requests the local system receives (IAM routes, the moto gate).

The signature is recomputed by botocore's own signer over the request as received (only the headers the
caller signed), and compared in constant time; the request's date must be within five minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from calendar import timegm
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from botocore.auth import SIGV4_TIMESTAMP, S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

MAX_SKEW_S = 300
ALGORITHM = "AWS4-HMAC-SHA256"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Signed:
    access_key_id: str
    region: str
    service: str


class SignatureError(Exception):
    """Why a request's signature was refused (for the log; callers answer a plain 403)."""


def _parse_authorization(value: str) -> tuple[str, list[str], str]:
    if not value.startswith(ALGORITHM + " "):
        raise SignatureError("not a SigV4 Authorization header")
    fields: dict[str, str] = {}
    for part in value[len(ALGORITHM) + 1:].split(","):
        name, sep, val = part.strip().partition("=")
        if not sep or name in fields:
            raise SignatureError("malformed Authorization header")
        fields[name] = val
    try:
        return fields["Credential"], fields["SignedHeaders"].split(";"), fields["Signature"]
    except KeyError as exc:
        raise SignatureError(f"Authorization header without {exc.args[0]}") from None


def verify(method: str, url: str, headers: Mapping[str, str], body: bytes, secret_for: Callable[[str], str | None],
           *, service: str | None = None, region: str | None = None, unsigned_payload_ok: bool = False,
           now: float | None = None) -> Signed:
    """The signer of a SigV4 request, or ``SignatureError``. ``url`` is scheme, ``Host`` and the target as
    received (path still percent-encoded, query string); ``headers`` as received (any case)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    credential, signed_headers, signature = _parse_authorization(lowered.get("authorization", ""))
    scope = credential.split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise SignatureError("malformed credential scope")
    key_id, day, signed_region, signed_service, _ = scope
    if service is not None and signed_service != service:
        raise SignatureError(f"signed for service {signed_service!r}")
    if region is not None and signed_region != region:
        raise SignatureError(f"signed for region {signed_region!r}")
    if "host" not in signed_headers or "x-amz-date" not in signed_headers:
        raise SignatureError("host and x-amz-date must be signed")
    missing = [h for h in signed_headers if h not in lowered]
    if missing:
        raise SignatureError(f"signed headers missing from the request: {missing}")
    stamp = lowered["x-amz-date"]
    try:
        signed_at = timegm(time.strptime(stamp, SIGV4_TIMESTAMP))
    except ValueError:
        raise SignatureError("malformed x-amz-date") from None
    if stamp[:8] != day:
        raise SignatureError("credential date differs from x-amz-date")
    if abs((time.time() if now is None else now) - signed_at) > MAX_SKEW_S:
        raise SignatureError("request signed more than 5 minutes away from now")
    content_sha = lowered.get("x-amz-content-sha256") if "x-amz-content-sha256" in signed_headers else None
    if content_sha is not None:
        if _HEX64.match(content_sha):
            if not hmac.compare_digest(content_sha, hashlib.sha256(body).hexdigest()):
                raise SignatureError("body does not match x-amz-content-sha256")
        elif not unsigned_payload_ok:
            raise SignatureError("unsigned payloads are not accepted here")
    secret = secret_for(key_id)
    if secret is None:
        raise SignatureError("unknown access key")
    request = AWSRequest(method=method.upper(), url=url, data=body,
                         headers={h: lowered[h] for h in signed_headers})
    request.context["timestamp"] = stamp
    signer_class = S3SigV4Auth if signed_service == "s3" else SigV4Auth
    signer = signer_class(Credentials(key_id, secret), signed_service, signed_region)
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if not hmac.compare_digest(expected, signature):
        raise SignatureError("signature does not match")
    return Signed(key_id, signed_region, signed_service)


def sign(method: str, url: str, body: bytes, key_id: str, secret: str, service: str, region: str,
         headers: Mapping[str, str] | None = None) -> dict[str, str]:
    """Headers for a request signed with SigV4 by botocore (for the runtime's own calls and tests)."""
    request = AWSRequest(method=method.upper(), url=url, data=body, headers=dict(headers or {}))
    SigV4Auth(Credentials(key_id, secret), service, region).add_auth(request)
    return dict(request.headers.items())
