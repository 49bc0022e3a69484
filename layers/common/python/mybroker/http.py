"""What every HTTP function shares: a Powertools resolver with pydantic validation and OpenAPI, the
caller's identity from the JWT authorizer, and errors as 4xx JSON with a machine-readable code.

Every refusal has one shape, ``{"code", "message", "errors": [{"field", "reason"}]}`` (``errors`` may be
empty; ``field`` is added when one field is at fault). A request body is parsed by :func:`strict_json`
before any validation: it must be a JSON object of bounded size, depth and number length (``docs/api.md``).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer

MAX_BODY_BYTES = 16 * 1024  # a request body: every body the APIs take is a small flat object
MAX_JSON_DEPTH = 8  # nested objects/arrays in a body
MAX_NUMBER_CHARS = 24  # characters in one JSON number literal (an int64 has 19 digits)

log = logging.getLogger(__name__)


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


def error_response(status: int, code: str, message: str, errors: list[dict[str, str]] | None = None,
                   **extra: Any) -> Response[str]:
    """The one error shape: ``{"code", "message", "errors": [{"field", "reason"}], ...extra}``."""
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON,
                    body=json.dumps({"code": code, "message": message, "errors": errors or [], **extra}))


class MalformedBody(DomainError):
    """A body that is not one bounded JSON object: refused before any field is looked at."""

    status = 400


class _NumberTooLong(Exception):
    pass


def _bounded(text: str) -> str:
    if len(text) > MAX_NUMBER_CHARS:
        raise _NumberTooLong(text[:12])
    return text


def _int(text: str) -> int:
    return int(_bounded(text))


def _float(text: str) -> float:
    return float(_bounded(text))


def _no_constant(name: str) -> Any:
    raise MalformedBody("MALFORMED_JSON", f"not JSON: {name} (numbers are finite)")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise MalformedBody("DUPLICATE_KEY", f"the key {key[:40]!r} appears twice in one object")
        obj[key] = value
    return obj


def _too_deep(text: str) -> bool:
    """Whether ``[`` and ``{`` nest deeper than ``MAX_JSON_DEPTH`` outside strings: one pass, no recursion (the
    parser's own recursion would raise RecursionError on 50,000 levels)."""
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def _strings(value: Any) -> Iterable[str]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def strict_json(text: str) -> dict[str, Any]:
    """A request body as the APIs take it, or :class:`MalformedBody`: at most ``MAX_BODY_BYTES`` of UTF-8 JSON
    (413 over), one object (422 for an array or a scalar), nested at most ``MAX_JSON_DEPTH`` deep, numbers of at
    most ``MAX_NUMBER_CHARS`` characters (5,000 digits would make ``int()`` raise), no NaN or Infinity, no key
    twice in an object, no unpaired surrogate in a string (400 for each)."""
    if len(text) > MAX_BODY_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
        raise MalformedBody("PAYLOAD_TOO_LARGE", f"the body exceeds {MAX_BODY_BYTES} bytes", 413)
    if _too_deep(text):
        raise MalformedBody("JSON_TOO_DEEP", f"the body nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_no_constant,
                           object_pairs_hook=_unique_keys)
    except _NumberTooLong as exc:
        raise MalformedBody("NUMBER_TOO_LONG", f"a number longer than {MAX_NUMBER_CHARS} characters "
                            f"({exc}...)") from None
    except json.JSONDecodeError as exc:
        raise MalformedBody("MALFORMED_JSON", f"not JSON: {exc.msg} at character {exc.pos}") from None
    except RecursionError:  # unreachable past the depth check; kept so no parse can ever answer 500
        raise MalformedBody("JSON_TOO_DEEP", f"the body nests deeper than {MAX_JSON_DEPTH} levels") from None
    for string in _strings(value):
        try:
            string.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedBody("MALFORMED_JSON", "a string holds an unpaired UTF-16 surrogate") from None
    if not isinstance(value, dict):
        raise MalformedBody("BODY_NOT_OBJECT", f"the body must be a JSON object, not {_json_kind(value)}", 422)
    return value


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, list):
        return "an array"
    return "a string" if isinstance(value, str) else "a number"


def _field(loc: Any) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


def resolver(title: str, docs_path: str, *, internal: bool = False,
             unavailable: Sequence[type[Exception]] = (),
             transaction: Callable[[Callable[[], Response[Any]]], Response[Any]] | None = None,
             ) -> APIGatewayHttpResolver:
    """``internal``: service-to-service routes, signed with SigV4 (AWS_IAM) instead of a Cognito JWT.
    ``unavailable``: the errors that mean a store the service needs is unreachable (503 with a code).
    ``transaction``: runs each route (validation and handler) and may run it again, as ``retry_deadlocks``
    does for a deadlock victim; what it finally raises reaches the error handlers above, so a route that
    deadlocks on every attempt is still a 503, never a 500."""
    app = APIGatewayHttpResolver(enable_validation=True, json_body_deserializer=strict_json)
    if transaction is not None:
        run = transaction

        def _in_transaction(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
            return run(lambda: next_middleware(app))

        app.use([_in_transaction])
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
        return error_response(422, "VALIDATION_ERROR", f"{first['field']}: {first['reason']}", errors=errors,
                              field=first["field"])

    @app.exception_handler(RequestUnsupportedContentType)  # type: ignore[untyped-decorator]
    def _media_type(_: RequestUnsupportedContentType) -> Response[str]:
        return error_response(415, "UNSUPPORTED_MEDIA_TYPE", "send the body as application/json")

    @app.exception_handler(UnicodeDecodeError)  # type: ignore[untyped-decorator]
    def _not_utf8(_: UnicodeDecodeError) -> Response[str]:  # a base64 body (binary content type) decoded
        return error_response(400, "MALFORMED_JSON", "the body is not UTF-8 text")

    if unavailable:
        @app.exception_handler(list(unavailable))  # type: ignore[untyped-decorator]
        def _unavailable(exc: Exception) -> Response[str]:
            log.error("a store is unreachable: %s", str(exc).splitlines()[0][:300])
            answer = error_response(503, "SERVICE_UNAVAILABLE", "the service's database is unreachable; try again "
                                    "(a write retried with the same idempotency key applies once)")
            answer.headers["Retry-After"] = "1"
            return answer

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


ASSUMED_ROLE = re.compile(r"^arn:aws[\w-]*:sts::\d{12}:assumed-role/([\w+=,.@-]+)/[\w+=,.@-]+$")


def iam_identity(event: dict[str, Any]) -> ServiceCaller | None:
    """The IAM identity of a raw payload-2.0 event, or None: no identity, a user's JWT, or an IAM principal that
    is not one of the roles in ``IAM_CALLER_ROLES`` (infra/declarations.py: the route's declared callers; on
    AWS another principal whose own policy allows execute-api:Invoke, an administrator's say, would get past
    API Gateway's IAM check)."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    iam = authorizer.get("iam") if isinstance(authorizer, dict) else None
    if not isinstance(iam, dict) or not (iam.get("accessKey") or iam.get("userArn")):
        return None
    caller = ServiceCaller(str(iam.get("accessKey") or ""), str(iam.get("accountId") or ""),
                           str(iam.get("callerId") or ""), str(iam.get("userArn") or ""))
    allowed = os.environ.get("IAM_CALLER_ROLES")
    if allowed is not None:
        role = ASSUMED_ROLE.match(caller.user_arn)
        if role is None or role.group(1) not in {r.strip() for r in allowed.split(",") if r.strip()}:
            log.warning("refused the IAM identity %s: not a declared caller", caller.user_arn[:200])
            return None
    return caller


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
