"""The real Claude Code CLI against the real q2api binary and `q2api simulate` (issue #13).

The CLI that PyPI's claude-agent-sdk bundles (scripts/install-clients pins it) runs non-interactively,
`claude -p PROMPT --output-format stream-json --verbose` as the Agent SDK runs it (`--output-format json`, as
scripts run it, for the plain reply and the omitted-thinking session), with a throw-away HOME, in a scratch
project directory, through a logging hop (client_hop.Hop) so that each test sees every request the CLI sent and
every status q2api answered (claude_code_runner.py). The model's side is scripted by the simulator: the prompt carries a
`[[sim:plan:{"steps": [...]}]]` marker, and the simulator plays step N on the N-th request after it
(Sources/QSimulator/AgentPlan.swift), however the tool output that comes back looks.

The module starts its own simulator and three servers: `main` (one account, the usual config), `small` (a low
`limits.context_tokens`, started once the size of the CLI's first request is known) and `failover` (two accounts
on two tiers). Every session starts at once in a thread pool when the module starts; each test then waits for
its own session and asserts on Claude Code's result (`is_error`, `num_turns`, `result`), on the files it wrote,
on what went over the wire, and on the simulator's counters (GET /__sim/state: no request rejected by its
validator).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import re
import time
from pathlib import Path
from typing import Callable, Iterator

import httpx
import pytest

from claude_code_runner import Run, claude_binary, claude_version, plan, request_json, run_claude, say, text, tool
from conftest import Env, Spawned, Spawner

BINARY = claude_binary()

KEY = "sk-claude-code"
CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN = "sim-client", "sim-secret", "sim-refresh-token"
PRIMARY = "arn:aws:codewhisperer:us-east-1:111111111111:profile/PRIMARY"
BACKUP = "arn:aws:codewhisperer:us-east-1:222222222222:profile/BACKUP"
TOOLS = "Bash,Read,Write,Edit"

# The overflow case: each Bash step prints about 10,000 characters (~2,500 tokens by q2api's estimate), and the
# small server's limit sits 3.5 steps above the CLI's first request, so the 5th request is over it.
OVERFLOW_LINES = 1430
OVERFLOW_STEPS = 8


def server_config(sim: Spawned, accounts: str, extra: str = "") -> Callable[[int], str]:
    def render(port: int) -> str:
        return (
            "version: 1\n"
            f"listeners: [{{address: '127.0.0.1:{port}'}}]\n"
            f'api_keys: ["{KEY}"]\n'
            f"upstream: {{endpoint: '{sim.url}/', oidc_endpoint: '{sim.url}'}}\n"
            f"state_dir: ./state-{port}\n"
            "log: {level: info}\n"
            f"{extra}"
            "accounts:\n"
            f"{accounts}"
        )

    return render


ONE_ACCOUNT = f"  - {{id: sim, client_id: {CLIENT_ID}, client_secret: {CLIENT_SECRET}, refresh_token: {REFRESH_TOKEN}}}\n"
TWO_TIERS = (
    f"  - {{id: primary, client_id: {CLIENT_ID}, client_secret: {CLIENT_SECRET}, refresh_token: {REFRESH_TOKEN}, "
    f"profile_arn: '{PRIMARY}', tier: 0}}\n"
    f"  - {{id: backup, client_id: {CLIENT_ID}, client_secret: {CLIENT_SECRET}, refresh_token: {REFRESH_TOKEN}, "
    f"profile_arn: '{BACKUP}', tier: 1}}\n"
)


@dataclasses.dataclass
class Bench:
    binary: Path
    spawner: Spawner
    sim: Spawned
    main: Spawned
    failover: Spawned
    root: Path
    runs: dict[str, concurrent.futures.Future] = dataclasses.field(default_factory=dict)
    small: Spawned | None = None
    small_limit: int | None = None
    calibration: Run | None = None

    def run(self, server: Spawned, name: str, prompt: str, **kwargs) -> Run:
        return run_claude(self.binary, server.url, KEY, prompt, self.root / name / "project", self.root / name / "home", **kwargs)

    def sim_state(self) -> dict:
        return httpx.get(self.sim.url + "/__sim/state", timeout=5, trust_env=False).json()

    def outcome(self, name: str):
        """The named scenario's outcome, waiting for it (the sessions run concurrently)."""
        return self.runs[name].result(timeout=300)


