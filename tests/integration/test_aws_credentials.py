"""How functions get their own credentials on AWS (``mybroker.settings``), read from the local AWS APIs (the
moto server on the LocalStack port) the same way: the schema's own MySQL user from an SSM SecureString, the
service's RabbitMQ user from SSM or Secrets Manager, and Redis over TLS with a password, against a throwaway
redis-server run with the very configuration the engine host writes (``infra/engine_host.py``).
Locally nothing is read from AWS: the direct URLs the local runtime sets are used as they are."""

from __future__ import annotations

import datetime
import ipaddress
import json
import re
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from mybroker import settings as settings_module
from mybroker.settings import Settings
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError, ProgrammingError

from infra.engine_host import _SCRIPT
from local_runtime import services as svc

pytestmark = pytest.mark.stack


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    import boto3
    from mybroker import aws as mybroker_aws

    from local_runtime.credentials import RUNTIME_PRINCIPAL, aws_key

    for k, v in {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{svc.AWS_PORT}", **aws_key(RUNTIME_PRINCIPAL).environment(),
                 "AWS_REGION": "us-east-1"}.items():
        monkeypatch.setenv(k, v)
    mybroker_aws.client.cache_clear()
    settings_module._secret.cache_clear()
    settings_module._parameter.cache_clear()
    yield boto3.client("secretsmanager", region_name="us-east-1"), boto3.client("ssm", region_name="us-east-1")
    mybroker_aws.client.cache_clear()


def run_id() -> str:
    return uuid.uuid4().hex[:10]


def credentials(username: str, password: str) -> str:
    return json.dumps({"username": username, "password": password})


# --- MySQL -------------------------------------------------------------------------------------------------

def test_the_schema_user_from_ssm_reaches_its_schema_only(aws: tuple[Any, Any]) -> None:
    _, ssm = aws
    name = f"/mybroker/mysql/wallet-{run_id()}"
    ssm.put_parameter(Name=name, Type="SecureString", Value=credentials("wallet", svc.local_password("wallet")))
    s = Settings(mysql_host="127.0.0.1", mysql_port=svc.MARIADB_PORT, mysql_database="wallet",
                 mysql_credentials_parameter=name)
    db = create_engine(s.database_url())
    try:
        with db.connect() as conn:
            assert conn.execute(text("SELECT DATABASE(), CURRENT_USER()")).one()[0] == "wallet"
            with pytest.raises((OperationalError, ProgrammingError), match=r"1142|1044|denied"):
                conn.execute(text("SELECT COUNT(*) FROM orders.orders"))  # another service's schema
    finally:
        db.dispose()


def test_mysql_without_credentials_says_what_is_missing() -> None:
    with pytest.raises(RuntimeError, match="MYSQL_CREDENTIALS_PARAMETER"):
        Settings(mysql_host="db.internal", mysql_database="wallet").database_url()


# --- RabbitMQ ----------------------------------------------------------------------------------------------

def test_the_service_broker_user_from_ssm_or_secrets_manager(aws: tuple[Any, Any]) -> None:
    secrets, ssm = aws
    run = run_id()
    name = f"/mybroker/rabbitmq/engine-{run}"
    ssm.put_parameter(Name=name, Type="SecureString", Value=credentials("engine", f"pw+{run}"))
    s = Settings(rabbitmq_host="b-1.mq.us-east-1.on.aws", rabbitmq_credentials_parameter=name)
    assert s.amqp_url() == f"amqps://engine:pw%2B{run}@b-1.mq.us-east-1.on.aws:5671/%2F"
    arn = secrets.create_secret(Name=f"mybroker/rabbitmq-orders-{run}", SecretString=credentials("orders", run))["ARN"]
    s = Settings(rabbitmq_host="b-1.mq.us-east-1.on.aws", rabbitmq_secret_arn=arn)
    assert s.amqp_url() == f"amqps://orders:{run}@b-1.mq.us-east-1.on.aws:5671/%2F"


def test_locally_the_direct_urls_are_used_as_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    from local_runtime.environment import resource_environment

    for k in list(Settings.model_fields):
        monkeypatch.delenv(k.upper(), raising=False)
    for k, v in resource_environment(("mysql", "redis", "rabbitmq", "kafka"), "wallet", {}).items():
        monkeypatch.setenv(k, v)
    s = Settings()
    assert s.database_url() == svc.mysql_url("wallet")
    assert s.amqp_url() == f"amqp://guest:guest@127.0.0.1:{svc.RABBITMQ_PORT}/%2F"
    assert s.redis_url == f"redis://127.0.0.1:{svc.REDIS_PORT}/0"
    assert redis.Redis.from_url(s.redis_url, socket_timeout=2).ping()


# --- Redis: TLS and AUTH, as on the engine host -------------------------------------------------------------

def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _pem(obj: Any) -> bytes:
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return bytes(obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))


