"""local_runtime/web.py on its own: what it serves from web/dist, and what it refuses."""

from __future__ import annotations

import json
from pathlib import Path

from local_runtime.web import WebApp, build_web_app


def app(tmp_path: Path) -> WebApp:
    dist = tmp_path / "dist"
    (dist / "static").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>x</title>")
    (dist / "static" / "app.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("not for the browser")
    return WebApp({"client_id": "abc", "region": "us-east-1", "aws_endpoint": "http://127.0.0.1:9"}, 3001, dist)


def test_serves_the_app_its_files_and_config(tmp_path: Path) -> None:
    web = app(tmp_path)
    index = web.handle("GET", "/", {"Host": "127.0.0.1:3000"}, b"")
    assert index is not None and index.status == 200 and b"<title>x" in index.body
    js = web.handle("GET", "/static/app.js", {}, b"")
    assert js is not None and js.status == 200
    assert dict(js.headers)["content-type"].startswith(("text/javascript", "application/javascript"))
    assert dict(js.headers)["x-content-type-options"] == "nosniff"
    config = web.handle("GET", "/config.json", {"Host": "localhost:3000"}, b"")
    assert config is not None
    assert json.loads(config.body) == {"apiUrl": "", "wsUrl": "ws://localhost:3001/live", "cognitoUrl": "/cognito-idp/",
                                       "clientId": "abc", "region": "us-east-1"}


def test_leaves_the_rest_to_the_api_and_never_leaves_dist(tmp_path: Path) -> None:
    web = app(tmp_path)
    assert web.handle("GET", "/static/../../secret.txt", {}, b"") is None
    assert web.handle("GET", "/static/%2e%2e/secret.txt", {}, b"") is None
    assert web.handle("GET", "/orders", {}, b"") is None
    assert web.handle("POST", "/", {}, b"") is None


def test_only_cognitos_public_actions_pass(tmp_path: Path) -> None:
    web = app(tmp_path)
    refused = web.handle("POST", "/cognito-idp/", {"X-Amz-Target": "AWSCognitoIdentityProviderService.AdminCreateUser"},
                         b"{}")
    assert refused is not None and refused.status == 400
    down = web.handle("POST", "/cognito-idp/", {"X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth"},
                      b"{}")
    assert down is not None and down.status == 502  # nothing listens on the test's endpoint


def test_not_built_says_how_to_build(tmp_path: Path) -> None:
    web = WebApp({}, 3001, tmp_path / "missing")
    answer = web.handle("GET", "/", {}, b"")
    assert answer is not None and answer.status == 503 and b"scripts/up" in answer.body


def test_build_is_skipped_when_dist_is_newer_than_the_sources(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.ts").write_text("export {}")
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "index.html").write_text("built")
    assert build_web_app(tmp_path) == "up to date"
