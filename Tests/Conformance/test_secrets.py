"""Secrets never leak: not into logs (at debug and trace), responses, headers, /metrics, the CLI's output, or the
state directory's non-credential records.

Each run has its own simulator (rotating refresh tokens, approving device logins by itself) and its own server whose
YAML holds distinctive secrets. The test drives every path that touches credentials — normal and streaming requests,
bad keys, bad bodies, an expired access token, a throttle, the admin API (listing, config, reload, creating an account
with new credentials, a refused one, a forced refresh, a device login) — then scans everything it saw for every secret
in the YAML and every access and refresh token the simulator issued (read from the state files' `token` records, the
only place besides `account` records allowed to hold them).
"""

from __future__ import annotations

import dataclasses
import json
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from conftest import MODEL, Env, free_port, stop_process, wait_for_url

API_KEY = "sk-SECRET-API-0001"
ADMIN_KEY = "adm-SECRET-0002"
CLIENT_ID = "cid-SECRET-0003"
CLIENT_SECRET = "csec-SECRET-0004"
REFRESH_TOKEN = "rt-SECRET-0005"
NEW_CLIENT_ID = "cid-SECRET-0006"
NEW_CLIENT_SECRET = "csec-SECRET-0007"
NEW_REFRESH_TOKEN = "rt-SECRET-0008"
REFUSED_REFRESH_TOKEN = "rt-SECRET-0009-refused"  # the simulator does not know it: the refusal must not echo it

FIXED_SECRETS = {
    "api key": API_KEY,
    "admin key": ADMIN_KEY,
    "YAML client_id": CLIENT_ID,
    "YAML client_secret": CLIENT_SECRET,
    "YAML refresh_token": REFRESH_TOKEN,
    "admin-created client_id": NEW_CLIENT_ID,
    "admin-created client_secret": NEW_CLIENT_SECRET,
    "admin-created refresh_token": NEW_REFRESH_TOKEN,
    "refused refresh_token": REFUSED_REFRESH_TOKEN,
}
CREDENTIAL_RECORD_TYPES = {"token", "account"}
TIMEOUT = 30.0


@dataclasses.dataclass
class Seen:
    """Everything the test received, by where it came from."""

    texts: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    def add(self, where: str, text: str) -> None:
        self.texts.append((where, text))

    def response(self, label: str, response: httpx.Response) -> httpx.Response:
        headers = "\n".join(f"{name}: {value}" for name, value in response.headers.multi_items())
        self.add(f"{label} -> {response.status_code} (headers)", headers)
        self.add(f"{label} -> {response.status_code} (body)", response.content.decode("utf-8", "replace"))
        return response


@dataclasses.dataclass
class Setup:
    bin: str
    directory: Path
    config: Path
    url: str
    sim_url: str
    server: subprocess.Popen
    stdout: Path
    stderr: Path


