"""Cognito sign-up and login through boto3, and the per-profile token cache.

Login is USER_PASSWORD_AUTH (``initiate_auth``): the app client allows it (and SRP) both on AWS
(``infra/auth.py``) and locally. SRP would need a third-party implementation of the protocol; the password
travels over TLS to Cognito either way. Tokens are cached per profile in ``$MYBROKER_HOME/<profile>.json``
(mode 0600) and refreshed with REFRESH_TOKEN_AUTH a minute before the access token expires.

Sign-up: on AWS the user confirms with the emailed code (:meth:`Auth.confirm`); the local pool (moto) sends no
mail, so against the local stack :meth:`Auth.sign_up` confirms with ``admin_confirm_sign_up``.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from mybroker_client.config import Target, home, local_aws_key

REFRESH_MARGIN_S = 60


class AuthError(Exception):
    """Not logged in, wrong credentials, or a refused sign-up."""

    def __init__(self, message: str, code: str = "AUTH_ERROR") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Session(BaseModel):
    """One profile's state: where it talks to and who is logged in."""

    target: Target
    username: str | None = None
    access_token: str | None = None
    id_token: str | None = None
    refresh_token: str | None = None
    expires_at: float = 0.0

    @property
    def logged_in(self) -> bool:
        return bool(self.refresh_token or self.access_token)


class TokenStore:
    """``$MYBROKER_HOME/<profile>.json``, written atomically with mode 0600 (the directory 0700)."""

    def __init__(self, profile: str = "default", directory: Path | None = None) -> None:
        if not profile.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"profile names are letters, digits, - and _: {profile!r}")
        self.profile = profile
        self.directory = directory or home()

    @property
    def path(self) -> Path:
        return self.directory / f"{self.profile}.json"

    def load(self) -> Session | None:
        try:
            return Session.model_validate_json(self.path.read_text())
        except FileNotFoundError:
            return None
        except ValueError:
            return None

    def save(self, session: Session) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(session.model_dump_json(indent=1))
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def delete(self) -> bool:
        try:
            self.path.unlink()
            return True
        except FileNotFoundError:
            return False


def _cognito(target: Target) -> Any:
    kwargs: dict[str, Any] = {"region_name": target.region,
                              "config": Config(retries={"max_attempts": 3, "mode": "standard"},
                                               connect_timeout=5, read_timeout=30)}
    if target.local:
        # the local install's own key (moto refuses admin calls signed with another); never the caller's real ones
        key_id, secret = local_aws_key()
        kwargs.update(endpoint_url=target.aws_endpoint, aws_access_key_id=key_id, aws_secret_access_key=secret)
    elif not (os.environ.get("AWS_ACCESS_KEY_ID") or os.environ.get("AWS_PROFILE")):
        # sign-up and login are unauthenticated Cognito calls: no AWS credentials are needed
        from botocore import UNSIGNED

        kwargs["config"] = kwargs["config"].merge(Config(signature_version=UNSIGNED))
    return boto3.client("cognito-idp", **kwargs)


def _raise(exc: Exception) -> AuthError:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return AuthError(str(err.get("Message") or exc), str(err.get("Code") or "AUTH_ERROR"))
    return AuthError(f"cannot reach Cognito: {exc}", "UNAVAILABLE")


class Auth:
    """Cognito for one profile."""

    def __init__(self, store: TokenStore, target: Target) -> None:
        self.store = store
        self.target = target
        self._client: Any = None

    @property
    def cognito(self) -> Any:
        if self._client is None:
            self._client = _cognito(self.target)
        return self._client

    def sign_up(self, email: str, password: str) -> bool:
        """Registers the user; returns True when the account is confirmed (always locally)."""
        try:
            resp = self.cognito.sign_up(ClientId=self.target.client_id, Username=email, Password=password,
                                        UserAttributes=[{"Name": "email", "Value": email}])
            if resp.get("UserConfirmed"):
                return True
            if self.target.local:
                self.cognito.admin_confirm_sign_up(UserPoolId=self.target.user_pool_id, Username=email)
                return True
            return False
        except (ClientError, BotoCoreError) as exc:
            raise _raise(exc) from exc

    def confirm(self, email: str, code: str) -> None:
        try:
            self.cognito.confirm_sign_up(ClientId=self.target.client_id, Username=email, ConfirmationCode=code)
        except (ClientError, BotoCoreError) as exc:
            raise _raise(exc) from exc

    def login(self, username: str, password: str) -> Session:
        try:
            resp = self.cognito.initiate_auth(ClientId=self.target.client_id, AuthFlow="USER_PASSWORD_AUTH",
                                              AuthParameters={"USERNAME": username, "PASSWORD": password})
        except (ClientError, BotoCoreError) as exc:
            raise _raise(exc) from exc
        if "AuthenticationResult" not in resp:
            raise AuthError(f"Cognito asks for a challenge this client does not answer: {resp.get('ChallengeName')}",
                            "CHALLENGE_REQUIRED")
        session = self._session(username, resp["AuthenticationResult"], None)
        self.store.save(session)
        return session

    def _session(self, username: str | None, result: dict[str, Any], refresh: str | None) -> Session:
        return Session(target=self.target, username=username, access_token=result["AccessToken"],
                       id_token=result.get("IdToken"), refresh_token=result.get("RefreshToken") or refresh,
                       expires_at=time.time() + int(result.get("ExpiresIn", 3600)))

    def access_token(self, force_refresh: bool = False) -> str:
        """A valid access token for the profile, refreshed if it is about to expire."""
        session = self.store.load()
        if session is None or not session.logged_in:
            raise AuthError(f"not logged in (profile {self.store.profile}): run `mybroker login`", "NOT_LOGGED_IN")
        if session.access_token and not force_refresh and session.expires_at - REFRESH_MARGIN_S > time.time():
            return session.access_token
        if not session.refresh_token:
            raise AuthError("the session expired: run `mybroker login`", "SESSION_EXPIRED")
        try:
            resp = self.cognito.initiate_auth(ClientId=self.target.client_id, AuthFlow="REFRESH_TOKEN_AUTH",
                                              AuthParameters={"REFRESH_TOKEN": session.refresh_token})
        except ClientError as exc:
            raise AuthError(f"the session expired ({_raise(exc).message}): run `mybroker login`",
                            "SESSION_EXPIRED") from exc
        except BotoCoreError as exc:
            raise _raise(exc) from exc
        fresh = self._session(session.username, resp["AuthenticationResult"], session.refresh_token)
        self.store.save(fresh)
        assert fresh.access_token is not None
        return fresh.access_token

    def logout(self) -> bool:
        """Forgets the profile's tokens (and revokes the refresh token when Cognito supports it)."""
        session = self.store.load()
        if session is not None and session.refresh_token:
            with contextlib.suppress(ClientError, BotoCoreError):  # best effort: the local tokens go anyway
                self.cognito.revoke_token(Token=session.refresh_token, ClientId=self.target.client_id)
        return self.store.delete()


def describe(session: Session) -> dict[str, Any]:
    return {"username": session.username, "apiUrl": session.target.api_url, "local": session.target.local,
            "expiresAt": session.expires_at}


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=str)