# ---------------------------------------------------------------------------------------------
# The scenarios: each runs in the pool and returns what its test asserts on
# ---------------------------------------------------------------------------------------------


def scenario_plain(bench: Bench) -> Run:
    # As a script runs it: `--output-format json`, and ANTHROPIC_AUTH_TOKEN (Authorization: Bearer); every other
    # session uses ANTHROPIC_API_KEY (x-api-key).
    return bench.run(bench.main, "plain", "Say hello. " + text("Hello from q2api."), auth="auth_token", output_format="json")


def scenario_bash(bench: Bench) -> Run:
    # The shell computes the marker, so it can only reach the model through the tool result; the empty step gets
    # the simulator's default tool-result reply, "Tool results received: <the result>".
    return bench.run(
        bench.main, "bash", "Run a command. " + plan(tool("Bash", {"command": "echo bash-says-$((6 * 7))", "description": "Print a marker"}), "")
    )


def scenario_files(bench: Bench) -> Run:
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


def scenario_continue(bench: Bench) -> tuple[Run, Run]:
    first = bench.run(bench.main, "continue", "Remember a word. " + text("The code word is PINEAPPLE-42."))
    second = bench.run(bench.main, "continue", "What was it? [[sim:recall:PINEAPPLE-42]]", args=("--continue",))
    return first, second


def scenario_tool_search(bench: Bench) -> Run:
    # CronList is one of the deferred tools the CLI names in its system message; ToolSearch `select:` loads it
    # (its result is a tool_reference block), and the next request declares it with defer_loading.
    return bench.run(
        bench.main,
        "tool_search",
        "Load a deferred tool and use it. " + plan(tool("ToolSearch", {"query": "select:CronList"}), tool("CronList", {}), ""),
        allowed_tools=TOOLS + ",ToolSearch,CronList",
    )


def scenario_thinking(bench: Bench) -> tuple[Run, Run]:
    # The CLI always asks for adaptive thinking: `{"type": "adaptive", "display": "omitted"}` as scripts run it
    # (`--output-format json`), and with `--thinking-display summarized` it shows the thinking. The first reply
    # thinks and calls a tool, so the second request carries the signed thinking block back.
    prompt = "Think, then act. " + plan(
        "[[sim:thinking]] " + tool("Bash", {"command": "echo thought-through", "description": "Print a marker"}), "[[sim:thinking]]"
    )
    shown = bench.run(bench.main, "thinking", prompt, args=("--thinking", "enabled", "--thinking-display", "summarized"))
    omitted = bench.run(bench.main, "thinking_omitted", prompt, output_format="json")
    return shown, omitted


def scenario_agent(bench: Bench) -> Run:
    marker = bench.root / "agent" / "project" / "sub-agent.txt"
    sub_prompt = "Write the marker file. " + plan(
        tool("Bash", {"command": f"echo written-by-the-sub-agent > {marker}", "description": "Write a marker file"}),
        text("Sub-agent finished: marker written."),
    )
    return bench.run(
        bench.main,
        "agent",
        "Delegate to a sub-agent. "
        + plan(
            tool("Agent", {"description": "Write a marker file", "prompt": sub_prompt, "subagent_type": "general-purpose", "run_in_background": False}),
            text("The sub-agent is done."),
        ),
        allowed_tools=TOOLS + ",Agent",
    )


