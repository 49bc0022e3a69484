"""One settings object per process, read from the environment the stack (or the local runtime) sets."""

from __future__ import annotations

import json
from functools import cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    mybroker_stage: str = "local"
    # MySQL: a URL locally; host/port/database plus a Secrets Manager secret on AWS
    mysql_url: str | None = None
    mysql_host: str | None = None
    mysql_port: int = 3306
    mysql_database: str | None = None
    mysql_secret_arn: str | None = None
    redis_url: str = "redis://127.0.0.1:6379/0"
    rabbitmq_url: str | None = None
    rabbitmq_host: str | None = None
    rabbitmq_port: int = 5671
    rabbitmq_secret_arn: str | None = None
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
        if self.mysql_url:
            return self.mysql_url
        if not (self.mysql_host and self.mysql_database and self.mysql_secret_arn):
            raise RuntimeError("MySQL is not configured: set MYSQL_URL, or MYSQL_HOST/MYSQL_DATABASE/MYSQL_SECRET_ARN")
        from mybroker.aws import client

        secret = json.loads(client("secretsmanager").get_secret_value(SecretId=self.mysql_secret_arn)["SecretString"])
        return (f"mysql+pymysql://{secret['username']}:{secret['password']}@{self.mysql_host}:{self.mysql_port}"
                f"/{self.mysql_database}?charset=utf8mb4")

    def amqp_url(self) -> str:
        """Locally a plain URL; on AWS Amazon MQ over TLS with the broker user's secret."""
        if self.rabbitmq_url:
            return self.rabbitmq_url
        if not (self.rabbitmq_host and self.rabbitmq_secret_arn):
            raise RuntimeError("RabbitMQ is not configured: set RABBITMQ_URL, or RABBITMQ_HOST/RABBITMQ_SECRET_ARN")
        from urllib.parse import quote

        from mybroker.aws import client

        raw = client("secretsmanager").get_secret_value(SecretId=self.rabbitmq_secret_arn)["SecretString"]
        secret = json.loads(raw)
        user, password = quote(secret["username"], safe=""), quote(secret["password"], safe="")
        return f"amqps://{user}:{password}@{self.rabbitmq_host}:{self.rabbitmq_port}/%2F"

    def mongodb(self) -> str:
        if self.mongodb_uri:
            return self.mongodb_uri
        if self.mongodb_uri_parameter:
            from mybroker.aws import client

            value: str = client("ssm").get_parameter(Name=self.mongodb_uri_parameter, WithDecryption=True)[
                "Parameter"]["Value"]
            return value
        raise RuntimeError("MongoDB is not configured: set MONGODB_URI or MONGODB_URI_PARAMETER")


@cache
def settings() -> Settings:
    return Settings()
