"""`q2api import`: credentials a user already has (the Kiro IDE's token cache, the Amazon Q CLI's database),
imported by the real binary under a temporary HOME, with the simulator as the OIDC token endpoint.

Nothing is written before a refresh with the imported token succeeds; a running server picks the new account up
from the state directory by itself; a dry run refreshes and writes nothing and prints no secret.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from conftest import MODEL, free_port

KEY = "sk-import-key"
IDC_REFRESH = "aorIMPORTIDCREFRESH0000000000001"
IDC_ACCESS = "aoaIMPORTIDCACCESS00000000000001"
IDC_CLIENT_SECRET = "IMPORTIDCCLIENTSECRET00000000001"
CLI_REFRESH = "aorIMPORTCLIREFRESH0000000000002"
CLI_ACCESS = "aoaIMPORTCLIACCESS00000000000002"
CLI_CLIENT_SECRET = "IMPORTCLICLIENTSECRET00000000002"
SECRETS = [IDC_REFRESH, IDC_ACCESS, IDC_CLIENT_SECRET, CLI_REFRESH, CLI_ACCESS, CLI_CLIENT_SECRET]
CLIENT_HASH = "e87895ae36d9539303a0bcd27feb465a60aeb433"


@pytest.fixture
def binary() -> str:
    path = os.environ.get("Q2API_BIN")
    if not path:
        pytest.skip("Q2API_BIN is not set")
    return path


def make_home(root: Path) -> Path:
    """A HOME with what the Kiro IDE (an IdC sign-in, expired access token) and the Amazon Q CLI leave behind."""
    home = root / "home"
    cache = home / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True)
    (cache / "kiro-auth-token.json").write_text(json.dumps({
        "accessToken": IDC_ACCESS, "refreshToken": IDC_REFRESH, "expiresAt": "2025-10-08T17:12:56.785Z",
        "clientIdHash": CLIENT_HASH, "authMethod": "IdC", "provider": "Enterprise", "region": "us-east-1",
    }))
    (cache / f"{CLIENT_HASH}.json").write_text(json.dumps({
        "clientId": "IMPORTIDCCLIENTID000000000001", "clientSecret": IDC_CLIENT_SECRET, "expiresAt": "2099-12-08T14:10:50.000Z",
    }))
    data = home / ".local" / "share" / "amazon-q"
    data.mkdir(parents=True)
    db = sqlite3.connect(data / "data.sqlite3")
    db.execute("CREATE TABLE auth_kv (key TEXT PRIMARY KEY, value TEXT)")
    db.execute("INSERT INTO auth_kv VALUES (?, ?)", ("codewhisperer:odic:token", json.dumps({
        "access_token": CLI_ACCESS, "expires_at": "2099-01-01T00:00:00Z", "refresh_token": CLI_REFRESH, "region": "us-east-1",
        "start_url": "https://view.awsapps.com/start", "oauth_flow": "DeviceCode", "scopes": ["codewhisperer:completions"],
    })))
    db.execute("INSERT INTO auth_kv VALUES (?, ?)", ("codewhisperer:odic:device-registration", json.dumps({
        "client_id": "IMPORTCLICLIENTID000000000002", "client_secret": CLI_CLIENT_SECRET,
        "client_secret_expires_at": "2099-01-01T00:00:00Z", "region": "us-east-1", "oauth_flow": "DeviceCode",
    })))
    db.commit()
    db.close()
    return home


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
        f"upstream: {{endpoint: '{sim_url}/', oidc_endpoint: '{sim_url}', kiro_auth_endpoint: '{sim_url}'}}\n"
        "state_dir: ./state\n"
        "accounts: []\n"
    )
    return config


def run_import(binary: str, config: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if key != "XDG_DATA_HOME"}
    environment["HOME"] = str(home)
    return subprocess.run([binary, "import", "-c", str(config), *args], capture_output=True, text=True, timeout=60, env=environment)


def state_files(tmp: Path) -> list[str]:
    state = tmp / "state"
    return sorted(p.name for p in state.glob("*.jsonl")) if state.exists() else []


def test_dry_run_shows_what_would_be_imported_without_secrets_and_writes_nothing(binary, tmp_path):
    simulator, sim_url = start_simulator(binary, tmp_path, "--refresh-token", IDC_REFRESH, "--refresh-token", CLI_REFRESH)
    try:
        config = write_config(tmp_path, sim_url, free_port())
        home = make_home(tmp_path)
        result = run_import(binary, config, home, "--dry-run")
        assert result.returncode == 0, result.stderr
        assert "Kiro IDE token cache" in result.stdout and "Amazon Q CLI database" in result.stdout
        assert "would import as account kiro-ide" in result.stdout
        assert "would import as account q-cli" in result.stdout
        assert "expired" in result.stdout  # the Kiro IDE's access token; the import's refresh would renew it
        for secret in SECRETS:
            assert secret not in result.stdout + result.stderr
        assert state_files(tmp_path) == []
        assert httpx.get(sim_url + "/__sim/state", timeout=5, trust_env=False).json()["refreshCount"] == 0
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)


def test_import_adds_accounts_a_running_server_serves_and_a_second_import_adds_none(binary, tmp_path):
    simulator, sim_url = start_simulator(
        binary, tmp_path, "--refresh-token", IDC_REFRESH, "--refresh-token", CLI_REFRESH, "--rotate-refresh-tokens")
    port = free_port()
    config = write_config(tmp_path, sim_url, port)
    home = make_home(tmp_path)
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

        result = run_import(binary, config, home)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "imported as account kiro-ide" in result.stdout and "imported as account q-cli" in result.stdout
        for secret in SECRETS:
            assert secret not in result.stdout + result.stderr
        assert state_files(tmp_path) == ["kiro-ide.jsonl", "q-cli.jsonl"]
        state_file = tmp_path / "state" / "kiro-ide.jsonl"
        assert state_file.stat().st_mode & 0o777 == 0o600
        types = [json.loads(line)["type"] for line in state_file.read_text().splitlines()]
        assert types == ["account", "token"]

        for account in ["kiro-ide", "q-cli"]:
            deadline = time.monotonic() + 15
            reply = None
            while time.monotonic() < deadline:
                reply = httpx.post(url + "/v1/messages", timeout=30, trust_env=False,
                                   headers={"x-api-key": KEY, "x-q2api-account": account},
                                   json={"model": MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]})
                if reply.status_code == 200:
                    break
                time.sleep(0.2)
            assert reply is not None and reply.status_code == 200, reply.text if reply is not None else "no reply"

        again = run_import(binary, config, home)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "already imported as account kiro-ide" in again.stdout
        assert "already imported as account q-cli" in again.stdout
        assert state_files(tmp_path) == ["kiro-ide.jsonl", "q-cli.jsonl"]
    finally:
        server.terminate()
        server.wait(timeout=15)
        simulator.terminate()
        simulator.wait(timeout=10)


def test_a_refused_refresh_writes_nothing_and_says_so(binary, tmp_path):
    simulator, sim_url = start_simulator(binary, tmp_path, "--refresh-token", "some-other-token")
    try:
        config = write_config(tmp_path, sim_url, free_port())
        home = make_home(tmp_path)
        result = run_import(binary, config, home, "--from", "kiro-ide")
        assert result.returncode == 1
        assert "refused" in result.stdout and "nothing was written" in result.stdout
        assert IDC_REFRESH not in result.stdout + result.stderr
        assert state_files(tmp_path) == []
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)


def test_missing_corrupt_and_absent_credentials_are_clear_errors(binary, tmp_path):
    config = write_config(tmp_path, "http://127.0.0.1:9", free_port())
    empty = tmp_path / "empty-home"
    empty.mkdir()
    nothing = run_import(binary, config, empty)
    assert nothing.returncode == 1
    assert "no credentials found" in nothing.stderr and ".aws/sso/cache/kiro-auth-token.json" in nothing.stderr

    missing = run_import(binary, config, empty, "--from", str(tmp_path / "nowhere.json"))
    assert missing.returncode == 1 and "does not exist" in missing.stderr

    corrupt_json = tmp_path / "corrupt.json"
    corrupt_json.write_text('{"refreshToken": ')
    corrupt = run_import(binary, config, empty, "--from", str(corrupt_json))
    assert corrupt.returncode == 1 and "not a JSON object" in corrupt.stderr

    corrupt_db = tmp_path / "broken.sqlite3"
    corrupt_db.write_bytes(b"SQLite format 3\x00" + b"\x01" * 200)
    broken = run_import(binary, config, empty, "--from", str(corrupt_db))
    assert broken.returncode == 1 and "SQLite" in broken.stderr
    assert state_files(tmp_path) == []


def test_a_kiro_cli_social_sign_in_becomes_a_kiro_account_that_serves(binary, tmp_path):
    social_refresh = "aorIMPORTKIROSOCIAL000000000003"
    simulator, sim_url = start_simulator(binary, tmp_path, "--refresh-token", social_refresh, "--rotate-refresh-tokens")
    port = free_port()
    config = write_config(tmp_path, sim_url, port)
    home = tmp_path / "kiro-home"
    data = home / ".local" / "share" / "kiro-cli"
    data.mkdir(parents=True)
    db = sqlite3.connect(data / "data.sqlite3")
    db.execute("CREATE TABLE auth_kv (key TEXT PRIMARY KEY, value TEXT)")
    db.execute("INSERT INTO auth_kv VALUES (?, ?)", ("kirocli:social:token", json.dumps({
        "access_token": "aoaIMPORTKIROSOCIALACCESS0003", "refresh_token": social_refresh, "expires_at": "2025-01-01T00:00:00Z",
        "profile_arn": "arn:aws:codewhisperer:us-east-1:699475941385:profile/FROMFILE",
    })))
    db.commit()
    db.close()
    log = open(tmp_path / "serve.log", "wb")
    server = subprocess.Popen([binary, "serve", "-c", str(config)], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        result = run_import(binary, config, home, "--from", "kiro-cli", "--label", "Kiro GitHub")
        assert result.returncode == 0, result.stdout + result.stderr
        assert "kind kiro" in result.stdout and "imported as account kiro-github" in result.stdout
        assert social_refresh not in result.stdout + result.stderr
        records = [json.loads(line) for line in (tmp_path / "state" / "kiro-github.jsonl").read_text().splitlines()]
        assert [record["type"] for record in records] == ["account", "token"]
        assert records[0]["kind"] == "kiro"
        deadline = time.monotonic() + 20
        reply = None
        while time.monotonic() < deadline:
            try:
                reply = httpx.post(url + "/v1/messages", timeout=30, trust_env=False,
                                   headers={"x-api-key": KEY, "x-q2api-account": "kiro-github"},
                                   json={"model": MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]})
                if reply.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        assert reply is not None and reply.status_code == 200, reply.text if reply is not None else "no reply"
    finally:
        server.terminate()
        server.wait(timeout=15)
        simulator.terminate()
        simulator.wait(timeout=10)