def overflow_prompt(active: bool) -> str:
    steps = [
        tool("Bash", {"command": f"seq {100000 * (i + 1)} {100000 * (i + 1) + OVERFLOW_LINES}", "description": "Print numbers"})
        for i in range(OVERFLOW_STEPS)
    ]
    # When the CLI compacts, its summary request gets a summary that carries a plan of its own, so the first request
    # after the compaction (which no longer holds this prompt) is scripted too, whatever its step.
    summary = "<summary>The user asked for numbers; they were printed. " + plan(*[text("Carried on after compaction.")] * 12) + "</summary>"
    prompt = "Print a lot of numbers. " + plan(*steps, text("Finished without compacting."), when={"detailed summary": say(summary)})
    # The calibration run sends a prompt of the same size whose markers do nothing.
    return prompt if active else text("Calibrated.") + " " + prompt.replace("[[sim:", "[[off:")


def scenario_overflow(bench: Bench) -> Run:
    # The size of the CLI's first request in q2api's own estimate (which its context check uses), measured with a
    # prompt of the same size, so the limit follows the CLI's system prompt and q2api's estimator.
    bench.calibration = bench.run(bench.main, "overflow_calibration", overflow_prompt(active=False))
    first_request = int(bench.calibration.result.get("usage", {}).get("input_tokens") or 0)
    assert first_request > 0, "calibration run got no usage:\n" + bench.calibration.describe()
    step_tokens = (OVERFLOW_LINES * 7) // 4
    bench.small_limit = first_request + (step_tokens * 7) // 2
    bench.small = bench.spawner.server(
        server_config(bench.sim, ONE_ACCOUNT, f"limits: {{context_tokens: {bench.small_limit}}}\n"), name="serve-small"
    )
    return bench.run(bench.small, "overflow", overflow_prompt(active=True), args=("--thinking-display", "summarized"))


def scenario_failover(bench: Bench) -> Run:
    # The session starts on the tier-0 account; its second reply is throttled there (429) and only there.
    return bench.run(
        bench.failover,
        "failover",
        "Keep working through a throttle. "
        + plan(
            tool("Bash", {"command": "echo before-the-throttle", "description": "Print a marker"}),
            "[[sim:throttle:profile/PRIMARY]] " + tool("Bash", {"command": "echo after-the-throttle", "description": "Print a marker"}),
            text("Finished on the backup account."),
        ),
    )


SCENARIOS: dict[str, Callable[[Bench], object]] = {
    "overflow": scenario_overflow,  # the longest (a calibration run first): started first
    "continue": scenario_continue,
    "agent": scenario_agent,
    "files": scenario_files,
    "failover": scenario_failover,
    "tool_search": scenario_tool_search,
    "thinking": scenario_thinking,
    "bash": scenario_bash,
    "plain": scenario_plain,
}
WORKERS = 5


@pytest.fixture(scope="module")
def bench(env: Env, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Bench]:
    if not env.bin:
        pytest.skip("Q2API_BIN is not set")
    if BINARY is None:
        pytest.fail("claude-agent-sdk (which bundles the Claude Code CLI) is not installed: run scripts/install-clients")
    root = tmp_path_factory.mktemp("claude-code")
    spawner = Spawner(env.bin, root)
    failed_before = request.session.testsfailed
    try:
        sim = spawner.simulator("--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET, "--refresh-token", REFRESH_TOKEN)
        main = spawner.server(server_config(sim, ONE_ACCOUNT), name="serve-main")
        # A throttled account rests for a long time, so the test still sees it cooling when it looks.
        failover = spawner.server(
            server_config(sim, TWO_TIERS, "balancing: {strategy: round_robin, retries: 2, cooldown: 10m, max_cooldown: 10m}\n"),
            name="serve-failover",
        )
        bench = Bench(BINARY, spawner, sim, main, failover, root)
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="claude") as pool:
            bench.runs = {name: pool.submit(scenario, bench) for name, scenario in SCENARIOS.items()}
            yield bench
        print(f"\nClaude Code {claude_version(BINARY)}: {len(SCENARIOS)} scenarios in {time.monotonic() - started:.1f} s")
    finally:
        spawner.stop()
        if request.session.testsfailed > failed_before:
            spawner.print_logs(lines=120)


