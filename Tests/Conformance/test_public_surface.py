"""What a client without a key learns from a listener that is not bound to loopback: nothing about the accounts.

The server binds `0.0.0.0` (`open: true` is not needed: it has API keys) and the tests connect over 127.0.0.1. The
listener's bound address decides, never the client's, so this is the exposed case. Every response a stranger can
get (health, readiness, metrics, the console, the models, the document, unknown routes, error bodies of every
kind, an oversized header block) is read, and none may name an account id, a label, a file path or a counter.
Then the same server with an admin key or a metrics key, and SIGTERM cutting an open stream with an error event.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from conftest import MODEL, Env, free_port, stop_process, wait_for_url

API_KEY = "sk-public-api"
ADMIN_KEY = "sk-public-admin"
METRICS_KEY = "sk-public-metrics"
ACCOUNT_IDS = ["acct-alpha7", "acct-bravo9"]
LABELS = ["Label Zulu Secret", "Label Yankee Secret"]
# Per-account counters and metric names: a stranger sees none of them.
COUNTER_WORDS = ["successes", "failures", "in_flight", "q2api_", "_total", "token_expires", "last_error"]


class Exposed:
    def __init__(self, url: str, port: int, config: Path, state: Path, process: subprocess.Popen, log: Path) -> None:
        self.url, self.port, self.config, self.state, self.process, self.log = url, port, config, state, process, log


@pytest.fixture
def exposed(env: Env, tmp_path: Path) -> Iterator[Exposed]:
    if not env.bin:
        pytest.skip("Q2API_BIN is not set")
    port = free_port()
    state = tmp_path / "state-dir"
    config = tmp_path / "exposed-q2api.yaml"
    accounts = "".join(
        f"  - {{id: {account}, label: {label}, client_id: sim-client, client_secret: sim-secret, refresh_token: sim-refresh-token}}\n"
        for account, label in zip(ACCOUNT_IDS, LABELS))
    config.write_text(
        "version: 1\n"
        f"listeners: [{{address: '0.0.0.0:{port}'}}]\n"
        f'api_keys: ["{API_KEY}"]\n'
        f'admin_keys: ["{ADMIN_KEY}"]\n'
        f'metrics_keys: ["{METRICS_KEY}"]\n'
        f"upstream: {{endpoint: '{env.sim_url}/', oidc_endpoint: '{env.sim_url}'}}\n"
        f"state_dir: {state}\n"
        "accounts:\n" + accounts)
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([env.bin, "serve", "-c", str(config), "--drain-timeout", "1"], stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_url(url + "/healthz", process, log)
        yield Exposed(url, port, config, state, process, log)
    finally:
        stop_process(process)


def secrets_of(server: Exposed) -> list[str]:
    """What no unauthenticated response may contain: ids, labels, paths, counters."""
    return ACCOUNT_IDS + LABELS + [str(server.config), str(server.state), str(server.config.parent), "exposed-q2api.yaml",
                                   "/tmp", "state-dir"] + COUNTER_WORDS


def assert_tells_nothing(server: Exposed, what: str, text: str) -> None:
    for secret in secrets_of(server):
        assert secret not in text, f"{what} names {secret!r}:\n{text[:2000]}"


def raw_request(port: int, data: bytes) -> str:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        try:
            connection.sendall(data)
        except OSError:
            pass  # the server may answer and close before it read everything
        received = b""
        while True:
            try:
                chunk = connection.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            received += chunk
    return received.decode(errors="replace")


def test_no_unauthenticated_response_names_an_account_a_label_a_path_or_a_counter(exposed: Exposed) -> None:
    # Traffic first, so that counters and per-account states exist to leak.
    for _ in range(3):
        reply = httpx.post(exposed.url + "/v1/messages", headers={"x-api-key": API_KEY}, timeout=30, trust_env=False,
                           json={"model": MODEL, "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]})
        assert reply.status_code == 200, reply.text

    stranger = httpx.Client(base_url=exposed.url, timeout=15, trust_env=False)
    with stranger:
        # Health and readiness: status and counts only.
        for path in ["/healthz", "/health", "/readyz"]:
            for headers in [{}, {"x-api-key": API_KEY}, {"authorization": "Bearer nope"}, {"x-admin-key": "nope"}]:
                reply = stranger.get(path, headers=headers)
                assert reply.status_code == 200, (path, reply.text)
                body = reply.json()
                assert body["status"] == "ok"
                assert body["accounts"]["usable"] == 2 and body["accounts"]["total"] == 2
                assert "items" not in body["accounts"]
                assert set(body["config"]) == {"generation", "last_reload_failed"}
                assert_tells_nothing(exposed, f"GET {path} {headers}", reply.text)
            head = stranger.head(path)
            assert head.status_code == 200 and head.content == b""

        # Metrics: a plain 401 without a metrics key or an admin key (an API key is not one).
        for headers in [{}, {"x-api-key": API_KEY}, {"authorization": f"Bearer {API_KEY}"}, {"authorization": "Bearer nope"}]:
            reply = stranger.get("/metrics", headers=headers)
            assert reply.status_code == 401, (headers, reply.text)
            assert reply.headers["content-type"].startswith("text/plain")
            assert reply.headers["www-authenticate"].startswith("Bearer")
            assert_tells_nothing(exposed, f"GET /metrics {headers}", reply.text)

        # Everything else a stranger can reach, and the errors of each dialect and surface.
        probes = [
            ("GET", "/", None), ("GET", "/console", None), ("GET", "/v1/models", None), ("GET", "/openapi.yaml", None),
            ("GET", "/no/such/route", None), ("POST", "/healthz", b"{}"), ("HEAD", "/metrics", None), ("HEAD", "/nope", None),
            ("GET", "/v2/accounts", None), ("GET", f"/v2/accounts/{ACCOUNT_IDS[0]}", None), ("GET", "/v2/config", None),
            ("POST", "/v2/reload", b"{}"), ("POST", "/v1/messages", b"{}"), ("POST", "/v1/chat/completions", b"{}"),
            ("POST", "/v1/messages/count_tokens", b"{}"), ("GET", "/v1/models/x", None),
        ]
        for method, path, body in probes:
            for headers in [{}, {"authorization": "Bearer nope"}]:
                reply = stranger.request(method, path, content=body, headers={**headers, "content-type": "application/json"})
                assert reply.status_code < 500, (method, path, reply.status_code, reply.text[:500])
                text = reply.text
                if path in ("/openapi.yaml", "/", "/console") and reply.status_code == 200:
                    # Static documents (the API description, the console's page) name fields such as `successes`;
                    # they hold nothing of this server: no account, label or path.
                    for secret in ACCOUNT_IDS + LABELS + [str(exposed.config), str(exposed.state)]:
                        assert secret not in text
                    continue
                assert_tells_nothing(exposed, f"{method} {path} {headers}", text + "\n" + str(dict(reply.headers)))

        # An oversized header block: a 431 in the dialect's shape, naming nothing either.
        filler = "".join(f"x-filler-{index}: {'a' * 8000}\r\n" for index in range(12))
        for path, shape in [("/v1/messages", "claude"), ("/v1/chat/completions", "openai"), ("/v2/accounts", "admin")]:
            text = raw_request(exposed.port, f"POST {path} HTTP/1.1\r\nhost: x\r\n{filler}\r\n".encode())
            assert text.startswith("HTTP/1.1 431"), (path, text[:300])
            assert_tells_nothing(exposed, f"431 on {path}", text)
            if shape == "claude":
                assert '"type":"error"' in text and '"invalid_request_error"' in text
            elif shape == "openai":
                assert '"code":"request_header_fields_too_large"' in text and '"type":"error"' not in text
            else:
                assert '"type":"request_header_fields_too_large"' in text


def test_keys_open_the_details(exposed: Exposed) -> None:
    for headers in [{"authorization": f"Bearer {ADMIN_KEY}"}, {"x-admin-key": ADMIN_KEY}]:
        body = httpx.get(exposed.url + "/healthz", headers=headers, timeout=10, trust_env=False).json()
        assert sorted(item["id"] for item in body["accounts"]["items"]) == sorted(ACCOUNT_IDS)
        assert body["config"]["path"] == str(exposed.config)
    for key in [METRICS_KEY, ADMIN_KEY]:
        reply = httpx.get(exposed.url + "/metrics", headers={"authorization": f"Bearer {key}"}, timeout=10, trust_env=False)
        assert reply.status_code == 200
        assert re.search(r'q2api_account_in_flight\{account="acct-alpha7"\}', reply.text), reply.text[:1000]
    # The metrics key opens /metrics only: /healthz stays public, the admin API stays closed.
    reply = httpx.get(exposed.url + "/healthz", headers={"authorization": f"Bearer {METRICS_KEY}"}, timeout=10, trust_env=False)
    assert "items" not in reply.json()["accounts"]
    assert httpx.get(exposed.url + "/v2/accounts", headers={"authorization": f"Bearer {METRICS_KEY}"}, timeout=10,
                     trust_env=False).status_code == 401


def test_sigterm_past_the_drain_time_ends_open_streams_with_an_error_event(exposed: Exposed, env: Env) -> None:
    results: dict[str, str] = {}

    def stream(name: str, path: str, body: dict) -> None:
        try:
            with httpx.stream("POST", exposed.url + path, headers={"x-api-key": API_KEY}, json=body, timeout=30,
                              trust_env=False) as response:
                results[name] = response.read().decode()
        except httpx.HTTPError as error:
            results[name] = f"transport error: {error!r}"

    held = "hi [[sim:text:Begun.]][[sim:hold]]"
    threads = [
        threading.Thread(target=stream, args=("claude", "/v1/messages", {
            "model": MODEL, "max_tokens": 64, "stream": True, "messages": [{"role": "user", "content": held}]})),
        threading.Thread(target=stream, args=("openai", "/v1/chat/completions", {
            "model": MODEL, "stream": True, "messages": [{"role": "user", "content": held}]})),
    ]
    before = httpx.get(env.sim_url + "/__sim/state", trust_env=False).json()["heldStreams"]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 15
    while httpx.get(env.sim_url + "/__sim/state", trust_env=False).json()["heldStreams"] < before + 2:
        assert time.monotonic() < deadline, "the streams are not held"
        time.sleep(0.05)
    exposed.process.send_signal(signal.SIGTERM)
    for thread in threads:
        thread.join(timeout=20)
    httpx.post(env.sim_url + "/__sim/release", trust_env=False)
    assert exposed.process.wait(timeout=20) == 0

    claude = results.get("claude", "")
    assert "Begun" in claude
    events = [line[len("event: "):] for line in claude.splitlines() if line.startswith("event: ")]
    assert events[-1] == "error", claude
    assert '"overloaded_error"' in claude and "message_stop" not in claude

    openai = results.get("openai", "")
    assert "Begun" in openai
    data = [line[len("data: "):] for line in openai.splitlines() if line.startswith("data: ")]
    assert '"error"' in data[-1] and '"overloaded"' in data[-1], openai
    assert "[DONE]" not in openai
