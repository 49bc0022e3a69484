"""Real local services for market-data integration tests, with per-run names so nothing collides with
the running system: a fresh MongoDB database per test, a Redis key prefix per test, a Kafka topic per test.

MongoDB servers: FerretDB on 127.0.0.1:27017 always; a real MongoDB too when ``MONGODB_URI`` points elsewhere.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

FERRETDB = "mongodb://127.0.0.1:27017/"
REDIS = "redis://127.0.0.1:6379/0"
KAFKA = "127.0.0.1:9092"


def mongo_servers() -> list[str]:
    servers = [FERRETDB]
    extra = os.environ.get("MONGODB_URI")
    if extra and extra.rstrip("/") != FERRETDB.rstrip("/") and "127.0.0.1:27017" not in extra:
        servers.append(extra)
    return servers


def _mongo_client(uri: str) -> Any:
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    client: Any = MongoClient(uri, serverSelectionTimeoutMS=2000, tz_aware=True)
    try:
        client.admin.command("ping")
    except PyMongoError as exc:
        pytest.fail(f"MongoDB at {uri} is down: {exc}", pytrace=False)
    return client


@pytest.fixture(params=mongo_servers(), ids=lambda u: "ferretdb" if u == FERRETDB else "mongodb")
def mongo_db(request: pytest.FixtureRequest) -> Iterator[Any]:
    client = _mongo_client(request.param)
    name = f"md_test_{uuid.uuid4().hex[:10]}"
    try:
        yield client[name]
    finally:
        client.drop_database(name)
        client.close()


@pytest.fixture
def ferret_db() -> Iterator[Any]:
    client = _mongo_client(FERRETDB)
    name = f"md_test_{uuid.uuid4().hex[:10]}"
    try:
        yield client[name]
    finally:
        client.drop_database(name)
        client.close()


@pytest.fixture(scope="session")
def redis_client() -> Iterator[Any]:
    import redis

    r = redis.Redis.from_url(REDIS, socket_timeout=2)
    try:
        r.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis at {REDIS} is down: {exc}", pytrace=False)
    yield r
    r.close()


@pytest.fixture
def redis_prefix(redis_client: Any) -> Iterator[str]:
    prefix = f"mbtest:{uuid.uuid4().hex[:10]}:"
    yield prefix
    keys = list(redis_client.scan_iter(match=f"{prefix}*", count=500))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture
def kafka_topic() -> Iterator[str]:
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import KafkaError, TopicAlreadyExistsError

    name = f"quotes-test-{uuid.uuid4().hex[:10]}"
    try:
        admin = KafkaAdminClient(bootstrap_servers=KAFKA, request_timeout_ms=10_000)
    except KafkaError as exc:
        pytest.fail(f"Kafka at {KAFKA} is down: {exc}", pytrace=False)
    with contextlib.suppress(TopicAlreadyExistsError):
        admin.create_topics([NewTopic(name, num_partitions=6, replication_factor=1)])
    deadline = time.monotonic() + 10
    while name not in admin.list_topics() and time.monotonic() < deadline:
        time.sleep(0.1)
    yield name
    try:
        admin.delete_topics([name])
    finally:
        admin.close()