# ---------------------------------------------------------------------------------------------
# Assertions shared by every case
# ---------------------------------------------------------------------------------------------


def assert_completed(run: Run, turns: int, result: str | None = None) -> None:
    """The session ended normally: exit 0, `is_error: false`, the expected number of turns and final text."""
    details = run.describe()
    assert not run.timed_out, "the CLI did not finish in time:\n" + details
    assert run.result, "the CLI printed no result:\n" + details
    assert run.returncode == 0, details
    assert run.result.get("is_error") is False, details
    assert run.result.get("subtype") == "success", details
    assert run.result.get("num_turns") == turns, details
    if result is not None:
        assert run.result.get("result") == result, details


def assert_all_served(run: Run, allowed: Callable[[int, str], bool] = lambda status, body: False) -> None:
    """q2api answered every request of the session with 200 (or as `allowed` says)."""
    assert run.messages_requests(), "no request reached q2api:\n" + run.describe()
    unexpected = [r for r in run.rejected() if not allowed(r.status or 0, r.response_head.decode(errors="replace"))]
    assert not unexpected, "q2api refused requests of the session:\n" + run.describe()


def assert_simulator_clean(bench: Bench) -> dict:
    """No request so far was rejected by the simulator's validator (what the real service would refuse)."""
    state = bench.sim_state()
    assert state["rejectedRequests"] == 0, f"the simulator rejected requests q2api sent: {json.dumps(state['rejections'], indent=1)}"
    assert state["authFailures"] == 0, state
    return state


def tool_results_text(run: Run) -> list[str]:
    texts = []
    for block in run.tool_results():
        content = block.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts.append("".join(part.get("text", "") for part in content if isinstance(part, dict)))
    return texts


# ---------------------------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------------------------


def test_plain_reply(bench: Bench) -> None:
    run: Run = bench.outcome("plain")
    assert_completed(run, turns=1, result="Hello from q2api.")
    assert_all_served(run)
    first = request_json(run.messages_requests()[0])
    # What the CLI sends today (../shared/CLIENTS.md): a system-role message inside `messages`.
    assert any(message.get("role") == "system" for message in first.get("messages", [])), first.get("messages")
    headers = {name.lower(): value for name, value in run.messages_requests()[0].headers}
    assert headers.get("authorization") == f"Bearer {KEY}" and "x-api-key" not in headers, "ANTHROPIC_AUTH_TOKEN is sent as a bearer token"
    assert_simulator_clean(bench)


def test_bash_loop(bench: Bench) -> None:
    run: Run = bench.outcome("bash")
    assert run.tool_calls() == [("Bash", {"command": "echo bash-says-$((6 * 7))", "description": "Print a marker"})], run.describe()
    assert tool_results_text(run) == ["bash-says-42"], run.describe()
    # The model saw the command's output: the simulator quotes the tool result it received.
    assert_completed(run, turns=2, result="Tool results received: bash-says-42")
    assert_all_served(run)
    assert_simulator_clean(bench)


def test_write_read_edit(bench: Bench) -> None:
    run: Run = bench.outcome("files")
    assert_completed(run, turns=4, result="Edited notes.txt.")
    assert [name for name, _ in run.tool_calls()] == ["Write", "Read", "Edit"], run.describe()
    results = tool_results_text(run)
    assert "File created successfully" in results[0], results
    assert "alpha" in results[1] and "beta" in results[1], results
    assert "updated successfully" in results[2], results
    assert (bench.root / "files" / "project" / "notes.txt").read_text() == "alpha\ngamma\n"
    assert_all_served(run)
    assert_simulator_clean(bench)


