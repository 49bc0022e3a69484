"""Where the API and the user pool are: the local runtime (default) or a deployed stack (CDK outputs file).

Local: API ``http://127.0.0.1:3000``, pool and client ids from the runtime's ``var/local-state.json`` (found
from ``$MYBROKER_LOCAL_STATE``, the current directory and its parents, then the checkout this package lives in),
Cognito at ``http://127.0.0.1:4566`` (moto). Deployed: ``cdk deploy --outputs-file outputs.json`` gives
``{"MyBrokerB3": {"ApiUrl": ..., "UserPoolId": ..., "UserPoolClientId": ...}}``.

Per-profile state (the target and the tokens) lives in ``$MYBROKER_HOME`` (default ``~/.mybroker``), one file
per profile, mode 0600.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel

LOCAL_API = "http://127.0.0.1:3000"
LOCAL_AWS_ENDPOINT = "http://127.0.0.1:4566"
STACK_NAME = "MyBrokerB3"


class ConfigError(Exception):
    """The target could not be determined (missing state or outputs file)."""


class Target(BaseModel):
    api_url: str
    user_pool_id: str
    client_id: str
    region: str = "us-east-1"
    aws_endpoint: str | None = None  # set for the local stack only

    @property
    def local(self) -> bool:
        return self.aws_endpoint is not None


def home() -> Path:
    return Path(os.environ.get("MYBROKER_HOME") or Path.home() / ".mybroker")


def _local_state_file() -> Path:
    explicit = os.environ.get("MYBROKER_LOCAL_STATE")
    if explicit:
        return Path(explicit)
    here = Path.cwd().resolve()
    for d in (here, *here.parents, Path(__file__).resolve().parents[1]):
        candidate = d / "var" / "local-state.json"
        if candidate.is_file():
            return candidate
    raise ConfigError("no var/local-state.json found: run scripts/up (or set MYBROKER_LOCAL_STATE), "
                      "or log in with --outputs-file for a deployed stack")


def local_target(api_url: str | None = None) -> Target:
    path = _local_state_file()
    try:
        state = json.loads(path.read_text())
        return Target(api_url=(api_url or os.environ.get("MYBROKER_API_URL") or LOCAL_API).rstrip("/"),
                      user_pool_id=state["user_pool_id"], client_id=state["client_id"],
                      region=state.get("region", "us-east-1"),
                      aws_endpoint=state.get("aws_endpoint") or LOCAL_AWS_ENDPOINT)
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc


def local_control_secret() -> str:
    """The local runtime's secret for its ``/_local/*`` routes (``var/secrets/control-secret`` beside the state
    file, or ``$MYBROKER_LOCAL_SECRET``)."""
    explicit = os.environ.get("MYBROKER_LOCAL_SECRET")
    if explicit:
        return explicit
    path = _local_state_file().parent / "secrets" / "control-secret"
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read the local runtime's secret {path}: {exc}") from exc


def local_aws_key() -> tuple[str, str]:
    """The local install's AWS key for the local Cognito (moto refuses Admin* calls signed with anything else),
    derived by the checkout's ``local_runtime`` from its ``var/secrets/``."""
    try:
        from local_runtime.credentials import RUNTIME_PRINCIPAL, aws_key
    except ImportError as exc:
        raise ConfigError(f"the local stack's AWS key needs the checkout's local_runtime package: {exc}") from exc
    key = aws_key(RUNTIME_PRINCIPAL)
    return key.access_key_id, key.secret_access_key


def deployed_target(outputs_file: str | Path) -> Target:
    """From ``cdk deploy --outputs-file``: the MyBrokerB3 stack's outputs (or the only stack in the file)."""
    try:
        data = json.loads(Path(outputs_file).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {outputs_file}: {exc}") from exc
    stack = data.get(STACK_NAME) or (next(iter(data.values())) if len(data) == 1 else None)
    if not isinstance(stack, dict):
        raise ConfigError(f"{outputs_file}: no {STACK_NAME} stack outputs")
    try:
        pool = stack["UserPoolId"]
        return Target(api_url=stack["ApiUrl"].rstrip("/"), user_pool_id=pool, client_id=stack["UserPoolClientId"],
                      region=pool.split("_", 1)[0])
    except KeyError as exc:
        raise ConfigError(f"{outputs_file}: output {exc} missing (ApiUrl, UserPoolId, UserPoolClientId)") from exc
