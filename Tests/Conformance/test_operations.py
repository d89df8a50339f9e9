"""Operating the real binary: reload on SIGHUP, reload on file edits, graceful drain on SIGTERM.

Each test runs its own `q2api serve` (own config file, own port) against the shared simulator,
so signals and config edits never disturb the other tests.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from conftest import MODEL, free_port

KEY = "sk-ops-key"


class Server:
    def __init__(self, binary: str, sim_url: str, tmp: Path, extra: str = "") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = tmp / "q2api.yaml"
        self.config.write_text(
            "version: 1\n"
            "listeners:\n"
            f"  - address: 127.0.0.1:{self.port}\n"
            f'api_keys: ["{KEY}"]\n'
            "upstream:\n"
            f"  endpoint: {sim_url}/\n"
            f"  oidc_endpoint: {sim_url}/\n"
            f"{extra}"
            "accounts:\n"
            "  - id: sim\n"
            "    client_id: sim-client\n"
            "    client_secret: sim-secret\n"
            "    refresh_token: sim-refresh-token\n"
        )
        self.log = tmp / "serve.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen([binary, "serve", "-c", str(self.config)], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        self.wait_until(lambda: self.health() is not None, "the server answers /healthz")

    def health(self) -> dict | None:
        try:
            response = httpx.get(self.url + "/healthz", timeout=1, trust_env=False)
            return response.json() if response.status_code == 200 else None
        except httpx.HTTPError:
            return None

    def generation(self) -> int:
        health = self.health() or {}
        return health.get("config", {}).get("generation", 0)

    def message(self, text: str, key: str = KEY, stream: bool = False, timeout: float = 30) -> httpx.Response:
        return httpx.post(
            self.url + "/v1/messages",
            headers={"x-api-key": key},
            json={"model": MODEL, "max_tokens": 64, "stream": stream, "messages": [{"role": "user", "content": text}]},
            timeout=timeout,
            trust_env=False,
        )

    def wait_until(self, condition, what: str, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"q2api exited ({self.process.returncode}) while waiting until {what}:\n{self.log.read_text(errors='replace')}")
            if condition():
                return
            time.sleep(0.05)
        pytest.fail(f"timed out waiting until {what}:\n{self.log.read_text(errors='replace')}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def server(env, tmp_path):
    if not env.bin:
        pytest.skip("Q2API_BIN is not set")
    started = Server(env.bin, env.sim_url, tmp_path)
    yield started
    started.stop()


def test_sighup_reloads_the_config(server: Server) -> None:
    assert server.message("hi", key="sk-new").status_code == 401
    text = server.config.read_text().replace(f'api_keys: ["{KEY}"]', f'api_keys: ["{KEY}", "sk-new"]')
    server.config.write_text(text)
    server.process.send_signal(signal.SIGHUP)
    server.wait_until(lambda: server.generation() >= 2, "the reload is applied")
    assert server.message("hi", key="sk-new").status_code == 200
    assert server.message("hi").status_code == 200


def test_an_invalid_config_is_rejected_and_the_old_one_keeps_serving(server: Server) -> None:
    original = server.config.read_text()
    server.config.write_text(original + "balancing: {strategy: fastest}\n")
    server.process.send_signal(signal.SIGHUP)
    server.wait_until(lambda: (server.health() or {}).get("config", {}).get("last_reload_error"), "the error is reported")
    error = server.health()["config"]["last_reload_error"]
    assert "q2api.yaml:" in error and "balancing.strategy" in error
    assert server.generation() == 1
    assert server.message("still here").status_code == 200
    server.config.write_text(original)
    server.process.send_signal(signal.SIGHUP)
    server.wait_until(lambda: server.generation() == 2, "the fixed file is applied")
    assert server.health()["config"]["last_reload_error"] is None


def test_an_edited_file_is_reloaded_without_a_signal(server: Server) -> None:
    server.config.write_text(server.config.read_text().replace(f'api_keys: ["{KEY}"]', f'api_keys: ["{KEY}", "sk-polled"]'))
    server.wait_until(lambda: server.generation() >= 2, "the polled change is applied")
    assert server.message("hi", key="sk-polled").status_code == 200


def test_sigterm_drains_an_open_stream_then_exits(server: Server, env) -> None:
    result: dict = {}

    def stream() -> None:
        response = server.message("[[sim:hold]]", stream=True)
        result["status"] = response.status_code
        result["body"] = response.text

    thread = threading.Thread(target=stream)
    thread.start()
    server.wait_until(lambda: httpx.get(env.sim_url + "/__sim/state", trust_env=False).json()["heldStreams"] >= 1, "the stream is held")
    server.process.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    assert server.process.poll() is None, "the server waits for the open stream"
    httpx.post(env.sim_url + "/__sim/release", trust_env=False)
    thread.join(timeout=15)
    assert result.get("status") == 200
    assert "event: message_stop" in result.get("body", "")
    assert server.process.wait(timeout=15) == 0
