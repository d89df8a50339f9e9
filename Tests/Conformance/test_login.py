"""`q2api login`: the device-code login from the terminal, against the real binary and the simulator.

A server that is already running picks the new account up from the state directory by itself; Ctrl-C while
waiting for the approval leaves nothing behind.
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

KEY = "sk-login-key"


def start_simulator(binary: str, tmp: Path, *flags: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    log = open(tmp / f"simulate-{port}.log", "wb")
    process = subprocess.Popen([binary, "simulate", "--port", str(port), *flags], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/__sim/state", timeout=1, trust_env=False).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    pytest.fail("the simulator did not start")


def write_config(tmp: Path, sim_url: str, port: int) -> Path:
    config = tmp / "q2api.yaml"
    config.write_text(
        "version: 1\n"
        f"listeners: [{{address: '127.0.0.1:{port}'}}]\n"
        f'api_keys: ["{KEY}"]\n'
        f"upstream: {{endpoint: '{sim_url}/', oidc_endpoint: '{sim_url}'}}\n"
        "state_dir: ./state\n"
        "accounts: []\n"
    )
    return config


def read_first_line(process: subprocess.Popen, timeout: float = 20) -> str:
    """The first line the process prints, or a failure after `timeout` (the process is then killed)."""
    watchdog = threading.Timer(timeout, process.kill)
    watchdog.start()
    try:
        return process.stdout.readline()
    finally:
        watchdog.cancel()


@pytest.fixture
def binary(env) -> str:
    if not env.bin:
        pytest.skip("Q2API_BIN is not set")
    return env.bin


def test_login_adds_an_account_a_running_server_picks_up(binary, tmp_path):
    simulator, sim_url = start_simulator(binary, tmp_path, "--auto-approve-device-after", "1")
    port = free_port()
    config = write_config(tmp_path, sim_url, port)
    log = open(tmp_path / "serve.log", "wb")
    server = subprocess.Popen([binary, "serve", "-c", str(config)], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/healthz", timeout=1, trust_env=False).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        no_account = httpx.post(url + "/v1/messages", headers={"x-api-key": KEY}, timeout=10, trust_env=False,
                                json={"model": MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]})
        assert no_account.status_code == 529

        login = subprocess.run([binary, "login", "-c", str(config), "--label", "Work Laptop"], capture_output=True, text=True, timeout=60)
        assert login.returncode == 0, login.stderr
        assert "user_code=" in login.stdout and "Added account work-laptop" in login.stdout
        state_file = tmp_path / "state" / "work-laptop.jsonl"
        assert state_file.stat().st_mode & 0o777 == 0o600
        types = [line.split('"type":"')[1].split('"')[0] for line in state_file.read_text().splitlines()]
        assert types == ["account", "token"]

        listing = subprocess.run([binary, "accounts", "-c", str(config), "--json"], capture_output=True, text=True, timeout=30)
        assert '"id":"work-laptop"' in listing.stdout.replace(" ", "") and '"source":"state"' in listing.stdout.replace(" ", "")

        deadline = time.monotonic() + 15
        items: list = []
        while time.monotonic() < deadline:
            items = httpx.get(url + "/healthz", timeout=2, trust_env=False).json()["accounts"]["items"]
            if any(item["id"] == "work-laptop" for item in items):
                break
            time.sleep(0.1)
        assert [item["source"] for item in items if item["id"] == "work-laptop"] == ["state"]
        reply = httpx.post(url + "/v1/messages", headers={"x-api-key": KEY}, timeout=30, trust_env=False,
                           json={"model": MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]})
        assert reply.status_code == 200, reply.text
    finally:
        server.terminate()
        server.wait(timeout=15)
        simulator.terminate()
        simulator.wait(timeout=10)


def test_ctrl_c_while_waiting_for_approval_leaves_nothing_behind(binary, tmp_path):
    simulator, sim_url = start_simulator(binary, tmp_path)  # never approves by itself
    config = write_config(tmp_path, sim_url, free_port())
    try:
        login = subprocess.Popen([binary, "login", "-c", str(config), "--label", "abandoned"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = read_first_line(login)
        assert "open" in first.lower()
        time.sleep(1.5)
        login.send_signal(signal.SIGINT)
        assert login.wait(timeout=15) != 0
        assert not (tmp_path / "state").exists() or not any((tmp_path / "state").iterdir())
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)


def test_a_denied_login_saves_nothing_and_says_why(binary, tmp_path):
    simulator, sim_url = start_simulator(binary, tmp_path)
    config = write_config(tmp_path, sim_url, free_port())
    try:
        login = subprocess.Popen([binary, "login", "-c", str(config)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        read_first_line(login)
        time.sleep(0.5)
        httpx.post(sim_url + "/__sim/device/deny", trust_env=False, timeout=5)
        _, stderr = login.communicate(timeout=30)
        assert login.returncode == 1
        assert "denied" in stderr.lower() and "nothing was saved" in stderr
        assert not (tmp_path / "state").exists() or not any((tmp_path / "state").iterdir())
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)
