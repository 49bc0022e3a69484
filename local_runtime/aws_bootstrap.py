"""Creates, on the local AWS API (moto or LocalStack), what the CDK stack creates on AWS: the Cognito user
pool, its app client and the admin group, and the SSM parameters the functions read. Idempotent."""

from __future__ import annotations

import os
from typing import Any

from mybroker.aws import client

POOL_NAME = "mybroker-local"
CLIENT_NAME = "mybroker-api"
ADMIN_GROUP = "admin"
DEMO_ADMIN = ("admin@mybroker.local", "Admin-pass-123")
DEMO_TRADER = ("trader@mybroker.local", "Trader-pass-123")


def _find_pool(cognito: Any) -> str | None:
    for page in cognito.get_paginator("list_user_pools").paginate(MaxResults=60):
        for pool in page["UserPools"]:
            if pool["Name"] == POOL_NAME:
                return str(pool["Id"])
    return None


def _ensure_user(cognito: Any, pool_id: str, email: str, password: str, groups: tuple[str, ...]) -> None:
    try:
        cognito.admin_get_user(UserPoolId=pool_id, Username=email)
    except cognito.exceptions.UserNotFoundException:
        cognito.admin_create_user(UserPoolId=pool_id, Username=email, MessageAction="SUPPRESS",
                                  UserAttributes=[{"Name": "email", "Value": email},
                                                  {"Name": "email_verified", "Value": "true"}])
        cognito.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=password, Permanent=True)
    for g in groups:
        cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=g)


def bootstrap(endpoint: str, mongodb_uri: str) -> dict[str, str]:
    cognito = client("cognito-idp")
    region = cognito.meta.region_name
    pool_id = _find_pool(cognito)
    if pool_id is None:
        pool_id = cognito.create_user_pool(
            PoolName=POOL_NAME,
            UsernameAttributes=["email"],
            AutoVerifiedAttributes=["email"],
            Policies={"PasswordPolicy": {"MinimumLength": 8, "RequireUppercase": True, "RequireLowercase": True,
                                         "RequireNumbers": True, "RequireSymbols": False}},
        )["UserPool"]["Id"]
    clients = cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
    client_id = next((c["ClientId"] for c in clients if c["ClientName"] == CLIENT_NAME), None)
    if client_id is None:
        client_id = cognito.create_user_pool_client(
            UserPoolId=pool_id, ClientName=CLIENT_NAME, GenerateSecret=False,
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        )["UserPoolClient"]["ClientId"]
    try:
        cognito.get_group(UserPoolId=pool_id, GroupName=ADMIN_GROUP)
    except cognito.exceptions.ResourceNotFoundException:
        cognito.create_group(UserPoolId=pool_id, GroupName=ADMIN_GROUP, Description="manages instruments")
    _ensure_user(cognito, pool_id, *DEMO_ADMIN, groups=(ADMIN_GROUP,))
    _ensure_user(cognito, pool_id, *DEMO_TRADER, groups=())
    ssm = client("ssm")
    ssm.put_parameter(Name="/mybroker/mongodb-uri", Value=mongodb_uri, Type="SecureString", Overwrite=True)
    return {
        "region": region,
        "user_pool_id": pool_id,
        "client_id": client_id,
        "issuer": f"https://cognito-idp.{region}.amazonaws.com/{pool_id}",
        "jwks_url": f"{endpoint}/{pool_id}/.well-known/jwks.json",
        "mongodb_uri": mongodb_uri,
        "aws_endpoint": endpoint,
        "aws_backend": os.environ.get("MYBROKER_AWS_BACKEND", "moto"),
    }


def login(state: dict[str, str], email: str, password: str) -> dict[str, str]:
    """USER_PASSWORD_AUTH, as a client of the API would log in; returns the Cognito tokens."""
    resp = client("cognito-idp").initiate_auth(
        ClientId=state["client_id"], AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )
    result: dict[str, str] = resp["AuthenticationResult"]
    return result
