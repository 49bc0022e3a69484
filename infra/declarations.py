"""The system's functions, routes, schedules, queues, topics and event source mappings, declared once.

Plain data with no AWS CDK import: the CDK stacks (``infra/``) and the local runtime (``local_runtime``)
both read :data:`SYSTEM`, and ``tests/infra/test_declarations_drift.py`` proves that what the stacks
synthesize matches it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

Resource = Literal["mysql", "redis", "rabbitmq", "kafka", "mongodb", "cognito", "api"]  # api: API_URL, the HTTP API
HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


def market_data_mode() -> str:
    """``mirror`` (the external feed sets prices) or ``simulated`` (the engine's trades do; the feed gives the
    opening reference). Chosen when the system is brought up: ``MARKET_DATA_MODE=simulated scripts/up`` or
    ``MARKET_DATA_MODE=simulated cdk deploy``; every function and the engine get the same value."""
    value = os.environ.get("MARKET_DATA_MODE", "mirror").lower()
    if value in ("mirror", "simulated"):
        return value
    raise ValueError(f"MARKET_DATA_MODE must be mirror or simulated, not {value!r}")


MODE_ENV = (("MARKET_DATA_MODE", market_data_mode()),)


# the environment variable naming the roles (comma-separated) whose SigV4 calls a function's IAM routes take:
# the roles of its declared ``iam_callers`` (mybroker.http refuses any other IAM identity)
IAM_CALLER_ROLES = "IAM_CALLER_ROLES"

@dataclass(frozen=True)
class Function:
    """One Lambda function: its code folder, handler string, sizing and what it connects to."""

    name: str
    code_dir: str  # relative to the repository root; the asset the stack zips
    handler: str  # "module.function", relative to code_dir, as Lambda takes it
    memory_mb: int = 256
    timeout_s: int = 10
    concurrency: int = 2  # execution environments the local runtime keeps; reserved concurrency on AWS
    database: str | None = None  # the MySQL schema this function owns (one per service)
    uses: tuple[Resource, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()
    in_vpc: bool = True  # needs private resources (RDS, MQ, Kafka, Redis on the EC2 host)


@dataclass(frozen=True)
class Route:
    """One API Gateway HTTP API route, served by one function with the payload format 2.0."""

    method: HttpMethod
    path: str  # API Gateway syntax: /orders/{orderId}, /docs/{proxy+}
    function: str
    authorized: bool = True  # needs an identity: a Cognito JWT, or IAM (SigV4) when ``iam_callers`` is set
    # service-to-service: an AWS_IAM-authorized route that only these functions' roles may invoke (SigV4);
    # no user token is accepted on it, whatever it carries
    iam_callers: tuple[str, ...] = ()

    @property
    def auth(self) -> Literal["jwt", "iam", "none"]:
        if not self.authorized:
            return "none"
        return "iam" if self.iam_callers else "jwt"


@dataclass(frozen=True)
class Schedule:
    """An EventBridge Scheduler schedule (cron/rate with a time zone) targeting one function."""

    name: str
    expression: str  # "rate(1 minute)" or "cron(min hour dom month dow year)"
    function: str
    timezone: str = "UTC"
    enabled: bool = True


@dataclass(frozen=True)
class Queue:
    """A durable RabbitMQ quorum queue bound to an exchange, with a dead-letter queue for poison messages."""

    name: str
    exchange: str
    routing_keys: tuple[str, ...]
    exchange_type: Literal["direct", "topic", "fanout"] = "topic"
    delivery_limit: int = 5  # deliveries before the broker dead-letters a message
    vhost: str = "/"

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.name}.dlq"


@dataclass(frozen=True)
class Topic:
    """A Kafka topic with explicit partitions; ``key`` names what producers key records by."""

    name: str
    partitions: int
    key: str
    retention_hours: int = 168


@dataclass(frozen=True)
class RabbitMqSource:
    """A Lambda event source mapping from an Amazon MQ (RabbitMQ) queue."""

    name: str
    function: str
    queue: str
    batch_size: int = 100
    batching_window_s: float = 0.5


@dataclass(frozen=True)
class KafkaSource:
    """A Lambda event source mapping from a self-managed Kafka topic."""

    name: str
    function: str
    topic: str
    batch_size: int = 100
    batching_window_s: float = 0.5
    starting_position: Literal["TRIM_HORIZON", "LATEST"] = "TRIM_HORIZON"
    maximum_retry_attempts: int = 3
    on_failure_topic: str | None = None  # failed records go there with the error, then processing moves on
    # Provisioned mode (one event poller, ~$135/month) is what gives partial batch responses, bounded retries
    # and the on-failure topic. On demand, a function error retries the whole batch until it succeeds, so the
    # function itself must report and skip records it can never process.
    provisioned: bool = True

    @property
    def consumer_group_id(self) -> str:
        return f"esm-{self.name}"


@dataclass(frozen=True)
class Service:
    """A long-running container (the matching engine): started by ECS/Docker on AWS, as a process locally."""

    name: str
    entrypoint: tuple[str, ...]  # the container's ENTRYPOINT + CMD, run from the repository root
    uses: tuple[Resource, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class WebSocketRoute:
    """One route of a WebSocket API (``$connect``, ``$disconnect``, ``$default`` or an ``action`` value)."""

    route_key: str
    function: str
    returns_response: bool = False  # the function's ``body`` goes back to the client (a route response)


@dataclass(frozen=True)
class WebSocketApi:
    """An API Gateway WebSocket API: ``$connect`` behind a Lambda REQUEST authorizer, route selection on
    ``$request.body.action``; ``managers`` may post to its connections (execute-api:ManageConnections)."""

    name: str
    stage: str
    authorizer: str
    routes: tuple[WebSocketRoute, ...]
    managers: tuple[str, ...] = ()
    route_selection: str = "$request.body.action"


@dataclass(frozen=True)
class System:
    functions: tuple[Function, ...]
    routes: tuple[Route, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    queues: tuple[Queue, ...] = ()
    topics: tuple[Topic, ...] = ()
    rabbitmq_sources: tuple[RabbitMqSource, ...] = ()
    kafka_sources: tuple[KafkaSource, ...] = ()
    services: tuple[Service, ...] = ()
    databases: tuple[str, ...] = field(default=())
    websocket_apis: tuple[WebSocketApi, ...] = ()

    def function(self, name: str) -> Function:
        for fn in self.functions:
            if fn.name == name:
                return fn
        raise KeyError(f"no function named {name!r}")

    def iam_callers_of(self, function: str) -> tuple[str, ...]:
        """The functions that may call ``function``'s IAM-authorized routes, each once, in declaration order."""
        return tuple(dict.fromkeys(c for r in self.routes if r.function == function for c in r.iam_callers))

    def queue(self, name: str) -> Queue:
        for q in self.queues:
            if q.name == name:
                return q
        raise KeyError(f"no queue named {name!r}")

    def validate(self) -> None:
        """Every reference points at something declared; names are unique."""
        names = [f.name for f in self.functions]
        if len(names) != len(set(names)):
            raise ValueError("duplicate function names")
        known = set(names)
        for r in self.routes:
            if r.function not in known:
                raise ValueError(f"route {r.method} {r.path} -> unknown function {r.function}")
            if any(c not in known for c in r.iam_callers):
                raise ValueError(f"route {r.method} {r.path} has an unknown IAM caller")
            if r.iam_callers and not r.authorized:
                raise ValueError(f"route {r.method} {r.path}: IAM callers on a public route")
        if len({(r.method, r.path) for r in self.routes}) != len(self.routes):
            raise ValueError("duplicate routes")
        for s in self.schedules:
            if s.function not in known:
                raise ValueError(f"schedule {s.name} -> unknown function {s.function}")
        queues = {q.name for q in self.queues}
        topics = {t.name for t in self.topics}
        for m in self.rabbitmq_sources:
            if m.function not in known or m.queue not in queues:
                raise ValueError(f"rabbitmq source {m.name} has an unknown function or queue")
        for k in self.kafka_sources:
            if k.function not in known or k.topic not in topics:
                raise ValueError(f"kafka source {k.name} has an unknown function or topic")
            if k.on_failure_topic is not None and k.on_failure_topic not in topics:
                raise ValueError(f"kafka source {k.name} has an unknown on-failure topic")
            if k.on_failure_topic is not None and not k.provisioned:
                raise ValueError(f"kafka source {k.name}: an on-failure topic needs provisioned mode")
        for fn in self.functions:
            if fn.database is not None and fn.database not in self.databases:
                raise ValueError(f"function {fn.name} uses undeclared database {fn.database}")
        for ws in self.websocket_apis:
            used = {ws.authorizer, *ws.managers, *(r.function for r in ws.routes)}
            if not used <= known:
                raise ValueError(f"websocket api {ws.name} names an unknown function")
            if len({r.route_key for r in ws.routes}) != len(ws.routes):
                raise ValueError(f"websocket api {ws.name} has duplicate routes")