def test_continue_carries_the_history(bench: Bench) -> None:
    first, second = bench.outcome("continue")
    assert_completed(first, turns=1, result="The code word is PINEAPPLE-42.")
    # The simulator found the first turn's answer in the history of the second session's request.
    assert_completed(second, turns=1, result="Recalled from the history: PINEAPPLE-42")
    assert first.result.get("session_id") == second.result.get("session_id"), "--continue resumes the same session"
    resumed = request_json(second.messages_requests()[-1])
    assert "The code word is PINEAPPLE-42." in json.dumps(resumed.get("messages")), "the CLI resent the first turn"
    assert_all_served(first)
    assert_all_served(second)
    assert_simulator_clean(bench)


def test_tool_search_loads_a_deferred_tool(bench: Bench) -> None:
    run: Run = bench.outcome("tool_search")
    assert [name for name, _ in run.tool_calls()] == ["ToolSearch", "CronList"], run.describe()
    search_result = run.tool_results()[0]
    assert {"type": "tool_reference", "tool_name": "CronList"} in search_result.get("content", []), run.describe()
    assert_completed(run, turns=3, result="Tool results received: No scheduled jobs.")
    assert_all_served(run)
    # The request after the ToolSearch declares CronList as a deferred tool and carries the tool_reference back.
    requests = [request_json(r) for r in run.messages_requests() if r.status == 200]
    loaded = requests[1]
    cron = [t for t in loaded.get("tools", []) if t.get("name") == "CronList"]
    assert cron and cron[0].get("defer_loading") is True, [t.get("name") for t in loaded.get("tools", [])]
    assert "tool_reference" in json.dumps(loaded["messages"][-1])
    # The simulator checks that every tool in the history is declared upstream: CronList was loaded.
    assert_simulator_clean(bench)


def replayed_thinking(request: dict) -> list[dict]:
    """The thinking blocks of the assistant turns a request hands back."""
    return [
        block
        for message in request.get("messages", [])
        if message.get("role") == "assistant" and isinstance(message.get("content"), list)
        for block in message["content"]
        if isinstance(block, dict) and block.get("type") == "thinking"
    ]


def test_thinking(bench: Bench) -> None:
    shown, omitted = bench.outcome("thinking")

    # Shown: the simulator's <thinking> text arrives as a signed thinking block, before the text and the tool call.
    assert_completed(shown, turns=2, result="The answer is 42.")
    thinking = [block for block in shown.blocks() if block.get("type") == "thinking"]
    assert len(thinking) == 2, shown.describe()
    for block in thinking:
        assert block.get("thinking") == "I should answer briefly.", block
        assert block.get("signature"), block
    assert "thought-through" in tool_results_text(shown), shown.describe()
    assert_all_served(shown)
    requests = [request_json(r) for r in shown.messages_requests()]
    assert all(r.get("thinking", {}).get("display") == "summarized" for r in requests), [r.get("thinking") for r in requests]
    # The second request hands the signed thinking block back, and q2api accepts its own signature.
    replayed = replayed_thinking(requests[-1])
    assert replayed and replayed[0]["signature"] == thinking[0]["signature"], requests[-1]["messages"]

    # Omitted (the CLI's default in scripts): a signed thinking block with no text, then the answer.
    assert_completed(omitted, turns=2, result="The answer is 42.")
    assert_all_served(omitted)
    requests = [request_json(r) for r in omitted.messages_requests()]
    assert all(r.get("thinking") == {"type": "adaptive", "display": "omitted"} for r in requests), [r.get("thinking") for r in requests]
    first_reply = omitted.messages_requests()[0].response_head
    assert b'"signature_delta"' in first_reply and b'"thinking_delta"' not in first_reply, first_reply[:1500]
    replayed = replayed_thinking(requests[-1])
    assert replayed and replayed[0].get("thinking") == "" and replayed[0].get("signature"), requests[-1]["messages"]
    assert_simulator_clean(bench)


