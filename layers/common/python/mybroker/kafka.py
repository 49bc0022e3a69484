"""Kafka producers from the settings, the one way every function connects.

Locally: PLAINTEXT to 127.0.0.1:9092. On AWS the stack sets ``KAFKA_SECURITY_PROTOCOL=SASL_SSL``: SCRAM-SHA-512
credentials (``{"username", "password"}``) and the broker's private CA (a PEM) come from Secrets Manager
(``KAFKA_SASL_SECRET_ARN``, ``KAFKA_CA_SECRET_ARN`` as ``{"certificate": pem}``) when a Kafka event source
mapping exists, otherwise from free SSM parameters (``KAFKA_SASL_PARAMETER``, ``KAFKA_CA_PARAMETER``), as
``infra/compute.py`` wires them. The broker's certificate names its private IP, so hostnames are checked.
"""

from __future__ import annotations

import json
import ssl
from functools import cache
from typing import Any

from mybroker.settings import Settings, settings


@cache
def _secret(arn: str) -> str:
    from mybroker.aws import client

    return str(client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])


@cache
def _parameter(name: str) -> str:
    from mybroker.aws import client

    return str(client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])


def _scram(s: Settings) -> tuple[str, str]:
    if s.kafka_sasl_secret_arn:
        raw = _secret(s.kafka_sasl_secret_arn)
    elif s.kafka_sasl_parameter:
        raw = _parameter(s.kafka_sasl_parameter)
    else:
        raise RuntimeError("Kafka SASL: set KAFKA_SASL_SECRET_ARN or KAFKA_SASL_PARAMETER")
    creds = json.loads(raw)
    return str(creds["username"]), str(creds["password"])


def _ca(s: Settings) -> str | None:
    if s.kafka_ca_secret_arn:
        return str(json.loads(_secret(s.kafka_ca_secret_arn))["certificate"])
    if s.kafka_ca_parameter:
        return _parameter(s.kafka_ca_parameter)
    return None  # the system's trust store


def client_config(s: Settings | None = None) -> dict[str, Any]:
    """kafka-python connection settings (bootstrap servers, security protocol, SASL, TLS)."""
    s = s or settings()
    cfg: dict[str, Any] = {"bootstrap_servers": s.kafka_bootstrap_servers.split(","),
                           "security_protocol": s.kafka_security_protocol}
    if s.kafka_security_protocol.startswith("SASL"):
        user, password = _scram(s)
        cfg.update(sasl_mechanism="SCRAM-SHA-512", sasl_plain_username=user, sasl_plain_password=password)
    if s.kafka_security_protocol.endswith("SSL"):
        cfg["ssl_context"] = ssl.create_default_context(cadata=_ca(s))
    return cfg


def producer(s: Settings | None = None, **overrides: Any) -> Any:
    """A ``KafkaProducer`` that waits for every in-sync replica (``acks=all``) and fails within seconds. Its
    client-side metrics are off: nothing reads them (functions report through Powertools), and recording them
    on every send was a visible share of a consumer's CPU.

    Creating it contacts the brokers; kafka-python waits 30 s for that by default, whatever ``max_block_ms``
    says, so a caller that bounds its sends (assets-api gives each 2 s) would hang on a Kafka outage. The
    bootstrap gets the same bound as a send."""
    from kafka import KafkaProducer

    cfg = {**client_config(s), "acks": "all", "retries": 3, "request_timeout_ms": 10_000, "max_block_ms": 10_000,
           "metrics_enabled": False, **overrides}
    cfg.setdefault("bootstrap_timeout_ms", cfg["max_block_ms"])
    return KafkaProducer(**cfg)