@pytest.fixture(params=[("debug", "json"), ("trace", "text")], ids=["debug-json", "trace-text"])
def setup(env: Env, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Setup]:
    if not env.bin:
        pytest.skip("Q2API_BIN is not set")
    level, format = request.param
    processes: list[subprocess.Popen] = []
    try:
        sim_port = free_port()
        sim_log = tmp_path / "simulate.log"
        with open(sim_log, "wb") as out:
            processes.append(subprocess.Popen(
                [env.bin, "simulate", "--port", str(sim_port), "--refresh-token", REFRESH_TOKEN, "--refresh-token", NEW_REFRESH_TOKEN,
                 "--rotate-refresh-tokens", "--auto-approve-device-after", "1"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT))
        sim_url = f"http://127.0.0.1:{sim_port}"
        wait_for_url(sim_url + "/__sim/state", processes[-1], sim_log)

        port = free_port()
        config = tmp_path / "q2api.yaml"
        config.write_text(
            "version: 1\n"
            f"listeners: [{{address: '127.0.0.1:{port}'}}]\n"
            f'api_keys: ["{API_KEY}"]\n'
            f'admin_keys: ["{ADMIN_KEY}"]\n'
            f"upstream: {{endpoint: '{sim_url}/', oidc_endpoint: '{sim_url}'}}\n"
            "state_dir: ./state\n"
            f"log: {{level: {level}, format: {format}}}\n"
            "accounts:\n"
            "  - id: main\n"
            "    label: Main account\n"
            f"    client_id: {CLIENT_ID}\n"
            f"    client_secret: {CLIENT_SECRET}\n"
            f"    refresh_token: {REFRESH_TOKEN}\n"
        )
        stdout, stderr = tmp_path / "serve.stdout", tmp_path / "serve.stderr"
        with open(stdout, "wb") as out, open(stderr, "wb") as err:
            processes.append(subprocess.Popen([env.bin, "serve", "-c", str(config)], stdin=subprocess.DEVNULL, stdout=out, stderr=err))
        url = f"http://127.0.0.1:{port}"
        wait_for_url(url + "/healthz", processes[-1], stderr)
        yield Setup(env.bin, tmp_path, config, url, sim_url, processes[-1], stdout, stderr)
    finally:
        for process in reversed(processes):
            stop_process(process)


def run_cli(setup: Setup, seen: Seen, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([setup.bin, *args], capture_output=True, text=True, timeout=60, cwd=setup.directory)
    seen.add(f"`q2api {' '.join(args)}` stdout", result.stdout)
    seen.add(f"`q2api {' '.join(args)}` stderr", result.stderr)
    return result


def exercise(setup: Setup, seen: Seen) -> None:
    """Every path that touches a credential, each answer recorded."""
    hi = {"model": MODEL, "max_tokens": 32, "messages": [{"role": "user", "content": "hi"}]}
    chat = {"model": MODEL, "max_tokens": 32, "messages": [{"role": "user", "content": "hi"}]}
    with httpx.Client(base_url=setup.url, timeout=TIMEOUT, trust_env=False) as http:
        api = {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"}
        bearer = {"authorization": f"Bearer {API_KEY}"}
        admin = {"authorization": f"Bearer {ADMIN_KEY}"}

        def call(label: str, method: str, path: str, expect: int | tuple[int, ...] | None = None, **kwargs) -> httpx.Response:
            response = seen.response(label, http.request(method, path, **kwargs))
            if expect is not None:
                allowed = expect if isinstance(expect, tuple) else (expect,)
                assert response.status_code in allowed, f"{label}: {response.status_code} {response.text[:500]}"
            return response

        for path in ["/healthz", "/health", "/readyz", "/metrics"]:
            call(f"GET {path}", "GET", path, 200)
        call("GET /v1/models", "GET", "/v1/models", 200, headers=api)

        # Normal and streaming requests, both dialects.
        call("messages", "POST", "/v1/messages", 200, headers=api, json=hi)
        call("messages (bearer, stream)", "POST", "/v1/messages", 200, headers=bearer, json={**hi, "stream": True})
        call("chat", "POST", "/v1/chat/completions", 200, headers=bearer, json=chat)
        call("chat (stream)", "POST", "/v1/chat/completions", 200, headers=bearer,
             json={**chat, "stream": True, "stream_options": {"include_usage": True}})
        call("count_tokens", "POST", "/v1/messages/count_tokens", 200, headers=api, json=hi)
        call("messages (tool call)", "POST", "/v1/messages", 200, headers=api,
             json={**hi, "messages": [{"role": "user", "content": 'weather? [[sim:tool:get_weather:{"city":"Paris"}]]'}],
                   "tools": [{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}]})

        # Wrong, missing and misplaced keys.
        call("messages, wrong key", "POST", "/v1/messages", 401, headers={"x-api-key": "sk-wrong-key"}, json=hi)
        call("chat, wrong bearer", "POST", "/v1/chat/completions", 401, headers={"authorization": "Bearer sk-wrong-key"}, json=chat)
        call("messages, no key", "POST", "/v1/messages", 401, json=hi)
        call("admin, wrong key", "GET", "/v2/accounts", 401, headers={"authorization": "Bearer adm-wrong"})
        call("admin, api key", "GET", "/v2/config", (401, 403), headers=api)

        # Invalid bodies.
        call("messages, not JSON", "POST", "/v1/messages", 400, headers={**api, "content-type": "application/json"}, content=b"{nope")
        call("messages, no messages", "POST", "/v1/messages", 400, headers=api, json={"model": MODEL, "max_tokens": 5})
        call("chat, bad type", "POST", "/v1/chat/completions", 400, headers=bearer, json={**chat, "messages": 5})

        # An access token the upstream calls expired: refresh (rotating the refresh token) and retry.
        assert httpx.post(setup.sim_url + "/__sim/expire-tokens", timeout=5, trust_env=False).status_code == 200
        call("messages after expire-tokens", "POST", "/v1/messages", 200, headers=api, json=hi)
        assert httpx.post(setup.sim_url + "/__sim/expire-tokens", timeout=5, trust_env=False).status_code == 200
        call("chat stream after expire-tokens", "POST", "/v1/chat/completions", 200, headers=bearer, json={**chat, "stream": True})

        # The admin API.
        call("admin list", "GET", "/v2/accounts", 200, headers=admin)
        call("admin show", "GET", "/v2/accounts/main", 200, headers=admin)
        call("admin config", "GET", "/v2/config", 200, headers=admin)
        call("admin config (x-admin-key)", "GET", "/v2/config", 200, headers={"x-admin-key": ADMIN_KEY})
        call("admin reload", "POST", "/v2/reload", 200, headers=admin)
        call("admin refresh main", "POST", "/v2/accounts/main/refresh", 200, headers=admin)
        created = call("admin create", "POST", "/v2/accounts", 201, headers=admin,
                       json={"id": "added", "label": "Added", "client_id": NEW_CLIENT_ID, "client_secret": NEW_CLIENT_SECRET,
                             "refresh_token": NEW_REFRESH_TOKEN})
        assert created.json()["id"] == "added"
        call("admin create, refused credentials", "POST", "/v2/accounts", 422, headers=admin,
             json={"id": "refused", "client_id": NEW_CLIENT_ID, "client_secret": NEW_CLIENT_SECRET, "refresh_token": REFUSED_REFRESH_TOKEN})
        call("admin create, duplicate", "POST", "/v2/accounts", 409, headers=admin,
             json={"id": "added", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN})
        call("admin create, unknown member", "POST", "/v2/accounts", 400, headers=admin,
             json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN, "secret": ADMIN_KEY})
        call("admin edit", "PATCH", "/v2/accounts/added", 200, headers=admin, json={"label": "Added (renamed)", "weight": 2})
        call("admin refresh added", "POST", "/v2/accounts/added/refresh", 200, headers=admin)
        call("admin show added", "GET", "/v2/accounts/added", 200, headers=admin)
        started = call("admin device login start", "POST", "/v2/auth/start", 200, headers=admin, json={"label": "Device"})
        auth_id = started.json()["authId"]
        claimed = call("admin device login claim", "POST", f"/v2/auth/claim/{auth_id}", 200, headers=admin)
        assert claimed.json()["status"] == "completed", claimed.text
        call("admin device login status", "GET", f"/v2/auth/status/{auth_id}", 200, headers=admin)
        call("admin console", "GET", "/", 200, headers=admin)
        call("admin list (after)", "GET", "/v2/accounts", 200, headers=admin)
        call("admin config (after)", "GET", "/v2/config", 200, headers=admin)
        call("messages pinned to the device account", "POST", "/v1/messages", 200,
             headers={**admin, "x-q2api-account": claimed.json()["accountId"]}, json=hi)

        run_cli(setup, seen, "accounts", "-c", str(setup.config), "--json")

        # A throttle (every account tried, all cool down), and what the next request gets.
        call("messages, throttled", "POST", "/v1/messages", 429, headers=api,
             json={**hi, "messages": [{"role": "user", "content": "[[sim:throttle]]"}]})
        call("chat while all cool", "POST", "/v1/chat/completions", (429, 503), headers=bearer, json=chat)
        call("messages stream while all cool", "POST", "/v1/messages", (429, 529), headers=api, json={**hi, "stream": True})

        for path in ["/healthz", "/readyz", "/metrics"]:
            call(f"GET {path} (after)", "GET", path, (200, 503))
        call("admin list (cooling)", "GET", "/v2/accounts", 200, headers=admin)


def credential_values(directory: Path) -> tuple[dict[str, str], int]:
    """Every token and credential the state files hold, named by where they were found, and the number of token records."""
    values: dict[str, str] = {}
    tokens = 0
    for path in sorted((directory / "state").glob("*")):
        if not path.is_file():  # usage/ and responses/ hold no credentials; their lines are checked for leaks below
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(record, dict):
                continue
            if record.get("type") == "token":
                tokens += 1
                for key in ("access_token", "refresh_token"):
                    if isinstance(record.get(key), str) and record[key]:
                        values[record[key]] = f"{key} from {path.name}:{number}"
            elif record.get("type") == "account":
                for key in ("client_id", "client_secret", "refresh_token"):
                    if isinstance(record.get(key), str) and record[key]:
                        values.setdefault(record[key], f"{key} of the account record {path.name}:{number}")
    return values, tokens


def non_credential_state_lines(directory: Path) -> list[tuple[str, str]]:
    """Every state-directory line that is not a `token` or `account` record (unparseable lines included)."""
    lines = []
    for path in sorted((directory / "state").rglob("*")):
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            try:
                record = json.loads(line)
                kind = record.get("type") if isinstance(record, dict) else None
            except json.JSONDecodeError:
                kind = None
            if kind not in CREDENTIAL_RECORD_TYPES:
                lines.append((f"state/{path.relative_to(directory / 'state')}:{number} (type {kind})", line))
    return lines


WINDOW = 16  # a run of this many characters of a credential of at least MIN_WINDOWED characters is a leak too
MIN_WINDOWED = 20
MARKER = "SECRET-0"  # every configured secret has it: a truncated one still shows it
TOKEN_RUN = re.compile(r"[A-Za-z0-9+/=_.-]{%d,}" % WINDOW)
HEX_RUN = re.compile(r"(?:[0-9a-fA-F]{2}){%d,}" % WINDOW)


def views(text: str) -> Iterator[tuple[str, str]]:
    """The text as written, and per line what its hex runs decode to (a hex dump of a body is the body)."""
    yield "", text
    for number, line in enumerate(text.splitlines(), 1):
        decoded = [bytes.fromhex(run).decode("utf-8", "replace") for run in HEX_RUN.findall(line)]
        if decoded:
            yield f"line {number}, hex-encoded: ", " | ".join(decoded)


def printable(text: str) -> str:
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


class Scanner:
    """Finds every secret, whole or as a WINDOW-character run, and any fragment with MARKER, in a text."""

    def __init__(self, secrets: dict[str, str]):
        self.secrets = secrets
        self.windows: dict[str, str] = {}
        for secret in secrets:
            if len(secret) >= MIN_WINDOWED:
                for start in range(len(secret) - WINDOW + 1):
                    self.windows.setdefault(secret[start : start + WINDOW], secret)

    def leaks(self, where: str, text: str) -> list[str]:
        found: list[str] = []
        reported: set[str] = set()

        def report(encoding: str, view: str, at: int, length: int, secret: str | None, what: str) -> None:
            if secret in reported:
                return
            reported.add(secret)
            position = encoding or (f"line {text.count(chr(10), 0, at) + 1}: " if "\n" in text.strip() else "")
            context = printable(view[max(0, at - 100) : at + length + 60])
            name = f" of {self.secrets[secret]} {secret!r}" if secret else ""
            found.append(f"{where}, {position}{what}{name}\n      ...{context}...")

        for encoding, view in views(text):
            for secret in self.secrets:
                at = view.find(secret)
                if at >= 0:
                    report(encoding, view, at, len(secret), secret, "the whole value")
            rest = view
            for secret in self.secrets:
                rest = rest.replace(secret, "\0" * len(secret))  # whole values are reported above
            at = rest.find(MARKER)
            if at >= 0:
                report(encoding, view, at, len(MARKER), None, f"a fragment of a configured secret ({MARKER!r})")
            for match in TOKEN_RUN.finditer(view):
                run = match.group()
                for start in range(len(run) - WINDOW + 1):
                    secret = self.windows.get(run[start : start + WINDOW])
                    if secret is not None and secret not in run:
                        report(encoding, view, match.start() + start, WINDOW, secret, f"{WINDOW} characters {run[start : start + WINDOW]!r}")
                        break
        return found


def test_no_secret_leaks(setup: Setup):
    seen = Seen()
    try:
        exercise(setup, seen)
    finally:
        stop_process(setup.server)
    assert setup.server.returncode == 0, f"the server exited with {setup.server.returncode}:\n{setup.stderr.read_text(errors='replace')[-3000:]}"

    for args in (["accounts", "-c", str(setup.config)], ["accounts", "-c", str(setup.config), "--json"],
                 ["check", "-c", str(setup.config)], ["check", "-c", str(setup.config), "-v"]):
        result = run_cli(setup, seen, *args)
        assert result.returncode == 0, f"q2api {' '.join(args)}: {result.stderr}"

    seen.add("server stdout", setup.stdout.read_text(errors="replace"))
    seen.add("server stderr", setup.stderr.read_text(errors="replace"))
    for where, line in non_credential_state_lines(setup.directory):
        seen.add(where, line)

    issued, token_records = credential_values(setup.directory)
    secrets = {value: name for name, value in FIXED_SECRETS.items()}
    for value, name in issued.items():
        secrets.setdefault(value, name)
    # The run did what it should have: refreshes rotated tokens, three accounts got theirs.
    assert token_records >= 5, f"only {token_records} token records: the exercise did not refresh as expected"
    assert sum(1 for name in secrets.values() if name.startswith("access_token")) >= 3
    assert sum(1 for name in secrets.values() if name.startswith("refresh_token")) >= 3
    assert sum(len(text) for _, text in seen.texts if _.startswith("server st")) > 1000, "the server logged next to nothing"

    scanner = Scanner(secrets)
    leaks = [leak for where, text in seen.texts for leak in scanner.leaks(where, text)]
    if leaks:
        pytest.fail(f"{len(leaks)} leaks:\n" + "\n".join(leaks), pytrace=False)