def test_sub_agent(bench: Bench) -> None:
    run: Run = bench.outcome("agent")
    assert_completed(run, turns=2, result="The sub-agent is done.")
    assert (bench.root / "agent" / "project" / "sub-agent.txt").read_text() == "written-by-the-sub-agent\n"
    assert [name for name, _ in run.tool_calls()] == ["Agent", "Bash"], run.describe()
    assert any("Sub-agent finished: marker written." in result for result in tool_results_text(run)), run.describe()
    # The sub-agent's own requests (its prompt as the first user turn) went through q2api too.
    def first_turn(record) -> str:
        return json.dumps(request_json(record).get("messages", [])[:1])

    sub_requests = [r for r in run.messages_requests() if "Write the marker file." in first_turn(r) and "Delegate" not in first_turn(r)]
    assert len([r for r in sub_requests if r.status == 200]) >= 2, run.describe()
    assert_all_served(run)
    assert_simulator_clean(bench)


def test_context_overflow_compacts_and_carries_on(bench: Bench) -> None:
    run: Run = bench.outcome("overflow")
    assert bench.calibration is not None and bench.small_limit is not None
    assert_completed(bench.calibration, turns=1, result="Calibrated.")
    too_long = re.compile(rf"prompt is too long: (\d+) tokens > {bench.small_limit} maximum")

    def over_the_limit(status: int, body: str) -> bool:
        return status == 400 and too_long.search(body) is not None

    assert_all_served(run, allowed=over_the_limit)
    overflows = [r for r in run.rejected()]
    assert overflows, "no request went over the limit:\n" + run.describe()
    statuses = run.statuses()
    assert any(s.get("status") == "compacting" for s in statuses), run.describe()
    assert any(s.get("compact_result") == "success" for s in statuses), run.describe()
    assert any(e.get("subtype") == "compact_boundary" for e in run.events), run.describe()
    # After the compaction the session went on, scripted by the plan in its summary.
    assert run.result.get("result") == "Carried on after compaction.", run.describe()
    assert run.result.get("is_error") is False and run.returncode == 0, run.describe()
    bash_calls = [name for name, _ in run.tool_calls() if name == "Bash"]
    assert 2 <= len(bash_calls) < OVERFLOW_STEPS, run.describe()
    # q2api's estimate of each request it served stayed within the limit.
    for record in run.messages_requests():
        if record.status == 200:
            usage = re.search(rb'"input_tokens":(\d+)', record.response_head)
            assert usage and int(usage.group(1)) <= bench.small_limit, record.response_head[:400]
    assert_simulator_clean(bench)


def test_throttled_account_fails_over_unnoticed(bench: Bench) -> None:
    run: Run = bench.outcome("failover")
    assert_completed(run, turns=3, result="Finished on the backup account.")
    assert tool_results_text(run) == ["before-the-throttle", "after-the-throttle"], run.describe()
    assert_all_served(run)  # the 429 never reached the CLI
    state = assert_simulator_clean(bench)
    by_profile = state["requestsByProfile"]
    # Two requests on the primary (the second throttled), then the retry and the last one on the backup.
    assert by_profile.get(PRIMARY) == 2, by_profile
    assert by_profile.get(BACKUP) == 2, by_profile
    assert state["scriptedFailures"] == 1, state
    health = httpx.get(bench.failover.url + "/healthz", timeout=5, trust_env=False).json()
    accounts = {item["id"]: item for item in health["accounts"]["items"]}
    assert accounts["primary"]["state"] == "cooling", accounts
    assert accounts["backup"]["state"] == "active" and accounts["backup"]["successes"] >= 2, accounts
    metrics = httpx.get(bench.failover.url + "/metrics", timeout=5, trust_env=False).text
    assert re.search(r'^q2api_upstream_errors_total\{reason="throttled"\} 1(\.0)?$', metrics, re.MULTILINE), metrics


def test_simulator_saw_every_session(bench: Bench) -> None:
    """After every session: nothing rejected, and the plans scripted the replies."""
    for name in SCENARIOS:
        try:
            bench.outcome(name)
        except Exception:  # that scenario's own test reports it
            pass
    state = assert_simulator_clean(bench)
    assert state["openStreams"] == 0, state
    # Every session but the plain one, the calibration and the recall is driven by a plan.
    assert state["planReplies"] >= 20, state
