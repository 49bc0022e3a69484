"""The HTTP API's events and response mapping, checked against Powertools' own models."""

import base64
import json

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model

from infra.declarations import Route
from local_runtime.http_api import Router, build_event, claim_strings, compile_route, map_result
from local_runtime.lambdas import InvokeResult, classify


def _event(**kw: object) -> dict[str, object]:
    compiled = compile_route(Route("POST", "/orders/{orderId}", "f"))
    args: dict[str, object] = dict(method="POST", raw_path="/orders/42", raw_query="a=1&a=2&b=",
                                   headers={"Content-Type": "application/json", "Cookie": "x=1; y=2",
                                            "User-Agent": "t"},
                                   body=b'{"qty": 100}', compiled=compiled, path_params={"orderId": "42"},
                                   request_id="rid", source_ip="127.0.0.1", domain="127.0.0.1:3000",
                                   claims={"sub": "u1", "cognito:groups": ["admin", "x"], "exp": 1})
    args.update(kw)
    return build_event(**args)  # type: ignore[arg-type]


def test_event_validates_against_the_powertools_v2_model() -> None:
    event = _event()
    model = APIGatewayProxyEventV2Model.model_validate(event)
    assert model.routeKey == "POST /orders/{orderId}"
    assert model.pathParameters == {"orderId": "42"}
    assert model.queryStringParameters == {"a": "1,2", "b": ""}
    assert model.cookies == ["x=1", "y=2"]
    assert model.requestContext.http.method == "POST"
    assert model.requestContext.authorizer is not None
    data = APIGatewayProxyEventV2(event)
    assert data.request_context.authorizer.jwt_claim["cognito:groups"] == "[admin x]"
    assert data.json_body == {"qty": 100}


def test_binary_bodies_are_base64_encoded() -> None:
    event = _event(headers={"content-type": "application/octet-stream"}, body=b"\x00\xff")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(str(event["body"])) == b"\x00\xff"


def test_claims_are_strings_as_api_gateway_gives_them() -> None:
    assert claim_strings({"exp": 12, "g": ["a", "b"], "s": "x"}) == {"exp": "12", "g": "[a b]", "s": "x"}


def test_router_prefers_literal_segments_and_supports_greedy_paths() -> None:
    router = Router([Route("GET", "/items/{id}", "a"), Route("GET", "/items/special", "b"),
                     Route("GET", "/files/{proxy+}", "c")])
    found = router.match("GET", "/items/special")
    assert found is not None and found[0].route.function == "b"
    found = router.match("GET", "/items/7")
    assert found is not None and found[1] == {"id": "7"}
    found = router.match("GET", "/files/a/b/c.txt")
    assert found is not None and found[1] == {"proxy": "a/b/c.txt"}
    assert router.match("POST", "/items/7") is None


def _result(payload: object, error: str | None = None) -> InvokeResult:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return InvokeResult(raw, error, 1.0, 0)


def test_response_mapping_of_payload_format_2() -> None:
    r = map_result(_result({"statusCode": 201, "headers": {"X-A": "1"}, "cookies": ["c=1"], "body": "hi"}), "r")
    assert r.status == 201 and r.body == b"hi"
    assert ("x-a", "1") in r.headers and ("set-cookie", "c=1") in r.headers and ("apigw-requestid", "r") in r.headers
    inferred = map_result(_result({"hello": "world"}), "r")
    assert inferred.status == 200 and json.loads(inferred.body) == {"hello": "world"}
    b64 = map_result(_result({"statusCode": 200, "isBase64Encoded": True,
                              "body": base64.b64encode(b"\x01").decode()}), "r")
    assert b64.body == b"\x01"


def test_function_errors_become_500_with_the_request_id() -> None:
    r = map_result(_result({"errorType": "ValueError", "errorMessage": "x"}, "ValueError"), "req-1")
    assert r.status == 500 and json.loads(r.body) == {"message": "Internal Server Error"}
    assert ("apigw-requestid", "req-1") in r.headers


def test_emulator_answers_are_classified_like_x_amz_function_error() -> None:
    assert classify(200, b'{"errorMessage": "boom", "errorType": "ValueError", "stackTrace": []}') == "ValueError"
    assert classify(200, b"Task timed out after 2.00 seconds") == "Sandbox.Timedout"
    assert classify(502, b'{"errorType":"Runtime.ExitError","errorMessage":"exit"}') == "Runtime.ExitError"
    assert classify(200, b'{"statusCode": 400, "errorType": "x", "errorMessage": "y"}') is None
    assert classify(200, b'{"ok": true}') is None
