"""streaming-authorizer: the WebSocket API's ``$connect`` REQUEST authorizer. The user's Cognito access token
comes in ``?token=`` or, from a browser, as the subprotocol after ``mybroker.v1``; a missing, bad or expired
token raises ``Unauthorized`` (API Gateway answers the handshake 401). The context carries the account."""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from mybroker.contracts.streaming import PROTOCOL
from mybroker.streaming.tokens import CognitoVerifier, issuer_of, token_from

logger = Logger()


@cache
def verifier() -> CognitoVerifier:
    region = os.environ.get("AWS_REGION", "us-east-1")
    pool = os.environ["COGNITO_USER_POOL_ID"]
    issuer = issuer_of(region, pool)
    local = os.environ.get("AWS_ENDPOINT_URL")  # locally, the pool's JWKS is served by the local Cognito
    jwks = f"{local.rstrip('/')}/{pool}/.well-known/jwks.json" if local else f"{issuer}/.well-known/jwks.json"
    return CognitoVerifier(issuer, os.environ["COGNITO_CLIENT_ID"], jwks)


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    token = token_from(event.get("queryStringParameters"), event.get("headers"), PROTOCOL)
    claims = verifier().claims(token)
    if claims is None:
        logger.info("connection refused", extra={"had_token": token is not None})
        raise Exception("Unauthorized")
    sub = str(claims["sub"])
    return {
        "principalId": sub,
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}]},
        "context": {"accountId": sub, "username": str(claims.get("username") or sub)},
    }
