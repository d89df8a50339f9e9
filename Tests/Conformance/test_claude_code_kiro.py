"""The real Claude Code CLI over `kind: kiro` accounts (issue #19): the same binary and simulator as
test_claude_code.py, but every account is a Kiro one, refreshed at the simulator's Kiro auth service
(`POST /refreshToken`, rotating its refresh tokens), whose access tokens the simulator accepts on `POST /` only
with a `profileArn` and the Kiro client's user agents.

A handful of scenarios, not the whole suite twice: a plain reply, a Write/Read/Edit agent loop, and a session that
fails over from a throttled Kiro account to the next tier's. Each asserts on Claude Code's result, on what q2api
answered, and on the simulator's counters (Kiro refreshes only, no request rejected by its validator) and the
state directory (token records that say `kind: kiro` and keep the returned profile).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
from pathlib import Path
from typing import Callable, Iterator

import httpx
import pytest

from claude_code_runner import Run, claude_binary, plan, run_claude, text, tool
from conftest import Env, Spawned, Spawner
from test_claude_code import assert_all_served, assert_completed, tool_results_text

BINARY = claude_binary()
KEY = "sk-claude-code-kiro"
# The profile the simulator's /refreshToken returns (SimulatorOptions.defaultKiroProfileARN).
RETURNED_PROFILE = "arn:aws:codewhisperer:us-east-1:000000000000:profile/QSIMKIRO"
PRIMARY = "arn:aws:codewhisperer:us-east-1:111111111111:profile/KIROPRIMARY"
BACKUP = "arn:aws:codewhisperer:us-east-1:222222222222:profile/KIROBACKUP"
TOKENS = ("kiro-main", "kiro-primary", "kiro-backup")


def server_config(sim: Spawned, accounts: str, extra: str = "") -> Callable[[int], str]:
    def render(port: int) -> str:
        return (
            "version: 1\n"
            f"listeners: [{{address: '127.0.0.1:{port}'}}]\n"
            f'api_keys: ["{KEY}"]\n'
            f"upstream: {{endpoint: '{sim.url}/', oidc_endpoint: '{sim.url}', kiro_auth_endpoint: '{sim.url}'}}\n"
            f"state_dir: ./state-{port}\n"
            "log: {level: info}\n"
            f"{extra}"
            "accounts:\n"
            f"{accounts}"
        )

    return render


# No profile_arn: the one the refresh returns is used.
ONE_KIRO = "  - {id: kiro, kind: kiro, refresh_token: kiro-main}\n"
TWO_KIRO_TIERS = (
    f"  - {{id: primary, kind: kiro, refresh_token: kiro-primary, profile_arn: '{PRIMARY}', tier: 0}}\n"
    f"  - {{id: backup, kind: kiro, refresh_token: kiro-backup, profile_arn: '{BACKUP}', tier: 1}}\n"
)


@dataclasses.dataclass
class KiroBench:
    binary: Path
    sim: Spawned
    main: Spawned
    failover: Spawned
    root: Path
    runs: dict[str, concurrent.futures.Future] = dataclasses.field(default_factory=dict)

    def run(self, server: Spawned, name: str, prompt: str, **kwargs) -> Run:
        return run_claude(self.binary, server.url, KEY, prompt, self.root / name / "project", self.root / name / "home", **kwargs)

    def sim_state(self) -> dict:
        return httpx.get(self.sim.url + "/__sim/state", timeout=5, trust_env=False).json()

    def outcome(self, name: str) -> Run:
        return self.runs[name].result(timeout=300)


def scenario_plain(bench: KiroBench) -> Run:
    return bench.run(bench.main, "plain", "Say hello. " + text("Hello over a Kiro account."), output_format="json")


def scenario_files(bench: KiroBench) -> Run:
    notes = bench.root / "files" / "project" / "notes.txt"
    return bench.run(
        bench.main,
        "files",
        "Edit a file. "
        + plan(
            tool("Write", {"file_path": str(notes), "content": "alpha\nbeta\n"}),
            tool("Read", {"file_path": str(notes)}),
            tool("Edit", {"file_path": str(notes), "old_string": "beta", "new_string": "gamma"}),
            text("Edited notes.txt."),
        ),
    )


def scenario_failover(bench: KiroBench) -> Run:
    return bench.run(
        bench.failover,
        "failover",
        "Keep working through a throttle. "
        + plan(
            tool("Bash", {"command": "echo before-the-throttle", "description": "Print a marker"}),
            "[[sim:throttle:profile/KIROPRIMARY]] " + tool("Bash", {"command": "echo after-the-throttle", "description": "Print a marker"}),
            text("Finished on the backup account."),
        ),
    )


SCENARIOS: dict[str, Callable[[KiroBench], Run]] = {"files": scenario_files, "failover": scenario_failover, "plain": scenario_plain}


@pytest.fixture(scope="module")
def bench(env: Env, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[KiroBench]:
    if not env.bin:
        pytest.skip("Q2API_BIN is not set")
    if BINARY is None:
        pytest.fail("claude-agent-sdk (which bundles the Claude Code CLI) is not installed: run scripts/install-clients")
    root = tmp_path_factory.mktemp("claude-code-kiro")
    spawner = Spawner(env.bin, root)
    failed_before = request.session.testsfailed
    try:
        args = [part for token in TOKENS for part in ("--refresh-token", token)]
        sim = spawner.simulator(*args, "--rotate-refresh-tokens")
        main = spawner.server(server_config(sim, ONE_KIRO), name="serve-kiro")
        failover = spawner.server(
            server_config(sim, TWO_KIRO_TIERS, "balancing: {strategy: round_robin, retries: 2, cooldown: 10m, max_cooldown: 10m}\n"),
            name="serve-kiro-failover",
        )
        bench = KiroBench(BINARY, sim, main, failover, root)
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(SCENARIOS), thread_name_prefix="claude-kiro") as pool:
            bench.runs = {name: pool.submit(scenario, bench) for name, scenario in SCENARIOS.items()}
            yield bench
    finally:
        spawner.stop()
        if request.session.testsfailed > failed_before:
            spawner.print_logs(lines=120)


def assert_kiro_only(bench: KiroBench) -> dict:
    """Every refresh went to the Kiro auth service, and the simulator's Kiro checks passed every request."""
    state = bench.sim_state()
    assert state["rejectedRequests"] == 0, f"the simulator rejected requests q2api sent: {json.dumps(state['rejections'], indent=1)}"
    assert state["authFailures"] == 0, state
    assert set(state["refreshesByClient"]) == {"kiro"}, state["refreshesByClient"]
    return state


