"""Fixtures for the conformance suite: the official SDKs against the real q2api binary + simulator.

scripts/test starts `q2api simulate` and `q2api serve` and passes their addresses in:

    Q2API_BASE_URL  the proxy, e.g. http://127.0.0.1:8080 (no /v1, like ANTHROPIC_BASE_URL)
    Q2API_KEY       an API key the proxy accepts
    Q2API_SIM_URL   the simulator, e.g. http://127.0.0.1:8999
    Q2API_BIN       the q2api binary, for tests that need a server of their own
    Q2API_CONFIG    (optional) the proxy's config, copied for those servers

To iterate by hand: start both processes (see scripts/test), export the variables, then
`.venv/bin/python -m pytest -q Tests/Conformance`.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
import socket
import struct
import subprocess
import time
import zlib
from pathlib import Path
from typing import Callable, Iterator

import anthropic
import httpx
import pytest

# Nothing from the developer's shell may change what the SDKs send or where.
for _name in list(os.environ):
    if _name.startswith("ANTHROPIC_") or _name.startswith("OPENAI_") or _name.lower() in ("http_proxy", "https_proxy", "all_proxy"):
        del os.environ[_name]

MODEL = "claude-sonnet-4-5-20250929"
DEFAULT_REPLY = "Hello! I am the q2api simulator."
TIMEOUT = 30.0


@dataclasses.dataclass(frozen=True)
class Env:
    base_url: str
    api_key: str
    sim_url: str
    bin: str | None
    config: str | None


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.exit(f"{name} is not set: run the suite through scripts/test (or see Tests/Conformance/conftest.py)", returncode=2)
    return value


@pytest.fixture(scope="session")
def env() -> Env:
    return Env(
        base_url=_required("Q2API_BASE_URL").rstrip("/"),
        api_key=_required("Q2API_KEY"),
        sim_url=_required("Q2API_SIM_URL").rstrip("/"),
        bin=os.environ.get("Q2API_BIN") or None,
        config=os.environ.get("Q2API_CONFIG") or None,
    )


def make_client(base_url: str, **kwargs) -> anthropic.Anthropic:
    """An Anthropic client without retries, so that error tests are fast and see the first answer."""
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("timeout", TIMEOUT)
    return anthropic.Anthropic(base_url=base_url, **kwargs)


@pytest.fixture(scope="session")
def client(env: Env) -> Iterator[anthropic.Anthropic]:
    c = make_client(env.base_url, api_key=env.api_key)
    yield c
    c.close()


@pytest.fixture(scope="session")
def raw(env: Env) -> Iterator[httpx.Client]:
    """A plain HTTP client with the headers Claude Code sends, for what the SDK cannot express."""
    c = httpx.Client(
        base_url=env.base_url,
        headers={"x-api-key": env.api_key, "anthropic-version": "2023-06-01"},
        timeout=TIMEOUT,
        trust_env=False,
    )
    yield c
    c.close()


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def text_of(message) -> str:
    """The concatenated text blocks of an SDK Message (or a raw JSON message)."""
    content = message["content"] if isinstance(message, dict) else message.content
    parts = []
    for block in content:
        kind = block["type"] if isinstance(block, dict) else block.type
        if kind == "text":
            parts.append(block["text"] if isinstance(block, dict) else block.text)
    return "".join(parts)


def assert_claude_error(body: object, error_type: str) -> dict:
    """Checks Claude's error envelope and returns its `error` member."""
    assert isinstance(body, dict), f"error body is not a JSON object: {body!r}"
    assert body.get("type") == "error", body
    error = body.get("error")
    assert isinstance(error, dict), body
    assert error.get("type") == error_type, body
    assert isinstance(error.get("message"), str) and error["message"], body
    return error


@dataclasses.dataclass
class SSEEvent:
    event: str | None
    data: str

    def json(self) -> dict:
        return json.loads(self.data)


def iter_sse(response: httpx.Response) -> Iterator[SSEEvent]:
    """Parses a text/event-stream body strictly enough to catch framing mistakes."""
    event: str | None = None
    data: list[str] = []
    for line in response.iter_lines():
        if line == "":
            if event is not None or data:
                yield SSEEvent(event, "\n".join(data))
            event, data = None, []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "event":
            event = value
        elif field == "data":
            data.append(value)
    if event is not None or data:
        yield SSEEvent(event, "\n".join(data))


def parse_sse(text: str) -> list[tuple[str | None, str]]:
    """(event, data) pairs of a whole text/event-stream body; comments skipped, multi-line data joined."""
    events, event, data = [], None, []
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if line == "":
            if event is not None or data:
                events.append((event, "\n".join(data)))
            event, data = None, []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                event = value
            elif field == "data":
                data.append(value)
    if event is not None or data:
        events.append((event, "\n".join(data)))
    return events


