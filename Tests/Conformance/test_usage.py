"""Usage per API key (issue 18): requests made through the official SDKs with two named keys end up in the usage
files (`state_dir/usage/<key>.jsonl`), in `/metrics`, in `GET /v2/usage` and in `q2api usage`; they survive a SIGTERM
restart, and a SIGKILL after a flush leaves readable files at most one flush interval short.

Each test runs its own simulator and server (the flush interval of the binary is 10 s, so the tests wait for it).
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from conftest import MODEL, Spawned, Spawner

ALICE, BOB, ADMIN = "sk-usage-alice", "sk-usage-bob", "adm-usage"
# The server appends usage every 10 s; a flush is awaited up to this long.
FLUSH_WAIT = 25.0


def config(sim: Spawned):
    def make(port: int) -> str:
        return (
            "version: 1\n"
            f"listeners: [{{address: '127.0.0.1:{port}'}}]\n"
            "api_keys:\n"
            f"  - {{name: alice, key: {ALICE}}}\n"
            f"  - {{name: bob, key: {BOB}}}\n"
            f'admin_keys: ["{ADMIN}"]\n'
            f"upstream: {{endpoint: '{sim.url}/', oidc_endpoint: '{sim.url}'}}\n"
            "state_dir: ./state\n"
            "log: {level: info}\n"
            "accounts:\n"
            "  - {id: sim, client_id: sim-client, client_secret: sim-secret, refresh_token: sim-refresh-token}\n"
        )

    return make


def file_totals(state: Path, key: str) -> dict[str, int]:
    """The sums of the whole lines of a key's usage file (a torn last line is not JSON and is left out)."""
    totals = {"requests": 0, "failures": 0, "throttled": 0, "input_tokens": 0, "output_tokens": 0}
    path = state / "usage" / f"{key}.jsonl"
    if not path.exists():
        return totals
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        for name in totals:
            totals[name] += record[name]
    return totals


