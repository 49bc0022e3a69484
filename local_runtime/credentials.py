"""The local install's secrets, kept under ``var/secrets/`` (mode 0600), generated once per install.

- ``install.key``: the root secret. Every local AWS access key is derived from it (HMAC), so the runtime
  can recompute any function's key pair, map a key id back to its function, and the moto gate can check a
  signature made with any of them without a key table.
- ``control-secret``: what callers of the runtime's ``/_local/*`` routes send in ``X-Local-Runtime-Secret``.
- ``cognito-signing-key.json``: the RSA key pair the local Cognito (moto, through
  ``local_runtime.moto_server``) signs tokens with, instead of the pair bundled in the moto package.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from local_runtime.paths import VAR

SECRETS = VAR / "secrets"
CONTROL_HEADER = "X-Local-Runtime-Secret"
RUNTIME_PRINCIPAL = "local-runtime"  # the runtime itself, its CLI and the tests (the machine's operator)
ACCOUNT = "000000000000"


def _read_or_create(name: str, make: Callable[[], bytes]) -> bytes:
    """The file's bytes; created atomically with mode 0600 if absent (concurrent creators agree on one)."""
    path = SECRETS / name
    with contextlib.suppress(FileNotFoundError):
        if path.stat().st_mode & 0o077:
            path.chmod(0o600)
        return path.read_bytes()
    SECRETS.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(make())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)  # the first creator wins; the others read its file
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes()


@cache
def install_key() -> bytes:
    return bytes.fromhex(_read_or_create("install.key", lambda: secrets.token_hex(32).encode()).decode().strip())


@cache
def control_secret() -> str:
    """The secret of the ``/_local/*`` routes (send it as ``X-Local-Runtime-Secret``)."""
    return _read_or_create("control-secret", lambda: secrets.token_urlsafe(32).encode()).decode().strip()


def control_headers() -> dict[str, str]:
    """Headers a caller of ``/_local/*`` sends: the secret, and a JSON content type (POSTs need it)."""
    return {CONTROL_HEADER: control_secret(), "Content-Type": "application/json"}


def _mac(label: str, value: str) -> bytes:
    return hmac.new(install_key(), f"{label}\0{value}".encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class AwsKey:
    principal: str
    access_key_id: str
    secret_access_key: str

    def environment(self) -> dict[str, str]:
        return {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}


def access_key_id(principal: str) -> str:
    return "AKIA" + base64.b32encode(_mac("key-id", principal)).decode()[:16]


def secret_for(key_id: str) -> str | None:
    """The secret of a local access key id (any id of the install's format; only the install can sign)."""
    if not (len(key_id) == 20 and key_id.startswith("AKIA") and key_id.isalnum()):
        return None
    return base64.b64encode(_mac("secret", key_id)).decode()[:40]


def aws_key(principal: str) -> AwsKey:
    """The access key of a function (its name), a service, or the runtime (``RUNTIME_PRINCIPAL``)."""
    key_id = access_key_id(principal)
    secret = secret_for(key_id)
    assert secret is not None
    return AwsKey(principal, key_id, secret)


def role_id(principal: str) -> str:
    """The unique id of the principal's role (``AROA...``), as IAM shows it in ``userId``."""
    return "AROA" + base64.b32encode(_mac("role-id", principal)).decode()[:17]


def role_name(function: str) -> str:
    return f"{function}-role"


def role_session_arn(function: str, account: str = ACCOUNT) -> str:
    """The assumed-role ARN a function's calls are made with, as on AWS (role ``<function>-role``)."""
    return f"arn:aws:sts::{account}:assumed-role/{role_name(function)}/{function}"


def _new_signing_key() -> bytes:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(key))
    # moto's Cognito writes kid "dummy" in every token header; the JWKS it serves must carry the same kid
    jwk.update({"kid": "dummy", "alg": "RS256", "use": "sig"})
    return json.dumps(jwk).encode()


def cognito_private_jwk() -> dict[str, Any]:
    jwk: dict[str, Any] = json.loads(_read_or_create("cognito-signing-key.json", _new_signing_key))
    return jwk


def cognito_public_jwks() -> dict[str, Any]:
    private = cognito_private_jwk()
    return {"keys": [{k: private[k] for k in ("alg", "e", "kid", "kty", "n", "use")}]}


def secrets_dir() -> Path:
    return SECRETS