def png_1x1() -> bytes:
    """A valid 1x1 RGBA PNG, built here so the suite ships no binary fixture."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    pixels = zlib.compress(b"\x00" + b"\xff\x00\x00\xff")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def png_1x1_base64() -> str:
    return base64.b64encode(png_1x1()).decode("ascii")


# ---------------------------------------------------------------------------------------------
# A server of one's own
# ---------------------------------------------------------------------------------------------
#
# Throttling and mid-stream failures correctly cool the account that hit them down for a while;
# on the shared server (one account) every later test would then get 429. Tests that provoke
# them run against a fresh q2api process with the same config on another port.


def wait_for_url(url: str, process: subprocess.Popen, log: Path, timeout: float = 20) -> None:
    """Waits until `url` answers 200; fails with the process's log if it exits or the time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            pytest.fail(f"process exited with {process.returncode} before {url} answered:\n{log.read_text(errors='replace')}")
        try:
            if httpx.get(url, timeout=1, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{url} did not answer within {timeout} s:\n{log.read_text(errors='replace')}")
        time.sleep(0.05)


def stop_process(process: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM (a graceful drain), then SIGKILL if it has not exited within `timeout`."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config_for(env: Env, port: int) -> str:
    if env.config and Path(env.config).is_file():
        text = Path(env.config).read_text()
        text, count = re.subn(r"(address:\s*)127\.0\.0\.1:\d+", rf"\g<1>127.0.0.1:{port}", text, count=1)
        assert count == 1, f"no loopback listener to rewrite in {env.config}"
        return text
    return (
        "version: 1\n"
        "listeners:\n"
        f"  - address: 127.0.0.1:{port}\n"
        f'api_keys: ["{env.api_key}"]\n'
        "upstream:\n"
        f"  endpoint: {env.sim_url}/\n"
        f"  oidc_endpoint: {env.sim_url}/\n"
        "accounts:\n"
        "  - id: sim\n"
        "    client_id: sim-client\n"
        "    client_secret: sim-secret\n"
        "    refresh_token: sim-refresh-token\n"
        "log:\n"
        "  level: info\n"
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def own_server(env: Env, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[[], str]]:
    """Starts a fresh `q2api serve` (same config, new port) and returns its base URL.

    Its log is printed (under "Captured stdout teardown") when the test fails."""
    if not env.bin:
        pytest.skip("Q2API_BIN is not set")
    processes: list[tuple[subprocess.Popen, Path]] = []

    def start() -> str:
        port = free_port()
        config = tmp_path / f"q2api-{port}.yaml"
        config.write_text(_config_for(env, port))
        log_path = tmp_path / f"serve-{port}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [env.bin, "serve", "-c", str(config)], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        processes.append((process, log_path))
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            if process.poll() is not None:
                pytest.fail(f"q2api serve exited with {process.returncode}:\n{log_path.read_text(errors='replace')}")
            try:
                if httpx.get(url + "/healthz", timeout=1, trust_env=False).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"q2api serve did not answer /healthz within 20 s:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.05)

    yield start

    for process, _ in processes:
        process.terminate()
    for process, _ in processes:
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    call_report = getattr(request.node, "report_call", None)
    if call_report is not None and call_report.failed:
        for _, log_path in processes:
            print(f"----- {log_path.name} -----\n{log_path.read_text(errors='replace')}")


def pytest_configure(config: pytest.Config) -> None:
    # The SDK warns on every call with a dated model name; the suite uses one on purpose (Claude Code does).
    config.addinivalue_line("filterwarnings", r"ignore:The model .* is deprecated:DeprecationWarning")


# ---------------------------------------------------------------------------------------------
# Processes of one's own, with their pids (client-fault and soak tests)
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Spawned:
    """A `q2api simulate` or `q2api serve` started by a test: its process, base URL, port and log."""

    process: subprocess.Popen
    url: str
    port: int
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def rss_kib(pid: int) -> int:
    """The resident set size of a process (VmRSS in /proc/<pid>/status), in KiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


class Spawner:
    """Starts simulators and servers in `directory`; `stop()` ends them (SIGTERM, then SIGKILL).

    `simulator(*args)` runs `q2api simulate` on a free port with extra arguments; `server(config)` runs
    `q2api serve` with the YAML that `config(port)` returns (written to `<directory>/<name>-<port>.yaml`, so a
    relative `state_dir` lands in `directory`). Both wait until the process answers and return a `Spawned`."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.started: list[Spawned] = []

    def _start(self, name: str, argv: list[str], health: str, port: int) -> Spawned:
        log = self.directory / f"{name}-{port}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        spawned = Spawned(process, f"http://127.0.0.1:{port}", port, log)
        self.started.append(spawned)
        wait_for_url(spawned.url + health, process, log)
        return spawned

    def simulator(self, *args: str) -> Spawned:
        port = free_port()
        return self._start("simulate", [self.binary, "simulate", "--port", str(port), *args], "/__sim/state", port)

    def server(self, config: Callable[[int], str], name: str = "serve") -> Spawned:
        port = free_port()
        (self.directory / f"{name}-{port}.yaml").write_text(config(port))
        return self._start(name, [self.binary, "serve", "-c", str(self.directory / f"{name}-{port}.yaml")], "/healthz", port)

    def stop(self) -> None:
        for spawned in reversed(self.started):
            stop_process(spawned.process, timeout=10)

    def print_logs(self, lines: int = 200) -> None:
        for spawned in self.started:
            tail = "\n".join(spawned.log_text().splitlines()[-lines:])
            print(f"----- {spawned.log.name} (last {lines} lines) -----\n{tail}")


@pytest.fixture
def spawn(env: Env, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Spawner]:
    """A `Spawner` in the test's tmp_path; its processes are stopped afterwards and their logs printed on failure."""
    if not env.bin:
        pytest.skip("Q2API_BIN is not set")
    spawner = Spawner(env.bin, tmp_path)
    yield spawner
    spawner.stop()
    call_report = getattr(request.node, "report_call", None)
    if call_report is not None and call_report.failed:
        spawner.print_logs()
