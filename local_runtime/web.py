"""The web app (``web/``, docs/web.md) on the runtime's port, under the API: what no API route matches.

- ``GET /`` and ``GET /static/*``: the built app in ``web/dist`` (``npm run build``; ``scripts/up`` builds it).
- ``GET /config.json``: the endpoints the app needs, as ``infra/web.py`` writes them on AWS: the API (same
  origin here), the WebSocket API, the Cognito endpoint and the app client's id.
- ``POST /cognito-idp/``: Cognito's public (client-side) actions, passed to the local Cognito. A browser cannot
  call it directly (another origin without CORS, behind the signature gate); on AWS the app calls
  ``cognito-idp.<region>.amazonaws.com``, which answers CORS itself. Only the actions AWS serves unsigned pass.
"""

from __future__ import annotations

import json
import mimetypes
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from local_runtime.http_api import HttpResponse, header, json_response
from local_runtime.moto_server import COGNITO_TARGET_PREFIX, PUBLIC_COGNITO_ACTIONS
from local_runtime.paths import ROOT

DIST = ROOT / "web" / "dist"
COGNITO_PATH = "/cognito-idp/"
SECURITY_HEADERS = [("x-content-type-options", "nosniff"), ("x-frame-options", "DENY"),
                    ("referrer-policy", "same-origin")]
NOT_BUILT = (b"<!doctype html><meta charset=utf-8><title>My Broker B3</title>"
             b"<p>The web app is not built: run <code>scripts/up</code> (or <code>npm ci && npm run build</code> "
             b"in <code>web/</code>).</p>")


class WebApp:
    def __init__(self, state: Mapping[str, str], ws_port: int, dist: Path = DIST) -> None:
        self.state = state
        self.ws_port = ws_port
        self.dist = dist.resolve()

    def config(self, host: str) -> dict[str, str]:
        hostname = host.rsplit(":", 1)[0] if host.count(":") == 1 else host  # IPv6 hosts keep their brackets
        return {
            "apiUrl": "",  # same origin
            "wsUrl": f"ws://{hostname or '127.0.0.1'}:{self.ws_port}/live",
            "cognitoUrl": COGNITO_PATH,
            "clientId": self.state.get("client_id", ""),
            "region": self.state.get("region", "us-east-1"),
        }

    def handle(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> HttpResponse | None:
        """The answer, or None when the path is not the web app's (the caller answers 404)."""
        if path == COGNITO_PATH and method == "POST":
            return self._cognito(headers, body)
        if method not in ("GET", "HEAD"):
            return None
        if path == "/config.json":
            answer = json.dumps(self.config(header(headers, "host") or "")).encode()
            return HttpResponse(200, [("content-type", "application/json"), ("cache-control", "no-store"),
                                      *SECURITY_HEADERS], answer)
        if path in ("/", "/index.html"):
            return self._file(self.dist / "index.html", "no-cache")
        if path.startswith("/static/") or path in ("/favicon.ico", "/robots.txt"):
            return self._file(self.dist / path.lstrip("/"), "public, max-age=31536000, immutable")
        return None

    def _file(self, wanted: Path, cache: str) -> HttpResponse | None:
        try:
            resolved = wanted.resolve()
        except OSError:
            return None
        if not resolved.is_relative_to(self.dist) or not resolved.is_file():
            if wanted.name == "index.html":
                return HttpResponse(503, [("content-type", "text/html; charset=utf-8"), *SECURITY_HEADERS], NOT_BUILT)
            return None
        kind = mimetypes.guess_type(resolved.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/javascript", "text/javascript"):
            kind += "; charset=utf-8"
        return HttpResponse(200, [("content-type", kind), ("cache-control", cache), *SECURITY_HEADERS],
                            resolved.read_bytes())

    def _cognito(self, headers: Mapping[str, str], body: bytes) -> HttpResponse:
        target = header(headers, "x-amz-target") or ""
        action = target[len(COGNITO_TARGET_PREFIX):] if target.startswith(COGNITO_TARGET_PREFIX) else ""
        if action not in PUBLIC_COGNITO_ACTIONS:
            return json_response(400, {"__type": "InvalidAction", "message": "only Cognito's public actions"}, "local")
        endpoint = self.state.get("aws_endpoint", "http://127.0.0.1:4566").rstrip("/") + "/"
        request = urllib.request.Request(endpoint, data=body, method="POST", headers={
            "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target})
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        except (urllib.error.URLError, OSError):
            return json_response(502, {"__type": "ServiceUnavailable", "message": "the local Cognito is down"},
                                 "local")
        return HttpResponse(status, [("content-type", "application/x-amz-json-1.1"), ("cache-control", "no-store")],
                            raw)


WEB = ROOT / "web"
SOURCES = ("src", "public", "index.html", "package.json", "package-lock.json", "vite.config.ts", "tsconfig.json")


def newest_source(web: Path = WEB) -> float:
    newest = 0.0
    for name in SOURCES:
        p = web / name
        files = [f for f in p.rglob("*") if f.is_file()] if p.is_dir() else [p] if p.exists() else []
        newest = max([newest, *(f.stat().st_mtime for f in files)])
    return newest


def build_web_app(web: Path = WEB, log: Path | None = None) -> str:
    """``npm ci && npm run build`` in web/, skipped when web/dist is newer than every source (``npm ci`` only when
    the lock changed since node_modules was installed). Returns what it did."""
    import shutil
    import subprocess

    from local_runtime.paths import LOGS
    from local_runtime.services import ComponentError

    index = web / "dist" / "index.html"
    if index.exists() and index.stat().st_mtime >= newest_source(web):
        return "up to date"
    npm = shutil.which("npm")
    if npm is None:
        raise ComponentError("web app: npm is not installed (Node.js 20.19+ is needed to build web/)")
    log = log or LOGS / "web-build.log"
    installed = web / "node_modules" / ".package-lock.json"
    steps = [[npm, "run", "build"]]
    if not installed.exists() or installed.stat().st_mtime < (web / "package-lock.json").stat().st_mtime:
        steps.insert(0, [npm, "ci", "--no-audit", "--no-fund"])
    with log.open("ab") as out:
        for cmd in steps:
            if subprocess.run(cmd, cwd=web, stdout=out, stderr=subprocess.STDOUT).returncode != 0:
                raise ComponentError(f"web app: `{' '.join(cmd[1:])}` failed in web/ (see {log})")
    index.touch()  # a build that changed nothing still counts as newer than the sources
    return "built"
