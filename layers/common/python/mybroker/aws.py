"""AWS clients are made here and nowhere else, so the same code runs on AWS and locally.

Locally the runtime sets ``AWS_ENDPOINT_URL`` (the moto server, or LocalStack, on port 4566), which
boto3 honours for every service; on AWS it is unset and the real endpoints are used.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3


@cache
def client(service: str) -> Any:
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return boto3.session.Session().client(service, region_name=region)
