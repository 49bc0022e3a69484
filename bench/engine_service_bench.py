"""The engine service through RabbitMQ: one command, prints figures.

    .venv/bin/python bench/engine_service_bench.py [--messages 50000] [--instruments 1] [--seed 42]
                                                   [--paced 5000] [--rate 2000] [--per-message-confirms]

The seeded workload of bench/engine_bench.py, turned into wire commands (NewOrderCommand, CancelOrderCommand,
ReplaceOrderCommand), is published to the benchmark's own quorum queue (declared like local_runtime/topology.py
does, with its dead-letter queue) and consumed by an EngineService in a subprocess (its own output exchange
and journal in a temp dir, fixed clock, agents, Kafka and Redis off). Every execution report is collected on
an exclusive queue bound to the output exchange.

* throughput: ``--messages`` commands published as fast as one pika connection can, messages/s from the
  first publish to the last report;
* latency: then ``--paced`` more commands at ``--rate`` per second; per command, publish -> its last
  execution report received (the command of each report is known from an in-process run of the same
  commands, which gives the same exec ids);
* peak RSS of the service (VmHWM), and in the same run the core alone and the service's logic without a
  broker (parse, translate, engine, report JSON) in process, on the same commands, as ratios.

``--per-message-confirms`` makes the service wait for each publisher confirm (the behaviour before
batching) for comparison. The system's own queues and exchanges are never touched.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "common" / "python"), str(ROOT / "bench")]

import engine_bench  # noqa: E402
from mybroker.contracts.engine import (  # noqa: E402
    DEAD_LETTER_EXCHANGE,
    CancelOrderCommand,
    NewOrderCommand,
    OrderType,
    ReplaceOrderCommand,
    SelfTradePrevention,
    Side,
    TimeInForce,
    parse_command,
)

from engine_service.core import (  # noqa: E402
    CancelOrder,
    ClockTick,
    Engine,
    ExecutionReport,
    InstrumentConfig,
    NewOrder,
    SessionCalendar,
)
from engine_service.service import EngineService, ServiceState, report_json  # noqa: E402
from engine_service.translate import to_input  # noqa: E402

AMQP_URL = os.environ.get("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


class FixedClock:
    def now_ns(self) -> int:
        return int(engine_bench.START_NS)


def instruments(n: int) -> list[InstrumentConfig]:
    return [InstrumentConfig(s, reference_price=engine_bench.MID) for s in engine_bench.symbols(n)]


def commands(n: int, n_instruments: int, seed: int) -> list[bytes]:
    """The benchmark workload as wire commands (the clock tick is the service's own)."""
    current: dict[int, str] = {}  # workload order id -> its current client order id
    out: list[bytes] = []
    for i, m in enumerate(engine_bench.workload(n, n_instruments, seed)):
        cmd: Any
        if isinstance(m, ClockTick):
            continue
        if isinstance(m, NewOrder):
            current[len(current) + 1] = m.client_order_id
            cmd = NewOrderCommand(
                command_id=f"b{i}", instrument=m.instrument, client_order_id=m.client_order_id,
                investor_id=m.investor_id, side=Side(m.side), order_type=OrderType(m.order_type),
                time_in_force=TimeInForce(m.tif), quantity=m.qty, price_cents=m.price,
                protection_price_cents=m.protection_price, self_trade_prevention=SelfTradePrevention(m.stp))
        elif isinstance(m, CancelOrder):
            cmd = CancelOrderCommand(command_id=f"b{i}", instrument=m.instrument,
                                     client_order_id=current[m.order_id])
        else:
            cmd = ReplaceOrderCommand(command_id=f"b{i}", instrument=m.instrument,
                                      orig_client_order_id=current[m.order_id], client_order_id=m.client_order_id,
                                      quantity=m.qty, price_cents=m.price)
            current[m.order_id] = m.client_order_id
        out.append(cmd.model_dump_json().encode())
    return out


def in_process(bodies: list[bytes], n_instruments: int) -> tuple[dict[tuple[str, int], int], float, float, int]:
    """Runs the commands through the service's logic without a broker. Returns (report key -> command index,
    service-logic seconds, core-only seconds, number of reports)."""
    engine = Engine(instruments(n_instruments), SessionCalendar())
    state = ServiceState()
    state.learn(engine.process(ClockTick(engine_bench.START_NS)))
    owner: dict[tuple[str, int], int] = {}
    inputs = []
    t0 = time.perf_counter()
    for k, body in enumerate(bodies):
        command = parse_command(body)
        if command.command_id in state.seen_commands:
            continue
        core_input = to_input(command, state.order_ids)
        inputs.append(core_input)
        outputs = engine.process(core_input)
        state.learn(outputs)
        state.remember(command.command_id)
        for o in outputs:
            if isinstance(o, ExecutionReport):
                report_json(o)
                owner[(o.instrument, o.exec_id)] = k
    logic_s = time.perf_counter() - t0
    core = Engine(instruments(n_instruments), SessionCalendar())
    core.process(ClockTick(engine_bench.START_NS))
    process = core.process
    t0 = time.perf_counter()
    for m in inputs:
        process(m)
    core_s = time.perf_counter() - t0
    return owner, logic_s, core_s, len(owner)


def serve(args: argparse.Namespace) -> None:
    service = EngineService(Path(args.journal), AMQP_URL, args.queue, None, None, 1_000_000,
                            output_exchange=args.exchange, instruments=instruments(args.instruments),
                            calendar=SessionCalendar(), clock=FixedClock(), reference_refresh=False,
                            confirm_per_message=args.per_message_confirms)

    def stop(*_: Any) -> None:
        service.stopping = True

    signal.signal(signal.SIGTERM, stop)
    profile = os.environ.get("ENGINE_SERVICE_PROFILE")  # a path: cProfile the service into it
    if profile:
        import cProfile

        cProfile.runctx("service.run()", globals(), {"service": service}, profile)
    else:
        service.run()
    print(json.dumps({"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}), flush=True)


def percentile(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--paced", type=int, default=5_000)
    parser.add_argument("--rate", type=int, default=2_000)
    parser.add_argument("--instruments", type=int, default=1)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--per-message-confirms", action="store_true")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--journal", help=argparse.SUPPRESS)
    parser.add_argument("--queue", help=argparse.SUPPRESS)
    parser.add_argument("--exchange", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args)
        return
    import pika

    bodies = commands(args.messages + args.paced, args.instruments, args.seed)
    owner, logic_s, core_s, n_reports = in_process(bodies, args.instruments)
    last_of: dict[int, tuple[str, int]] = {}
    for key, k in owner.items():
        if key[1] > last_of.get(k, ("", -1))[1]:
            last_of[k] = key
    ends = {key: k for k, key in last_of.items()}  # the last report of each command -> the command

    tag = uuid.uuid4().hex[:8]
    queue, dlq, exchange = f"bench.engine.{tag}", f"bench.engine.{tag}.dlq", f"bench.engine.out.{tag}"
    conn = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    ch = conn.channel()
    ch.exchange_declare(DEAD_LETTER_EXCHANGE, exchange_type="direct", durable=True)
    ch.queue_declare(dlq, durable=True, arguments={"x-queue-type": "quorum"})
    ch.queue_bind(dlq, DEAD_LETTER_EXCHANGE, routing_key=dlq)
    ch.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum", "x-delivery-limit": 5,
                                                     "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
                                                     "x-dead-letter-routing-key": dlq})
    ch.exchange_declare(exchange, exchange_type="topic", durable=True)

    received: dict[int, float] = {}  # command index -> time its last report arrived
    count = [0]
    done = threading.Event()
    ready = threading.Event()

    def consume() -> None:
        c = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
        cc = c.channel()
        q = cc.queue_declare("", exclusive=True).method.queue
        cc.queue_bind(q, exchange, routing_key="#")
        cc.basic_qos(prefetch_count=2000)

        def on(_ch: Any, method: Any, props: Any, _body: bytes) -> None:
            count[0] += 1
            instrument, exec_id = props.message_id.rsplit(":", 1)
            k = ends.get((instrument, int(exec_id)))
            if k is not None:
                received[k] = time.perf_counter()
            if count[0] % 500 == 0:
                cc.basic_ack(method.delivery_tag, multiple=True)
            if count[0] >= n_reports:
                done.set()

        cc.basic_consume(q, on)
        ready.set()
        while not done.is_set():
            c.process_data_events(time_limit=0.1)
        c.close()

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    ready.wait(10)
    with tempfile.TemporaryDirectory() as tmp:
        service = subprocess.Popen([sys.executable, __file__, "--serve", "--journal", str(Path(tmp) / "journal"),
                                    "--queue", queue, "--exchange", exchange, "--instruments", str(args.instruments)]
                                   + (["--per-message-confirms"] if args.per_message_confirms else []),
                                   stdout=subprocess.PIPE, text=True)
        time.sleep(2.0)  # the service connects and starts consuming
        props = pika.BasicProperties(content_type="application/json", delivery_mode=2)
        sent: list[float] = []
        t0 = time.perf_counter()
        for body in bodies[: args.messages]:
            sent.append(time.perf_counter())
            ch.basic_publish("", queue, body, props)
        publish_s = time.perf_counter() - t0
        while len(received) < args.messages and time.perf_counter() - t0 < 600:
            time.sleep(0.01)
        t_end = max(received.values()) if received else time.perf_counter()
        throughput = args.messages / (t_end - t0)
        gap = 1.0 / args.rate
        for i, body in enumerate(bodies[args.messages:]):
            target = t_end + 0.5 + i * gap
            while time.perf_counter() < target:
                time.sleep(min(gap / 2, max(0.0, target - time.perf_counter())))
            sent.append(time.perf_counter())
            ch.basic_publish("", queue, body, props)
        done.wait(120)
        service.send_signal(signal.SIGTERM)
        out, _ = service.communicate(timeout=60)
        rss = json.loads(out.strip().splitlines()[-1])["peak_rss_mb"]
    ch.queue_delete(queue)
    ch.queue_delete(dlq)
    ch.exchange_delete(exchange)
    conn.close()

    paced = [received[k] - sent[k] for k in range(args.messages, len(bodies)) if k in received]
    blast = [received[k] - sent[k] for k in range(args.messages) if k in received]
    lost = len(bodies) - len(received)
    logic_rate, core_rate = len(bodies) / logic_s, len(bodies) / core_s
    confirms = "per message" if args.per_message_confirms else "per batch"
    print(f"engine service benchmark: {args.messages:,} + {args.paced:,} commands, {args.instruments} instrument(s), "
          f"seed {args.seed}, {os.cpu_count()} cpus, confirms {confirms}")
    print(f"  through RabbitMQ      {throughput:>10,.0f} msg/s end to end ({n_reports:,} reports; publishing alone "
          f"{args.messages / publish_s:,.0f} msg/s); commands without a report: {lost}")
    print(f"  latency at {args.rate:,}/s     p50 {percentile(paced, 0.5) * 1e3:.2f} ms  "
          f"p99 {percentile(paced, 0.99) * 1e3:.2f} ms  (publish -> last report received)")
    print(f"  latency in the burst  p50 {percentile(blast, 0.5) * 1e3:.0f} ms  "
          f"p99 {percentile(blast, 0.99) * 1e3:.0f} ms  (queueing behind the burst)")
    print(f"  service peak RSS      {rss} MB")
    print(f"  in process: service logic (parse, translate, engine, report JSON) {logic_rate:,.0f} msg/s; "
          f"core alone {core_rate:,.0f} msg/s")
    print(f"  ratios: RabbitMQ path / service logic {throughput / logic_rate:.2f}; "
          f"RabbitMQ path / core {throughput / core_rate:.3f}")


if __name__ == "__main__":
    main()
