"""A reload storm under streaming load (issue #14), against the real binary.

Twelve clients stream through a server of its own while its config is rewritten 20 times in about 10 s, the ways
operators and their tools do it: in place in two halves with a 0.5 s pause in the middle (as an editor or `cat >`
that stalls would), by an atomic rename over the file, and by a Kubernetes-ConfigMap-style swap of a `..data` symlink
to a new timestamped directory; SIGHUP arrives in the middle of several writes. Polling runs as in production (every
2 s) and `reload.settle` is the default 1 s.

Every version of the file is complete and valid, and each one differs in a marker that sits at the end of the file
(`limits.context_tokens`) and in its set of accounts, so a half-written file that got applied would show. The test
asserts that no request failed, that the port answered a TCP connect every 20 ms throughout (no listener gap), that
every config the server had in force (sampled from `GET /v2/config`) was one of the complete versions, that the last
version ends up applied with no reload error, and that the state directory agrees with the YAML at the end
(`/v2/accounts` and `q2api accounts --json`).
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from conftest import MODEL, Spawner, parse_sse

KEY = "sk-storm"
ADMIN_KEY = "adm-storm"
ADMIN = {"authorization": f"Bearer {ADMIN_KEY}"}
CLIENTS = 12
REWRITES = 20
SEED = 1414
BASE_TOKENS = 150_000  # version i has limits.context_tokens BASE_TOKENS + i


def accounts_of(version: int) -> list[str]:
    """Accounts a and b always; c in even versions, d in every third: each rewrite adds or removes some."""
    ids = ["a", "b"]
    if version % 2 == 0:
        ids.append("c")
    if version % 3 == 0:
        ids.append("d")
    return ids


def render(version: int, port: int, sim_url: str) -> str:
    """A complete config. `accounts` and the marker come last, so a first half never holds all of them."""
    lines = [
        "version: 1",
        "# q2api reload storm: version %d" % version,
        "listeners:",
        f"  - address: 127.0.0.1:{port}",
        "api_keys:",
        f"  - {KEY}",
        "admin_keys:",
        f"  - {ADMIN_KEY}",
        "upstream:",
        f"  endpoint: {sim_url}/",
        f"  oidc_endpoint: {sim_url}",
        "reload:",
        "  settle: 1s",
        "state_dir: ./state",
        "log:",
        "  level: info",
        "accounts:",
    ]
    for account in accounts_of(version):
        lines += [
            f"  - id: {account}",
            f"    label: Storm {account.upper()}",
            "    client_id: storm-client",
            "    client_secret: storm-secret",
            f"    refresh_token: rt-{account}",
            f"    weight: {1 + version % 4}",
        ]
    lines += ["limits:", f"  context_tokens: {BASE_TOKENS + version}", ""]
    return "\n".join(lines)


class ConfigWriter:
    """Rewrites `path` in place, by rename, or by a `..data` symlink swap as Kubernetes does."""

    def __init__(self, path: Path, server_pid: int) -> None:
        self.path = path
        self.directory = path.parent
        self.pid = server_pid
        self.swaps = 0
        self.signals = 0

    def sighup(self) -> None:
        os.kill(self.pid, signal.SIGHUP)
        self.signals += 1

    def in_place(self, text: str, hup: bool) -> None:
        data = text.encode()
        half = len(data) // 2
        with open(self.path, "r+b") as file:  # through the symlink, if the path is one
            file.truncate(0)
            file.write(data[:half])
            file.flush()
            os.fsync(file.fileno())
            if hup:
                self.sighup()
            time.sleep(0.5)
            file.write(data[half:])
            file.flush()
            os.fsync(file.fileno())

    def rename(self, text: str, hup: bool) -> None:
        temporary = self.directory / (self.path.name + ".tmp")
        temporary.write_text(text)
        os.replace(temporary, self.path)
        if hup:
            self.sighup()

    def symlink_swap(self, text: str, hup: bool) -> None:
        self.swaps += 1
        stamp = self.directory / f"..2026_12_07_{self.swaps:02d}"
        stamp.mkdir()
        (stamp / "q2api.yaml").write_text(text)
        data = self.directory / "..data"
        old = os.readlink(data) if data.is_symlink() else None
        link = self.directory / "..data_tmp"
        os.symlink(stamp.name, link)
        os.replace(link, data)
        if not self.path.is_symlink():
            link = self.directory / (self.path.name + ".link")
            os.symlink("..data/q2api.yaml", link)
            os.replace(link, self.path)
        if hup:
            self.sighup()
        if old:
            for child in (self.directory / old).iterdir():
                child.unlink()
            (self.directory / old).rmdir()


class Background:
    """Daemon threads that run from `with` until its end, told to stop by `self.stop`."""

    join_timeout = 10.0

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=self.join_timeout)


class Load(Background):
    """`CLIENTS` threads streaming Claude requests until stopped; every outcome is counted."""

    join_timeout = 40.0

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url
        self.lock = threading.Lock()
        self.ok = 0
        self.failures: list[str] = []
        self.threads = [threading.Thread(target=self.client, args=(index,), daemon=True) for index in range(CLIENTS)]

    def client(self, index: int) -> None:
        with httpx.Client(base_url=self.url, timeout=30, trust_env=False) as http:
            number = 0
            while not self.stop.is_set():
                number += 1
                body = {
                    "model": MODEL,
                    "max_tokens": 512,
                    "stream": True,
                    "messages": [{"role": "user", "content": f"[[sim:delay:15]][[sim:long:120]] client {index} #{number}"}],
                }
                try:
                    with http.stream("POST", "/v1/messages", json=body, headers={"x-api-key": KEY}) as response:
                        text = response.read().decode(errors="replace")
                    events = [name for name, _ in parse_sse(text)]
                    if response.status_code != 200 or not events or events[-1] != "message_stop" or "error" in events:
                        outcome = f"client {index} #{number}: {response.status_code} {events[-3:]} {text[-200:]!r}"
                    else:
                        outcome = None
                except httpx.HTTPError as error:
                    outcome = f"client {index} #{number}: {type(error).__name__}: {error}"
                with self.lock:
                    if outcome is None:
                        self.ok += 1
                    else:
                        self.failures.append(outcome)


class Watch(Background):
    """Connects to the port every 20 ms and samples `/v2/config` every 100 ms, in the background."""

    def __init__(self, url: str, port: int) -> None:
        super().__init__()
        self.url = url
        self.port = port
        self.refused: list[str] = []
        self.connects = 0
        self.seen: list[tuple[int, int, tuple[str, ...]]] = []  # (generation, context_tokens, account ids)
        self.threads = [threading.Thread(target=self.connect, daemon=True), threading.Thread(target=self.sample, daemon=True)]

    def connect(self) -> None:
        while not self.stop.is_set():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2):
                    self.connects += 1
            except OSError as error:
                self.refused.append(f"{time.monotonic():.3f}: {error}")
            time.sleep(0.02)

    def sample(self) -> None:
        with httpx.Client(base_url=self.url, timeout=5, trust_env=False) as http:
            while not self.stop.is_set():
                try:
                    status = http.get("/v2/config", headers=ADMIN).json()
                    config = status["config"]
                    self.seen.append(
                        (status["generation"], config["limits"]["context_tokens"], tuple(a["id"] for a in config["accounts"])))
                except (httpx.HTTPError, KeyError, ValueError) as error:
                    self.seen.append((-1, -1, (f"{type(error).__name__}: {error}",)))
                time.sleep(0.1)


def test_reload_storm_under_streaming_load(spawn: Spawner):
    started = time.monotonic()
    sim = spawn.simulator()
    server = spawn.server(lambda port: render(0, port, sim.url), name="storm")
    path = next(spawn.directory.glob("storm-*.yaml"))
    writer = ConfigWriter(path, server.pid)
    rng = random.Random(SEED)
    kinds = ["in_place", "rename", "in_place", "symlink_swap", "rename", "in_place", "symlink_swap"]
    with Load(server.url) as load, Watch(server.url, server.port) as watch:
        time.sleep(0.5)  # streams in flight before the first rewrite
        storm_started = time.monotonic()
        for version in range(1, REWRITES + 1):
            kind = kinds[version % len(kinds)]
            getattr(writer, kind)(render(version, server.port, sim.url), hup=version % 3 == 0)
            # Two quiet spells let a version mid-storm settle and apply under load; otherwise no second is quiet.
            time.sleep(2.2 if version in (7, 14) else rng.uniform(0.05, 0.3))
        storm = time.monotonic() - storm_started
        # The last version settles and is applied (a poll every 2 s, a settle of 1 s, a postponed reload retried).
        deadline = time.monotonic() + 15
        final = (BASE_TOKENS + REWRITES, tuple(accounts_of(REWRITES)))
        while time.monotonic() < deadline:
            status = httpx.get(server.url + "/v2/config", headers=ADMIN, timeout=5, trust_env=False).json()
            if (status["config"]["limits"]["context_tokens"], tuple(a["id"] for a in status["config"]["accounts"])) == final:
                break
            time.sleep(0.2)
        time.sleep(0.5)  # a little more load on the final config
    print(f"storm: {REWRITES} rewrites in {storm:.1f} s ({writer.signals} SIGHUP), {load.ok} streams ok, "
          f"{len(load.failures)} failed, {watch.connects} connects, {len(watch.refused)} refused, "
          f"generations seen {sorted({g for g, _, _ in watch.seen})}")

    assert server.alive(), "q2api died during the storm"
    assert not load.failures, f"{len(load.failures)} failed requests, first: {load.failures[:5]}"
    assert load.ok >= CLIENTS * 5, f"only {load.ok} streams completed"
    assert not watch.refused, f"the port refused connections (listener gap): {watch.refused[:5]}"
    assert watch.connects > 100

    # Every config in force was a complete version of the file: its marker and its accounts agree.
    complete = {(BASE_TOKENS + version, tuple(accounts_of(version))) for version in range(0, REWRITES + 1)}
    observed = {(tokens, ids) for _, tokens, ids in watch.seen}
    assert observed <= complete, f"a config that was never written whole was in force: {sorted(observed - complete)}"
    assert len(observed) >= 3, f"versions in force during the storm: {sorted(observed)}"

    status = httpx.get(server.url + "/v2/config", headers=ADMIN, timeout=5, trust_env=False).json()
    assert (status["config"]["limits"]["context_tokens"], tuple(a["id"] for a in status["config"]["accounts"])) == final, status
    assert status["last_error"] is None, status["last_error"]
    assert status["generation"] > 1
    log = server.log_text()
    assert "reload rejected" not in log and "reload refused" not in log, "a half-written file was parsed"

    # The state directory agrees with the YAML: online, then offline after a clean stop.
    expected = set(accounts_of(REWRITES))
    online = httpx.get(server.url + "/v2/accounts", headers=ADMIN, timeout=5, trust_env=False).json()["accounts"]
    assert {a["id"] for a in online} == expected, online
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=30) == 0
    listing = subprocess.run([spawn.binary, "accounts", "-c", str(path), "--json"], capture_output=True, text=True, timeout=30)
    assert listing.returncode == 0, listing.stderr
    # Accounts the storm removed keep their state files (their tokens and counters); `accounts` notes and skips them.
    removed = {f"{account}.jsonl" for version in range(REWRITES + 1) for account in accounts_of(version)} - {
        f"{account}.jsonl" for account in expected}
    for line in listing.stderr.splitlines():
        assert "no account" in line and any(name in line for name in removed), line
    offline = {a["id"]: a for a in json.loads(listing.stdout)}
    assert set(offline) == expected, sorted(offline)
    assert all(a["state"] == "active" and a["source"] == "yaml" for a in offline.values()), offline
    successes = 0
    for file in (spawn.directory / "state").glob("*.jsonl"):
        records = [json.loads(line) for line in file.read_text().splitlines()]
        assert all(isinstance(record, dict) for record in records), file.name
        stats = [record for record in records if record.get("type") == "stats"]
        successes += stats[-1]["successes"] if stats else 0
    # Every completed stream was one success of one account, recorded in its state file (removed accounts too).
    assert successes == load.ok, f"state files count {successes} successes, the clients saw {load.ok}"
    assert time.monotonic() - started < 60


def test_check_fails_on_empty_and_truncated_files(env, tmp_path: Path):
    """`q2api check` exits 1 on a file cut while being written, naming the file and saying it looks truncated."""
    if not env.bin:
        pytest.skip("Q2API_BIN is not set")
    whole = render(1, 18080, "http://127.0.0.1:18081")
    cuts = {
        "empty": "",
        "blank": "\n\n",
        "after-listeners": "version: 1\nlisteners:\n",
        "key-without-value": whole[: whole.index("refresh_token: rt-a") + len("refresh_token:")],
        "unterminated-flow": 'version: 1\napi_keys: ["sk-one", "sk-tw',
        "no-version": whole.replace("version: 1\n", ""),
    }
    for name, text in cuts.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(text)
        result = subprocess.run([env.bin, "check", "-c", str(path)], capture_output=True, text=True, timeout=30)
        output = result.stdout + result.stderr
        assert result.returncode == 1, f"{name}: {output}"
        assert str(path) in output, f"{name}: {output}"
        expected = "missing required key 'version'" if name == "no-version" else "looks truncated"
        assert expected in output, f"{name}: {output}"
    (tmp_path / "whole.yaml").write_text(whole)
    result = subprocess.run([env.bin, "check", "-c", str(tmp_path / "whole.yaml")], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stdout + result.stderr