def wait_for(condition, what: str, timeout: float = FLUSH_WAIT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting until {what}")


def usage_cli(binary: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([binary, "usage", *args], capture_output=True, text=True, timeout=30)


def send_traffic(url: str) -> dict[str, dict[str, int]]:
    """Three Claude requests as alice (one streamed) and two OpenAI chat completions as bob (one streamed);
    returns the requests and tokens each SDK reported per key."""
    sent = {key: {"requests": 0, "input_tokens": 0, "output_tokens": 0} for key in ("alice", "bob")}
    claude = anthropic.Anthropic(base_url=url, api_key=ALICE, max_retries=0, timeout=30)
    for text in ("one", "two"):
        message = claude.messages.create(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": text}])
        sent["alice"]["requests"] += 1
        sent["alice"]["input_tokens"] += message.usage.input_tokens
        sent["alice"]["output_tokens"] += message.usage.output_tokens
    with claude.messages.stream(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "three"}]) as stream:
        final = stream.get_final_message()
    sent["alice"]["requests"] += 1
    sent["alice"]["input_tokens"] += final.usage.input_tokens
    sent["alice"]["output_tokens"] += final.usage.output_tokens
    claude.close()

    chat = openai.OpenAI(base_url=url + "/v1", api_key=BOB, max_retries=0, timeout=30)
    completion = chat.chat.completions.create(model="claude-sonnet-4.5", messages=[{"role": "user", "content": "four"}])
    sent["bob"]["requests"] += 1
    sent["bob"]["input_tokens"] += completion.usage.prompt_tokens
    sent["bob"]["output_tokens"] += completion.usage.completion_tokens
    chunks = chat.chat.completions.create(
        model="claude-sonnet-4.5", messages=[{"role": "user", "content": "five"}], stream=True, stream_options={"include_usage": True}
    )
    usage = [chunk.usage for chunk in chunks if chunk.usage is not None]
    sent["bob"]["requests"] += 1
    sent["bob"]["input_tokens"] += usage[-1].prompt_tokens
    sent["bob"]["output_tokens"] += usage[-1].completion_tokens
    chat.close()
    return sent


def metric(url: str, name: str, **labels: str) -> float | None:
    text = httpx.get(url + "/metrics", timeout=10, trust_env=False).text
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{key}="{value}"' in line for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_usage_per_key_survives_a_restart_and_matches_the_cli(spawn: Spawner, tmp_path: Path, env):
    sim = spawn.simulator()
    server = spawn.server(config(sim))
    state = tmp_path / "state"
    sent = send_traffic(server.url)
    assert sent["alice"]["output_tokens"] > 0 and sent["bob"]["input_tokens"] > 0

    # /metrics counts at once, per key name (never the key).
    assert metric(server.url, "q2api_key_requests_total", key="alice", result="success") == 3
    assert metric(server.url, "q2api_key_requests_total", key="bob", result="success") == 2
    assert metric(server.url, "q2api_key_output_tokens_total", key="alice") == sent["alice"]["output_tokens"]
    assert metric(server.url, "q2api_key_input_tokens_total", key="bob") == sent["bob"]["input_tokens"]
    assert ALICE not in httpx.get(server.url + "/metrics", trust_env=False).text

    # /v2/usage answers at once too (counts not flushed yet included).
    report = httpx.get(server.url + "/v2/usage?range=24h&by=key", headers={"authorization": f"Bearer {ADMIN}"}, trust_env=False).json()
    assert [series["name"] for series in report["series"]] == ["alice", "bob"]
    assert [sum(series["requests"]) for series in report["series"]] == [3, 2]
    assert [key["name"] for key in report["keys"]] == ["alice", "bob"]

    # SIGTERM: the shutdown flush writes everything.
    server.process.send_signal(signal.SIGTERM)
    server.process.wait(timeout=20)
    for key in ("alice", "bob"):
        totals = file_totals(state, key)
        assert totals["requests"] == sent[key]["requests"], key
        assert totals["input_tokens"] == sent[key]["input_tokens"], key
        assert totals["output_tokens"] == sent[key]["output_tokens"], key
        assert totals["failures"] == 0 and totals["throttled"] == 0

    # After the restart the server reports the same usage.
    again = spawn.server(config(sim))
    report = httpx.get(again.url + "/v2/usage?range=7d&by=account", headers={"x-admin-key": ADMIN}, trust_env=False).json()
    assert len(report["buckets"]) == 168
    assert [(series["name"], sum(series["requests"])) for series in report["series"]] == [("sim", 5)]
    assert report["totals"]["output_tokens"] == sent["alice"]["output_tokens"] + sent["bob"]["output_tokens"]

    # q2api usage reads the files without the server's help; JSON and table agree with what was sent.
    result = usage_cli(env.bin, "--state-dir", str(state), "--since", "1d", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)["rows"]}
    assert set(rows) == {"alice", "bob"}
    for key in ("alice", "bob"):
        assert rows[key]["requests"] == sent[key]["requests"]
        assert rows[key]["input_tokens"] == sent[key]["input_tokens"]
        assert rows[key]["output_tokens"] == sent[key]["output_tokens"]
    yaml = next(tmp_path.glob("serve-*.yaml"))
    table = usage_cli(env.bin, "-c", str(yaml), "--by", "key")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["KEY", "REQUESTS", "FAILURES", "THROTTLED", "INPUT", "TOKENS", "OUTPUT", "TOKENS"]
    cells = {line.split()[0]: line.split()[1:] for line in lines[1:]}
    assert cells["alice"] == ["3", "0", "0", str(sent["alice"]["input_tokens"]), str(sent["alice"]["output_tokens"])]
    assert cells["bob"] == ["2", "0", "0", str(sent["bob"]["input_tokens"]), str(sent["bob"]["output_tokens"])]
    assert cells["TOTAL"][0] == "5"
    assert len({len(line) for line in lines}) == 1, "the table's columns are aligned"

    bad = usage_cli(env.bin, "--state-dir", str(state), "--since", "yesterday")
    assert bad.returncode != 0
    assert "--since must be a number followed by m, h, d or w" in bad.stderr


def test_sigkill_after_a_flush_loses_at_most_one_flush_interval(spawn: Spawner, tmp_path: Path, env):
    sim = spawn.simulator()
    server = spawn.server(config(sim))
    state = tmp_path / "state"
    claude = anthropic.Anthropic(base_url=server.url, api_key=ALICE, max_retries=0, timeout=30)
    for _ in range(2):
        claude.messages.create(model=MODEL, max_tokens=16, messages=[{"role": "user", "content": "before"}])
    wait_for(lambda: file_totals(state, "alice")["requests"] == 2, "the first two requests are flushed")
    for _ in range(3):
        claude.messages.create(model=MODEL, max_tokens=16, messages=[{"role": "user", "content": "after"}])
    claude.close()
    server.process.send_signal(signal.SIGKILL)
    server.process.wait(timeout=10)

    counted = file_totals(state, "alice")["requests"]
    assert 2 <= counted <= 5
    result = usage_cli(env.bin, "--state-dir", str(state), "--json")
    assert result.returncode == 0, result.stderr
    assert "warning" not in result.stderr
    assert json.loads(result.stdout)["totals"]["requests"] == counted

    # The restarted server reads the same files and counts on from there.
    again = spawn.server(config(sim))
    report = httpx.get(again.url + "/v2/usage", headers={"x-admin-key": ADMIN}, trust_env=False).json()
    assert report["totals"]["requests"] == counted