SAO_PAULO = "America/Sao_Paulo"

SYSTEM = System(
    databases=("orders", "wallet", "assets", "market_data"),
    functions=(
        Function(
            name="assets-api",
            code_dir="functions/assets",
            handler="handler.handler",
            database="assets",
            uses=("mysql", "kafka", "cognito"),
        ),
        Function(
            name="assets-outbox-sweeper",
            code_dir="functions/assets",
            handler="outbox_sweeper.handler",
            database="assets",
            timeout_s=60,
            concurrency=1,
            uses=("mysql", "kafka"),
        ),
        Function(
            name="orders-api",
            code_dir="functions/orders",
            handler="handler.handler",
            database="orders",
            # outlives its downstream calls on the worst path (mybroker/orders/clients.py: the assets read, the
            # reservation and its release, each bounded by its callee's timeout), the database and RabbitMQ
            timeout_s=20,
            concurrency=4,
            # the balance check is a SigV4-signed call to the wallet's internal reservation routes
            uses=("mysql", "redis", "rabbitmq", "kafka", "cognito", "api"),
        ),
        Function(
            name="orders-execution-reports",
            code_dir="functions/orders",
            handler="execution_reports.handler",
            database="orders",
            timeout_s=30,
            concurrency=1,
            uses=("mysql", "kafka"),
        ),
        Function(
            name="orders-outbox-sweeper",
            code_dir="functions/orders",
            handler="outbox_sweeper.handler",
            database="orders",
            timeout_s=60,
            concurrency=1,
            uses=("mysql", "rabbitmq", "kafka"),
        ),
        Function(
            name="wallet-api",
            code_dir="functions/wallet",
            handler="handler.handler",
            database="wallet",
            concurrency=4,
            uses=("mysql", "redis", "cognito"),
        ),
        Function(
            # the saga's reservation steps, on IAM-authorized routes only the orders function may call; shorter
            # than its caller's client timeout, which is shorter than the caller's own timeout
            name="wallet-reservations",
            code_dir="functions/wallet",
            handler="reservations.handler",
            database="wallet",
            timeout_s=3,
            concurrency=4,
            uses=("mysql",),
        ),
        Function(
            # releases holds whose order never reached the orders store (read back through orders' own route)
            name="wallet-reservation-sweeper",
            code_dir="functions/wallet",
            handler="reservation_sweeper.handler",
            database="wallet",
            timeout_s=60,
            concurrency=1,
            uses=("mysql", "api"),
        ),
        Function(
            # notes, tax and year-end reports: apart from wallet-api so the PDF library stays off its path
            name="wallet-reports",
            code_dir="functions/wallet",
            handler="reports.handler",
            database="wallet",
            timeout_s=15,
            concurrency=2,
            uses=("mysql", "cognito", "api"),  # api: each holding's kind from the asset catalog
        ),
        Function(
            name="wallet-order-events",
            code_dir="functions/wallet",
            handler="order_events.handler",
            database="wallet",
            timeout_s=30,
            concurrency=1,
            uses=("mysql", "kafka"),  # kafka: unreadable records go to esm-failures
        ),
        Function(
            name="wallet-settlement",
            code_dir="functions/wallet",
            handler="settlement.handler",
            database="wallet",
            timeout_s=120,
            concurrency=1,
            uses=("mysql",),
        ),
        Function(
            name="market-data-api",
            code_dir="functions/market_data",
            handler="handler.handler",
            uses=("redis", "mongodb"),
        ),
        Function(
            name="market-data-ingest",
            code_dir="functions/market_data",
            handler="ingest.handler",
            timeout_s=60,
            concurrency=1,
            uses=("redis", "mongodb", "kafka"),
            environment=MODE_ENV,
        ),
        Function(
            name="market-data-trades",
            code_dir="functions/market_data",
            handler="trades.handler",
            timeout_s=30,
            concurrency=1,
            uses=("redis", "mongodb", "kafka"),
            environment=MODE_ENV,
        ),
        # the WebSocket streaming API (docs/streaming.md): the $connect authorizer needs only the pool's JWKS
        Function(
            name="streaming-authorizer",
            code_dir="functions/streaming",
            handler="authorizer.handler",
            timeout_s=5,
            concurrency=4,
            uses=("cognito",),
            in_vpc=False,
        ),
        Function(
            name="streaming-connections",
            code_dir="functions/streaming",
            handler="connections.handler",
            timeout_s=5,
            concurrency=4,
            uses=("redis",),
        ),
        Function(
            # one environment per Kafka mapping; reads the wallet's view read-only for the wallet channel
            name="streaming-pusher",
            code_dir="functions/streaming",
            handler="pusher.handler",
            database="wallet",
            timeout_s=30,
            concurrency=4,
            uses=("redis", "mysql"),
        ),
    ),
    routes=(
        Route("GET", "/assets", "assets-api"),
        Route("POST", "/assets", "assets-api"),
        Route("GET", "/assets/{ticker}", "assets-api"),
        Route("PATCH", "/assets/{ticker}", "assets-api"),
        Route("POST", "/orders", "orders-api"),
        Route("GET", "/orders", "orders-api"),
        Route("GET", "/orders/{orderId}", "orders-api"),
        Route("PATCH", "/orders/{orderId}", "orders-api"),
        Route("DELETE", "/orders/{orderId}", "orders-api"),
        Route("GET", "/internal/orders/{orderId}", "orders-api", iam_callers=("wallet-reservation-sweeper",)),
        Route("GET", "/docs/orders", "orders-api", authorized=False),
        Route("GET", "/wallet", "wallet-api"),
        Route("POST", "/wallet/deposits", "wallet-api"),
        Route("POST", "/wallet/withdrawals", "wallet-api"),
        Route("GET", "/wallet/positions", "wallet-api"),
        Route("GET", "/wallet/statement", "wallet-api"),
        Route("GET", "/wallet/trades", "wallet-api"),
        Route("GET", "/wallet/notes", "wallet-reports"),
        Route("GET", "/wallet/notes/{tradeDate}/pdf", "wallet-reports"),
        Route("GET", "/wallet/tax/{month}", "wallet-reports"),
        Route("GET", "/wallet/tax/year-end/{year}", "wallet-reports"),
        Route("GET", "/docs/wallet-reports", "wallet-reports", authorized=False),
        Route("POST", "/internal/wallet/reservations", "wallet-reservations", iam_callers=("orders-api",)),
        Route("PUT", "/internal/wallet/reservations/{orderId}", "wallet-reservations", iam_callers=("orders-api",)),
        Route("DELETE", "/internal/wallet/reservations/{orderId}", "wallet-reservations",
              iam_callers=("orders-api",)),
        Route("GET", "/docs/wallet", "wallet-api", authorized=False),
        Route("GET", "/market/status", "market-data-api"),
        Route("GET", "/market/book/{ticker}", "market-data-api"),
        Route("GET", "/quotes", "market-data-api"),
        Route("GET", "/quotes/{ticker}", "market-data-api"),
        Route("GET", "/quotes/{ticker}/history", "market-data-api"),
        Route("GET", "/docs/market-data", "market-data-api", authorized=False),
        Route("GET", "/docs/assets", "assets-api", authorized=False),
    ),
    schedules=(
        # every minute of the B3 session, Monday to Friday, in Brasília time
        Schedule("quote-ingestion", "cron(* 10-18 ? * MON-FRI *)", "market-data-ingest", timezone=SAO_PAULO),
        # whatever an order left in the outbox (a crash between commit and publish) is sent again
        Schedule("orders-outbox-sweep", "rate(1 minute)", "orders-outbox-sweeper"),
        # whatever an instrument change left in the outbox (a crash or a Kafka outage) is sent again
        Schedule("assets-outbox-sweep", "rate(1 minute)", "assets-outbox-sweeper"),
        # holds whose order never reached the store (a crash between reserve and store) are released
        Schedule("wallet-reservation-sweep", "rate(1 minute)", "wallet-reservation-sweeper"),
        # T+2 settlement, before the market opens, on business days
        Schedule("wallet-settlement", "cron(0 8 ? * MON-FRI *)", "wallet-settlement", timezone=SAO_PAULO),
    ),
    queues=(
        Queue("engine.orders", exchange="engine.input", routing_keys=("order.#",)),
        Queue("broker.execution-reports", exchange="engine.output", routing_keys=("execution-report.#",)),
    ),
    topics=(
        Topic("quotes", partitions=6, key="ticker"),
        Topic("orders", partitions=6, key="account_id"),
        Topic("assets", partitions=3, key="ticker"),
        Topic("trades", partitions=6, key="ticker"),
        Topic("market-data", partitions=6, key="ticker"),
        Topic("esm-failures", partitions=3, key="source record key"),
    ),
    rabbitmq_sources=(
        # no batching window: every report waiting 0.5 s for company was most of an order's latency
        RabbitMqSource("execution-reports", "orders-execution-reports", "broker.execution-reports",
                       batch_size=100, batching_window_s=0),
    ),
    kafka_sources=(
        # on demand, no poller to pay for (~$135/month): the function dead-letters unreadable records to
        # esm-failures itself; any other failure retries the whole batch, deduped by event id
        KafkaSource("wallet-order-events", "wallet-order-events", "orders", batch_size=100,
                    batching_window_s=0.5, provisioned=False),
        # simulated mode: the engine's trades move last prices and bars. On demand (no poller to pay for):
        # the function skips unreadable trades itself, and a batch applied twice changes nothing
        KafkaSource("market-data-trades", "market-data-trades", "trades", batch_size=500,
                    batching_window_s=1.0, provisioned=False),
        # the streaming pusher: live data from now on (LATEST), on demand; it skips what it cannot read itself
        *(KafkaSource(f"streaming-{topic}", "streaming-pusher", topic, batch_size=100, batching_window_s=0.5,
                      starting_position="LATEST", provisioned=False)
          for topic in ("orders", "quotes", "trades", "market-data")),
    ),
    websocket_apis=(
        WebSocketApi(
            name="streaming",
            stage="live",
            authorizer="streaming-authorizer",
            routes=tuple(WebSocketRoute(key, "streaming-connections", returns_response=key not in
                                        ("$connect", "$disconnect"))
                         for key in ("$connect", "$disconnect", "subscribe", "unsubscribe", "ping", "$default")),
            managers=("streaming-pusher",),
        ),
    ),
    services=(
        Service(
            name="engine",
            entrypoint=("python", "-m", "engine_service"),
            uses=("rabbitmq", "kafka", "redis"),
            environment=MODE_ENV,
        ),
    ),
)
