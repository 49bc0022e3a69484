"""What every HTTP function shares: a Powertools resolver with pydantic validation and OpenAPI, the
caller's identity from the JWT authorizer, and errors as 4xx JSON with a machine-readable code."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer


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


def resolver(title: str, docs_path: str) -> APIGatewayHttpResolver:
    app = APIGatewayHttpResolver(enable_validation=True)
    app.enable_swagger(path=docs_path, title=title, version="1.0.0",
                       security_schemes={"cognito": HTTPBearer(bearerFormat="JWT")},
                       security=[{"cognito": []}])

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
