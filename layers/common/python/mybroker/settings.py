"""One settings object per process, read from the environment the stack (or the local runtime) sets.

Locally the runtime gives direct URLs (``MYSQL_URL``, ``RABBITMQ_URL``, ``REDIS_URL``, plaintext Kafka) and
nothing is read from AWS. On AWS each function gets only where its own service's credentials are
(``infra/compute.py``): the MySQL user of its schema (``MYSQL_CREDENTIALS_PARAMETER``), its RabbitMQ user
(``RABBITMQ_SECRET_ARN`` when an event source mapping needs a secret, else ``RABBITMQ_CREDENTIALS_PARAMETER``),
the Redis password (``REDIS_PASSWORD_PARAMETER``) and the engine host's CA (``REDIS_CA_PARAMETER``); credentials
are ``{"username", "password"}`` JSON, read once per process.
"""

from __future__ import annotations

import json
import os
import tempfile
from functools import cache, cached_property
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REDIS_CA_FILE = "mybroker-host-ca.pem"  # where the host's CA is written for redis-py (ssl_ca_certs takes a path)


@cache
def _secret(arn: str) -> str:
    from mybroker.aws import client

    return str(client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])


@cache
def _parameter(name: str) -> str:
    from mybroker.aws import client

    return str(client("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"])


def _credentials(*, secret_arn: str | None = None, parameter: str | None = None) -> tuple[str, str]:
    """``(username, password)`` from a Secrets Manager secret or an SSM SecureString, both ``{"username", ...}``."""
    raw = _secret(secret_arn) if secret_arn else _parameter(str(parameter))
    creds: dict[str, Any] = json.loads(raw)
    return str(creds["username"]), str(creds["password"])


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    mybroker_stage: str = "local"
    # MySQL: a URL locally; host/port/database plus the schema's own user (an SSM SecureString) on AWS
    mysql_url: str | None = None
    mysql_host: str | None = None
    mysql_port: int = 3306
    mysql_database: str | None = None
    mysql_credentials_parameter: str | None = None
    mysql_secret_arn: str | None = None  # a Secrets Manager secret instead (not set by the stack)
    # Redis: the URL as given; on AWS ``rediss://<host>:6379/0`` plus the password and the CA to verify TLS
    redis_endpoint: str = Field(default="redis://127.0.0.1:6379/0", validation_alias="REDIS_URL")
    redis_password_parameter: str | None = None
    redis_ca_parameter: str | None = None
    rabbitmq_url: str | None = None
    rabbitmq_host: str | None = None
    rabbitmq_port: int = 5671
    rabbitmq_secret_arn: str | None = None
    rabbitmq_credentials_parameter: str | None = None
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_security_protocol: str = "PLAINTEXT"
    kafka_sasl_secret_arn: str | None = None
    kafka_sasl_parameter: str | None = None
    kafka_ca_secret_arn: str | None = None
    kafka_ca_parameter: str | None = None
    mongodb_uri: str | None = None
    mongodb_uri_parameter: str | None = None
    cognito_user_pool_id: str | None = None
    cognito_client_id: str | None = None

    def database_url(self) -> str:
        """Locally ``MYSQL_URL``; on AWS the schema's own user, which may touch that schema only."""
        if self.mysql_url:
            return self.mysql_url
        if not (self.mysql_host and self.mysql_database
                and (self.mysql_credentials_parameter or self.mysql_secret_arn)):
            raise RuntimeError("MySQL is not configured: set MYSQL_URL, or MYSQL_HOST/MYSQL_DATABASE and "
                               "MYSQL_CREDENTIALS_PARAMETER")
        user, password = _credentials(secret_arn=self.mysql_secret_arn, parameter=self.mysql_credentials_parameter)
        return (f"mysql+pymysql://{quote(user, safe='')}:{quote(password, safe='')}@{self.mysql_host}:"
                f"{self.mysql_port}/{self.mysql_database}?charset=utf8mb4")

    def amqp_url(self) -> str:
        """Locally a plain URL; on AWS Amazon MQ over TLS as this service's own broker user."""
        if self.rabbitmq_url:
            return self.rabbitmq_url
        if not (self.rabbitmq_host and (self.rabbitmq_secret_arn or self.rabbitmq_credentials_parameter)):
            raise RuntimeError("RabbitMQ is not configured: set RABBITMQ_URL, or RABBITMQ_HOST and "
                               "RABBITMQ_SECRET_ARN or RABBITMQ_CREDENTIALS_PARAMETER")
        user, password = _credentials(secret_arn=self.rabbitmq_secret_arn,
                                      parameter=self.rabbitmq_credentials_parameter)
        return (f"amqps://{quote(user, safe='')}:{quote(password, safe='')}@{self.rabbitmq_host}:"
                f"{self.rabbitmq_port}/%2F")

    @cached_property
    def redis_url(self) -> str:
        """What ``redis.Redis.from_url`` takes. Locally ``REDIS_URL`` as given. On AWS (``rediss://``, TLS and
        AUTH): the password from ``REDIS_PASSWORD_PARAMETER`` goes in the URL, and the host's CA from
        ``REDIS_CA_PARAMETER`` is written to a file that ``ssl_ca_certs`` names (the server's certificate is
        checked against it, hostname included)."""
        url = self.redis_endpoint
        if not (self.redis_password_parameter or self.redis_ca_parameter):
            return url
        parts = urlsplit(url)
        if parts.scheme != "rediss":
            raise RuntimeError(f"REDIS_URL must be rediss:// when a password or CA is given, not {parts.scheme}://")
        netloc = parts.netloc.rsplit("@", 1)[-1]
        if self.redis_password_parameter:
            netloc = f":{quote(_parameter(self.redis_password_parameter), safe='')}@{netloc}"
        query = [q for q in parts.query.split("&") if q]
        if self.redis_ca_parameter:
            query.append(f"ssl_ca_certs={quote(str(_ca_file(_parameter(self.redis_ca_parameter))), safe='/')}")
        return urlunsplit((parts.scheme, netloc, parts.path, "&".join(query), ""))

    def mongodb(self) -> str:
        if self.mongodb_uri:
            return self.mongodb_uri
        if self.mongodb_uri_parameter:
            from mybroker.aws import client

            value: str = client("ssm").get_parameter(Name=self.mongodb_uri_parameter, WithDecryption=True)[
                "Parameter"]["Value"]
            return value
        raise RuntimeError("MongoDB is not configured: set MONGODB_URI or MONGODB_URI_PARAMETER")


def _ca_file(pem: str) -> Path:
    """The PEM in a private file under the temporary directory (``/tmp`` on Lambda), written once."""
    path = Path(tempfile.gettempdir()) / f"{os.getuid()}-{REDIS_CA_FILE}"
    if not path.exists() or path.read_text() != pem:
        fd, tmp = tempfile.mkstemp(dir=path.parent)
        with os.fdopen(fd, "w") as f:
            f.write(pem)
        os.replace(tmp, path)
    return path


@cache
def settings() -> Settings:
    return Settings()