def token_records(server: Spawned, account: str) -> list[dict]:
    path = Path(server.log).parent / f"state-{server.port}" / f"{account}.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [line for line in lines if line.get("type") == "token"]


def test_plain_reply_over_a_kiro_account(bench: KiroBench) -> None:
    run = bench.outcome("plain")
    assert_completed(run, turns=1, result="Hello over a Kiro account.")
    assert_all_served(run)
    state = assert_kiro_only(bench)
    # The account names no profile: its requests carry the one its refresh returned.
    assert state["requestsByProfile"].get(RETURNED_PROFILE, 0) >= 1, state["requestsByProfile"]
    records = token_records(bench.main, "kiro")
    assert records and all(record.get("kind") == "kiro" and record.get("profile_arn") == RETURNED_PROFILE for record in records), records
    # The simulator rotates: the state file holds the rotated token, never the seed.
    assert all(record["refresh_token"] != "kiro-main" for record in records), "the seed refresh token is still in use"


def test_write_read_edit_over_a_kiro_account(bench: KiroBench) -> None:
    run = bench.outcome("files")
    assert_completed(run, turns=4, result="Edited notes.txt.")
    assert [name for name, _ in run.tool_calls()] == ["Write", "Read", "Edit"], run.describe()
    assert "File created successfully" in tool_results_text(run)[0], run.describe()
    assert (bench.root / "files" / "project" / "notes.txt").read_text() == "alpha\ngamma\n"
    assert_all_served(run)
    assert_kiro_only(bench)


def test_a_throttled_kiro_account_fails_over_to_the_next_tier(bench: KiroBench) -> None:
    run = bench.outcome("failover")
    assert_completed(run, turns=3, result="Finished on the backup account.")
    assert tool_results_text(run) == ["before-the-throttle", "after-the-throttle"], run.describe()
    assert_all_served(run)
    state = assert_kiro_only(bench)
    assert state["requestsByProfile"].get(BACKUP, 0) >= 1, state["requestsByProfile"]
    health = httpx.get(bench.failover.url + "/healthz", timeout=5, trust_env=False).json()
    states = {item["id"]: item["state"] for item in health["accounts"]["items"]}
    assert states == {"primary": "cooling", "backup": "active"}, states
