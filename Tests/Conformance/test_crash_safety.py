"""Crash safety of the state directory: SIGKILL during and right after token refreshes loses no rotated
refresh token, and the server restarts cleanly every time.

The test runs its own simulator that rotates refresh tokens (the old one is refused afterwards, as the real
service does) and takes a while to answer each refresh, and a server whose tokens live three seconds, so the
background loop refreshes about every second. A lost rotated token would show as `invalid_grant` after the
restart: the account would go `refresh_failed` and requests would fail.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from conftest import MODEL, free_port

KEY = "sk-crash-key"
SEED = "seed-refresh-token"


def wait_until(condition, what: str, timeout: float = 15, process: subprocess.Popen | None = None, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            pytest.fail(f"process exited ({process.returncode}) while waiting until {what}:\n{log.read_text(errors='replace') if log else ''}")
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    pytest.fail(f"timed out waiting until {what}:\n{log.read_text(errors='replace') if log else ''}")


def get_json(url: str) -> dict | None:
    try:
        response = httpx.get(url, timeout=1, trust_env=False)
        return response.json() if response.status_code == 200 else None
    except httpx.HTTPError:
        return None


@pytest.fixture
def simulator(env, tmp_path):
    if not env.bin:
        pytest.skip("Q2API_BIN is not set")
    port = free_port()
    log = tmp_path / "simulate.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [env.bin, "simulate", "--port", str(port), "--refresh-token", SEED, "--rotate-refresh-tokens",
             "--token-lifetime", "3", "--token-delay-ms", "400"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: get_json(url + "/__sim/state"), "the simulator answers", process=process, log=log)
    yield url
    process.terminate()
    process.wait(timeout=10)


def start_server(binary: str, sim_url: str, directory: Path, run: int):
    port = free_port()
    config = directory / "q2api.yaml"
    config.write_text(
        "version: 1\n"
        f"listeners: [{{address: '127.0.0.1:{port}'}}]\n"
        f'api_keys: ["{KEY}"]\n'
        f"upstream: {{endpoint: '{sim_url}/', oidc_endpoint: '{sim_url}'}}\n"
        "refresh: {before_expiry: 2s, jitter: 0s}\n"
        "state_dir: ./state\n"
        "accounts:\n"
        "  - {id: main, client_id: c, client_secret: s, refresh_token: " + SEED + "}\n"
    )
    log = directory / f"serve-{run}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([binary, "serve", "-c", str(config)], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: get_json(url + "/healthz"), "the server answers /healthz", process=process, log=log)
    return process, url, log


def message(url: str) -> httpx.Response:
    return httpx.post(
        url + "/v1/messages", headers={"x-api-key": KEY},
        json={"model": MODEL, "max_tokens": 32, "messages": [{"role": "user", "content": "hi"}]}, timeout=30, trust_env=False)


def token_records(directory: Path) -> list[dict]:
    path = directory / "state" / "main.jsonl"
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a torn last line is allowed; the server ignores it too
        if record.get("type") == "token":
            records.append(record)
    return records


def test_sigkill_during_and_after_refreshes_loses_no_rotated_token(env, simulator, tmp_path):
    rng = random.Random(20261122)
    killed_in_flight = 0
    killed_after_persist = 0
    for run in range(8):
        process, url, log = start_server(env.bin, simulator, tmp_path, run)
        try:
            response = message(url)
            assert response.status_code == 200, f"run {run}: {response.text}\n{log.read_text(errors='replace')}"
            if run % 2 == 0:
                # Kill while the simulator holds a refresh (before it rotates): the old token must still work.
                wait_until(lambda: get_json(simulator + "/__sim/state")["refreshesInFlight"] > 0, "a refresh is in flight",
                           process=process, log=log)
                time.sleep(rng.uniform(0, 0.3))
                killed_in_flight += 1
            else:
                # Kill right after a rotated token reached the state file: the new one must be the one on disk.
                before = len(token_records(tmp_path))
                wait_until(lambda: len(token_records(tmp_path)) > before, "a refreshed token is written", process=process, log=log)
                killed_after_persist += 1
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()

    process, url, log = start_server(env.bin, simulator, tmp_path, 99)
    try:
        for _ in range(3):
            response = message(url)
            assert response.status_code == 200, f"after the crashes: {response.text}\n{log.read_text(errors='replace')}"
        # Force a refresh now: only the latest rotated token can pass it.
        wait_until(lambda: len(token_records(tmp_path)) >= 1, "tokens on disk")
        state = get_json(simulator + "/__sim/state")
        wait_until(lambda: get_json(simulator + "/__sim/state")["refreshCount"] > state["refreshCount"], "one more refresh", log=log)
        health = get_json(url + "/healthz")
        account = health["accounts"]["items"][0]
        assert account["state"] == "active", account
        assert message(url).status_code == 200
        records = token_records(tmp_path)
        assert all(record["refresh_token"] != SEED for record in records)
        assert len({record["refresh_token"] for record in records}) == len(records), "every refresh rotated the token"
        assert (tmp_path / "state" / "main.jsonl").stat().st_mode & 0o777 == 0o600
        assert killed_in_flight == 4 and killed_after_persist == 4
        log_text = log.read_text(errors="replace")
        assert SEED not in log_text and "refresh_token" not in log_text.lower()
    finally:
        process.terminate()
        process.wait(timeout=15)