def host_ca_and_certificate(folder: Path) -> str:
    """A CA and a server certificate for 127.0.0.1 signed by it, as the host's bootstrap makes them."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, server_key = _key(), _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"test-host-ca-{run_id()}")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now)
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    server = (x509.CertificateBuilder()
              .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
              .issuer_name(ca_name).public_key(server_key.public_key())
              .serial_number(x509.random_serial_number()).not_valid_before(now)
              .not_valid_after(now + datetime.timedelta(days=1))
              .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                             critical=False)
              .sign(ca_key, hashes.SHA256()))
    (folder / "ca.pem").write_bytes(_pem(ca))
    (folder / "redis.pem").write_bytes(_pem(server))
    (folder / "redis.key").write_bytes(_pem(server_key))
    return _pem(ca).decode()


def host_redis_conf(folder: Path, port: int, password: str) -> str:
    """The redis.conf the engine host writes, with this test's port, paths and password."""
    found = re.search(r"<<CONF\n(.*?)\nCONF\n", _SCRIPT, re.S)
    assert found is not None
    conf = found.group(1)
    conf = conf.replace("@@REDIS_PORT@@", str(port)).replace("$PRIVATE_IP", "").replace("$REDIS_PASSWORD", password)
    conf = conf.replace("/etc/redis/", f"{folder}/").replace("dir /data", f"dir {folder}")
    return conf.replace("appendonly yes", "appendonly no")  # nothing of this throwaway server is kept


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def host_redis(tmp_path: Path) -> Iterator[tuple[int, str, str]]:
    ca = host_ca_and_certificate(tmp_path)
    port, password = free_port(), f"pw{run_id()}"
    (tmp_path / "redis.conf").write_text(host_redis_conf(tmp_path, port, password) + "\nsave \"\"\n")
    proc = subprocess.Popen(["redis-server", str(tmp_path / "redis.conf")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)
    try:
        for _ in range(200):  # until it listens (or dies)
            if proc.poll() is not None:
                pytest.fail(f"redis-server exited with {proc.returncode} on the host's configuration")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield port, password, ca
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_redis_over_tls_with_the_password_and_the_host_ca(aws: tuple[Any, Any], host_redis: tuple[int, str, str]
                                                         ) -> None:
    _, ssm = aws
    port, password, ca = host_redis
    run = run_id()
    ssm.put_parameter(Name=f"/mybroker/redis-password-{run}", Type="SecureString", Value=password)
    ssm.put_parameter(Name=f"/mybroker/host-root-ca-{run}", Type="String", Value=ca)
    s = Settings(redis_endpoint=f"rediss://127.0.0.1:{port}/0",
                 redis_password_parameter=f"/mybroker/redis-password-{run}",
                 redis_ca_parameter=f"/mybroker/host-root-ca-{run}")
    assert s.redis_url.startswith(f"rediss://:{password}@127.0.0.1:{port}/0?ssl_ca_certs=")
    client = redis.Redis.from_url(s.redis_url, socket_timeout=2)
    assert client.ping()
    client.set(f"k-{run}", "v", ex=60)
    assert client.get(f"k-{run}") == b"v"
    assert f"k-{run}".encode() in set(client.scan_iter(match=f"k-{run}*"))  # what the quote cache and reconcile use
    with pytest.raises(redis.ResponseError, match=r"NOPERM|no permissions"):
        client.flushall()  # admin and dangerous commands are off
    with pytest.raises(redis.ResponseError, match=r"NOPERM|no permissions"):
        client.config_get("requirepass")


def test_redis_refuses_a_wrong_password_plaintext_and_an_unknown_ca(host_redis: tuple[int, str, str],
                                                                    tmp_path: Path) -> None:
    port, password, ca = host_redis
    ca_file = tmp_path / "ca-copy.pem"
    ca_file.write_text(ca)
    with pytest.raises(redis.AuthenticationError):
        redis.Redis.from_url(f"rediss://:wrong@127.0.0.1:{port}/0?ssl_ca_certs={ca_file}", socket_timeout=2).ping()
    with pytest.raises(redis.ConnectionError):  # no plaintext port: a TLS listener does not speak RESP in clear
        redis.Redis.from_url(f"redis://:{password}@127.0.0.1:{port}/0", socket_timeout=2,
                             socket_connect_timeout=2).ping()
    other = tmp_path / "other"
    other.mkdir()
    other_ca = host_ca_and_certificate(other)
    (other / "only-ca.pem").write_text(other_ca)
    with pytest.raises(redis.ConnectionError, match=r"certificate verify failed|CERTIFICATE_VERIFY_FAILED"):
        redis.Redis.from_url(f"rediss://:{password}@127.0.0.1:{port}/0?ssl_ca_certs={other / 'only-ca.pem'}",
                             socket_timeout=2).ping()


def test_a_password_without_tls_is_refused_before_connecting() -> None:
    s = Settings(redis_endpoint="redis://10.60.0.5:6379/0", redis_password_parameter="/mybroker/redis-password")
    with pytest.raises(RuntimeError, match="rediss://"):
        _ = s.redis_url
