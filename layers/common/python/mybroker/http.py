"""What every HTTP function shares: a Powertools resolver with pydantic validation and OpenAPI, the
caller's identity from the JWT authorizer, and errors as 4xx JSON with a machine-readable code."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer


class DomainError(Exception):
    """A refusal the client can act on: ``code`` is stable and machine-readable."""

    status = 400

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        if status is not None:
            self.status = status


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


def error_response(status: int, code: str, message: str, **extra: Any) -> Response[str]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON,
                    body=json.dumps({"code": code, "message": message, **extra}))


def _field(loc: Any) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


def resolver(title: str, docs_path: str, *, internal: bool = False) -> APIGatewayHttpResolver:
    """``internal``: service-to-service routes, signed with SigV4 (AWS_IAM) instead of a Cognito JWT."""
    app = APIGatewayHttpResolver(enable_validation=True)
    scheme = APIKey.model_validate({"name": "Authorization", "in": APIKeyIn.header,
                                    "description": "AWS SigV4 (service execute-api)"}) \
        if internal else HTTPBearer(bearerFormat="JWT")
    name = "sigv4" if internal else "cognito"
    app.enable_swagger(path=docs_path, title=title, version="1.0.0", security_schemes={name: scheme},
                       security=[{name: []}])

    @app.exception_handler(DomainError)  # type: ignore[untyped-decorator]
    def _domain(exc: DomainError) -> Response[str]:
        return error_response(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def _invalid(exc: RequestValidationError) -> Response[str]:
        errors = [{"field": _field(e.get("loc", ())), "reason": e.get("msg", "invalid")} for e in exc.errors()]
        first = errors[0] if errors else {"field": "", "reason": "invalid request"}
        return error_response(422, "VALIDATION_ERROR", f"{first['field']}: {first['reason']}", errors=errors)

    @app.not_found
    def _not_found(_: NotFoundError) -> Response[str]:
        return error_response(404, "NOT_FOUND", "no such route")

    return app


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, from the claims API Gateway's JWT authorizer put in the event."""

    user_id: str
    username: str
    groups: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.groups


def parse_groups(value: Any) -> frozenset[str]:
    if isinstance(value, list):
        return frozenset(str(v) for v in value)
    text = str(value or "").strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return frozenset(g for g in text.replace(",", " ").split() if g)


def principal(app: APIGatewayHttpResolver) -> Principal:
    authorizer = app.current_event.request_context.authorizer
    claims: dict[str, Any] = (authorizer.jwt_claim if authorizer else None) or {}
    sub = claims.get("sub")
    if not sub:
        raise DomainError("UNAUTHENTICATED", "no authenticated caller", 401)
    return Principal(str(sub), str(claims.get("username") or claims.get("cognito:username") or sub),
                     parse_groups(claims.get("cognito:groups")))


def require_admin(app: APIGatewayHttpResolver) -> Principal:
    p = principal(app)
    if not p.is_admin:
        raise Forbidden("ADMIN_ONLY", "only members of the admin group may do this")
    return p



@dataclass(frozen=True)
class ServiceCaller:
    """Another function calling an AWS_IAM-authorized internal route (SigV4), from the identity API Gateway put
    in ``requestContext.authorizer.iam`` (the local runtime does the same after verifying the signature)."""

    access_key: str
    account_id: str
    caller_id: str
    user_arn: str


def iam_identity(event: dict[str, Any]) -> ServiceCaller | None:
    """The IAM identity of a raw payload-2.0 event, or None (no identity, or a user's JWT)."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    iam = authorizer.get("iam") if isinstance(authorizer, dict) else None
    if not isinstance(iam, dict) or not (iam.get("accessKey") or iam.get("userArn")):
        return None
    return ServiceCaller(str(iam.get("accessKey") or ""), str(iam.get("accountId") or ""),
                         str(iam.get("callerId") or ""), str(iam.get("userArn") or ""))


FORBIDDEN_MESSAGE = "an internal route: only a service signing with SigV4 may call it"


def service_caller(app: APIGatewayHttpResolver) -> ServiceCaller:
    """The IAM caller of an internal route; 403 FORBIDDEN for an event without one (a user's token included)."""
    caller = iam_identity(app.current_event.raw_event)
    if caller is None:
        raise Forbidden("FORBIDDEN", FORBIDDEN_MESSAGE)
    return caller


def refuse_unless_service(event: dict[str, Any]) -> dict[str, Any] | None:
    """For a handler of internal routes, before resolving (so before body validation): the 403 FORBIDDEN
    answer for an event without an IAM identity, else None."""
    if iam_identity(event) is not None:
        return None
    return {"statusCode": 403, "headers": {"Content-Type": content_types.APPLICATION_JSON}, "isBase64Encoded": False,
            "body": json.dumps({"code": "FORBIDDEN", "message": FORBIDDEN_MESSAGE})}
