"""``python -m local_runtime up|stop|status|serve``: the local system's one entry point."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import urllib.error
import urllib.request

from infra.declarations import SYSTEM
from local_runtime import services as svc
from local_runtime.paths import LOGS, PYTHON, ROOT, RUN, STATE_FILE, ensure_dirs

DEFAULT_PORT = int(os.environ.get("MYBROKER_API_PORT", "3000"))


def load_state() -> dict[str, str]:
    try:
        state: dict[str, str] = json.loads(STATE_FILE.read_text())
        return state
    except (OSError, ValueError):
        return {}


def use_runtime_credentials(region: str = "us-east-1", endpoint: str | None = None) -> None:
    """The runtime's own AWS key (derived from the install's secret) for its boto3 calls to moto."""
    from local_runtime.credentials import RUNTIME_PRINCIPAL, aws_key

    os.environ.update(aws_key(RUNTIME_PRINCIPAL).environment())
    os.environ.setdefault("AWS_ENDPOINT_URL", endpoint or f"http://127.0.0.1:{svc.AWS_PORT}")
    os.environ.setdefault("AWS_REGION", region)


def runtime_healthy(port: int) -> bool:
    from local_runtime.credentials import control_headers

    request = urllib.request.Request(f"http://127.0.0.1:{port}/_local/health", headers=control_headers())
    try:
        with urllib.request.urlopen(request, timeout=2) as r:
            return bool(r.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def step(name: str) -> float:
    print(f"  {name} ...", end="", flush=True)
    return time.monotonic()


def done(t0: float, note: str = "ok") -> None:
    print(f" {note} ({time.monotonic() - t0:.1f}s)", flush=True)


def cmd_up(args: argparse.Namespace) -> int:
    ensure_dirs()
    print("My Broker B3: bringing the local system up")
    for component in svc.infrastructure(SYSTEM.databases):
        t0 = step(component.name)
        component.ensure()
        done(t0, f"port {component.port}" if component.port else "ok")
    import pika

    from local_runtime import topology
    from local_runtime.aws_bootstrap import bootstrap
    from local_runtime.setup import migrate_and_seed

    t0 = step("rabbitmq queues, kafka topics")
    conn = pika.BlockingConnection(pika.URLParameters(f"amqp://guest:guest@127.0.0.1:{svc.RABBITMQ_PORT}/%2F"))
    try:
        topology.declare_queues(conn.channel(), SYSTEM.queues)
    finally:
        conn.close()
    topology.create_topics(f"127.0.0.1:{svc.KAFKA_PORT}", SYSTEM.topics)
    done(t0)
    t0 = step("cognito user pool, ssm parameters")
    use_runtime_credentials()
    mongodb_uri = os.environ.get("MONGODB_URI", f"mongodb://127.0.0.1:{svc.FERRETDB_PORT}/")
    state = bootstrap(f"http://127.0.0.1:{svc.AWS_PORT}", mongodb_uri)
    STATE_FILE.write_text(json.dumps(state, indent=2))
    done(t0)
    t0 = step("migrations and demo data")
    migrate_and_seed(SYSTEM)
    done(t0)
    t0 = step("web app (web/dist)")
    from local_runtime.web import build_web_app

    done(t0, build_web_app())
    t0 = step("runtime (functions, HTTP API, schedules, event source mappings, engine)")
    pid_file = RUN / "runtime.pid"
    if runtime_healthy(args.port) and svc.read_pid(pid_file) is not None and not args.restart:
        done(t0, "already running")
    else:
        svc.kill_pid_file(pid_file)
        proc = svc.spawn([str(PYTHON), "-m", "local_runtime", "serve", "--port", str(args.port)],
                         log=LOGS / "runtime.log", cwd=ROOT, pid_file=pid_file)
        svc.wait_until(lambda: runtime_healthy(args.port), 60, "runtime", LOGS / "runtime.log", process=proc)
        done(t0, f"port {args.port}")
    url = f"http://127.0.0.1:{args.port}"
    print(f"""
Web app:    {url}/
API:        {url}
Swagger UI: {url}/docs/assets
Log in:     .venv/bin/python -m local_runtime token {svc_demo()}
            then: curl -H "Authorization: Bearer $TOKEN" {url}/assets
Status:     scripts/status      Stop: scripts/stop      Logs: var/logs/
""")
    return 0


def svc_demo() -> str:
    from local_runtime.aws_bootstrap import DEMO_TRADER

    return f"{DEMO_TRADER[0]} {DEMO_TRADER[1]}"


def cmd_token(args: argparse.Namespace) -> int:
    from local_runtime.aws_bootstrap import login

    state = load_state()
    use_runtime_credentials(state.get("region", "us-east-1"), state.get("aws_endpoint"))
    print(login(state, args.email, args.password)["AccessToken"])
    return 0


def cmd_secret(_: argparse.Namespace) -> int:
    from local_runtime.credentials import control_secret

    print(control_secret())
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from local_runtime.runtime import serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    state = load_state()
    use_runtime_credentials(state.get("region", "us-east-1"), state.get("aws_endpoint"))
    if not state:
        print("no local state: run scripts/up", file=sys.stderr)
        return 2
    serve(SYSTEM, state, args.port)
    return 0


def cmd_stop(_: argparse.Namespace) -> int:
    from local_runtime.runtime import kill_stray_emulators

    svc.kill_pid_file(RUN / "runtime.pid")
    kill_stray_emulators("main")
    for component in reversed(svc.infrastructure(SYSTEM.databases)):
        component.stop()
        print(f"  {component.name} stopped")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    rows = [c.status() for c in svc.infrastructure(SYSTEM.databases)]
    runtime_pid = svc.read_pid(RUN / "runtime.pid")
    rows.append(svc.Status("runtime", runtime_healthy(args.port), args.port, runtime_pid, LOGS / "runtime.log"))
    engine_pid = svc.read_pid(RUN / "engine.pid")
    rows.append(svc.Status("engine", engine_pid is not None, 0, engine_pid, LOGS / "engine.log"))
    print(f"{'component':<12} {'health':<8} {'port':<6} {'pid':<8} log")
    for r in rows:
        print(f"{r.name:<12} {'up' if r.healthy else 'DOWN':<8} {r.port or '-'!s:<6} {r.pid or '-'!s:<8} {r.log}")
    return 0 if all(r.healthy for r in rows) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_runtime")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="install what is missing, start everything, migrate, seed")
    up.add_argument("--port", type=int, default=DEFAULT_PORT)
    up.add_argument("--restart", action="store_true", help="restart the runtime even if it is running")
    serve = sub.add_parser("serve", help="run the runtime in the foreground")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    sub.add_parser("stop", help="stop the runtime and every service")
    status = sub.add_parser("status", help="each component's health, port, pid and log")
    status.add_argument("--port", type=int, default=DEFAULT_PORT)
    token = sub.add_parser("token", help="log in to the local Cognito and print an access token")
    token.add_argument("email")
    token.add_argument("password")
    sub.add_parser("secret", help="print the secret the /_local/* routes need (header X-Local-Runtime-Secret)")
    args = parser.parse_args(argv)
    handlers = {"up": cmd_up, "serve": cmd_serve, "stop": cmd_stop, "status": cmd_status, "token": cmd_token,
                "secret": cmd_secret}
    try:
        return handlers[args.command](args)
    except svc.ComponentError as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
