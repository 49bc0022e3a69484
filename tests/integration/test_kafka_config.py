"""How functions connect to Kafka on AWS (SASL_SSL, SCRAM from Secrets Manager or SSM, the host's private CA),
read from the local AWS APIs (the moto server on the LocalStack port) the same way."""

from __future__ import annotations

import datetime
import json
import ssl
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from mybroker.kafka import client_config
from mybroker.settings import Settings

from local_runtime import services as svc

pytestmark = pytest.mark.stack


def ca_pem(name: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    import boto3
    from mybroker import aws as mybroker_aws
    from mybroker import kafka

    from local_runtime.credentials import RUNTIME_PRINCIPAL, aws_key

    for k, v in {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{svc.AWS_PORT}", **aws_key(RUNTIME_PRINCIPAL).environment(),
                 "AWS_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    mybroker_aws.client.cache_clear()
    kafka._secret.cache_clear()
    kafka._parameter.cache_clear()
    yield boto3.client("secretsmanager", region_name="us-east-1"), boto3.client("ssm", region_name="us-east-1")
    mybroker_aws.client.cache_clear()


def ca_subjects(context: ssl.SSLContext) -> list[str]:
    names: list[str] = []
    for cert in context.get_ca_certs():
        subject: Any = cert["subject"]
        names += [value for rdn in subject for key, value in rdn if key == "commonName"]
    return names


def test_sasl_ssl_from_secrets_manager(aws: tuple[Any, Any]) -> None:
    secrets, _ = aws
    run = uuid.uuid4().hex[:8]
    scram = secrets.create_secret(Name=f"kafka-scram-{run}",
                                  SecretString=json.dumps({"username": "mybroker", "password": f"pw-{run}"}))
    ca = secrets.create_secret(Name=f"kafka-ca-{run}",
                               SecretString=json.dumps({"certificate": ca_pem(f"ca-{run}")}))
    cfg = client_config(Settings(kafka_bootstrap_servers="10.0.1.5:9094,10.0.1.6:9094",
                                 kafka_security_protocol="SASL_SSL", kafka_sasl_secret_arn=scram["ARN"],
                                 kafka_ca_secret_arn=ca["ARN"]))
    assert cfg["bootstrap_servers"] == ["10.0.1.5:9094", "10.0.1.6:9094"]
    assert (cfg["sasl_mechanism"], cfg["sasl_plain_username"], cfg["sasl_plain_password"]) == (
        "SCRAM-SHA-512", "mybroker", f"pw-{run}")
    context = cfg["ssl_context"]
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    assert ca_subjects(context) == [f"ca-{run}"]


def test_sasl_ssl_from_ssm_parameters(aws: tuple[Any, Any]) -> None:
    _, ssm = aws
    run = uuid.uuid4().hex[:8]
    ssm.put_parameter(Name=f"/mybroker/kafka/scram-{run}", Type="SecureString",
                      Value=json.dumps({"username": "mybroker", "password": f"pw-{run}"}))
    ssm.put_parameter(Name=f"/mybroker/kafka/ca-{run}", Type="String", Value=ca_pem(f"ca-{run}"))
    cfg = client_config(Settings(kafka_security_protocol="SASL_SSL",
                                 kafka_sasl_parameter=f"/mybroker/kafka/scram-{run}",
                                 kafka_ca_parameter=f"/mybroker/kafka/ca-{run}"))
    assert cfg["sasl_plain_password"] == f"pw-{run}"
    assert ca_subjects(cfg["ssl_context"]) == [f"ca-{run}"]


def test_plaintext_locally_needs_nothing() -> None:
    cfg = client_config(Settings())
    assert cfg == {"bootstrap_servers": ["127.0.0.1:9092"], "security_protocol": "PLAINTEXT"}


def test_sasl_without_credentials_says_what_is_missing() -> None:
    with pytest.raises(RuntimeError, match="KAFKA_SASL_SECRET_ARN or KAFKA_SASL_PARAMETER"):
        client_config(Settings(kafka_security_protocol="SASL_SSL"))
