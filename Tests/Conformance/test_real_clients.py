"""The real clients, as their users run them, against the real q2api binary talking to `q2api simulate`:
aider-chat (Anthropic and OpenAI routes, streaming and not: it really edits a file), litellm (both routes,
text, tool calls, the tool-result turn, response_format), langchain-anthropic (`bind_tools` streaming and
the ToolMessage turn, `with_structured_output` both ways) and openai-agents (`OpenAIChatCompletionsModel`
with a function tool that really runs).

Each test asserts on what the client got back: the simulator's scripted text, the tool call with its
arguments, the simulator's answer to the tool result (which quotes it), the parsed structured output.
The scenarios live in client_scenarios.py and are the ones scripts/record-clients records into
fixtures/clients/. The clients are installed by scripts/install-clients (aider in .venv-aider).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import client_scenarios as cs
from conftest import Env

# litellm's types trip a pydantic warning on import; not ours to fix.
pytestmark = pytest.mark.filterwarnings(r"ignore:Item .* is using the `ReadOnly` qualifier:UserWarning")

# ---------------------------------------------------------------------------------------------
# Offline: a client library that looks up or connects to any host but loopback fails its test (only the
# package registries are reachable in CI, and nothing at run time should depend on them).
# ---------------------------------------------------------------------------------------------

_outbound: list[str] | None = None
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _audit(event: str, args: tuple) -> None:
    if _outbound is None:
        return
    if event == "socket.getaddrinfo":
        host = args[0]
    elif event == "socket.connect" and isinstance(args[1], tuple):
        host = args[1][0]
    else:
        return
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if host and host not in LOOPBACK:
        _outbound.append(f"{event} {host}")


sys.addaudithook(_audit)  # once per process; active only while a test of this module runs


@pytest.fixture(autouse=True)
def offline():
    global _outbound
    _outbound = []
    try:
        yield
        assert not _outbound, f"a client tried to reach the network: {sorted(set(_outbound))}"
    finally:
        _outbound = None


# ---------------------------------------------------------------------------------------------
# aider-chat: four concurrent subprocesses, started as soon as this module starts so that they run
# while the in-process clients below are tested.
# ---------------------------------------------------------------------------------------------

AIDER_IDS = [f"{route}-{'stream' if stream else 'no-stream'}" for route, stream in cs.AIDER_SCENARIOS]


@pytest.fixture(scope="module")
def aider_runs(env: Env, tmp_path_factory: pytest.TempPathFactory):
    scratch = tmp_path_factory.mktemp("aider")
    runs = {run.label: run for run in (cs.start_aider(r, s, env.base_url, env.api_key, scratch) for r, s in cs.AIDER_SCENARIOS)}
    yield runs
    for run in runs.values():
        if run.process.poll() is None:
            run.process.kill()
            run.process.wait()


@pytest.fixture(scope="module", autouse=True)
def _start_aider_early(request: pytest.FixtureRequest) -> None:
    if any("aider" in item.name for item in request.session.items if item.module is request.module):
        request.getfixturevalue("aider_runs")


# ---------------------------------------------------------------------------------------------
# litellm
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["no-stream", "stream"])
@pytest.mark.parametrize("route", ["anthropic", "openai"])
def test_litellm_text(env: Env, route: str, stream: bool) -> None:
    observed = cs.litellm_text(route, env.base_url, env.api_key, stream, "Hello from litellm, word for word")
    assert observed["text"] == "Hello from litellm, word for word", observed
    assert observed["finish_reason"] == "stop", observed
    if stream:
        assert observed["chunks"] > 1, f"the reply did not stream: {observed}"
    else:
        assert observed["usage"].prompt_tokens > 0 and observed["usage"].completion_tokens > 0, observed


@pytest.mark.parametrize("stream", [False, True], ids=["no-stream", "stream"])
@pytest.mark.parametrize("route", ["anthropic", "openai"])
def test_litellm_tool_call_and_tool_result_turn(env: Env, route: str, stream: bool) -> None:
    observed = cs.litellm_tool_round_trip(route, env.base_url, env.api_key, stream)
    assert observed["finish_reason"] == "tool_calls", observed
    assert [(c["name"], c["arguments"]) for c in observed["tool_calls"]] == [("get_weather", cs.TOOL_ARGS)], observed
    assert all(c["id"] for c in observed["tool_calls"]), observed
    # The simulator answers a tool-result turn by quoting the result: it reached the model.
    assert observed["final_text"] == cs.TOOL_RESULT_REPLY, observed
    assert observed["final_finish_reason"] == "stop", observed


def test_litellm_response_format_on_the_anthropic_route(env: Env) -> None:
    observed = cs.litellm_response_format(env.base_url, env.api_key)
    assert json.loads(observed["text"]) == cs.STRUCTURED, observed


# ---------------------------------------------------------------------------------------------
# langchain-anthropic
# ---------------------------------------------------------------------------------------------


def test_langchain_bind_tools_streaming_and_tool_message_turn(env: Env) -> None:
    observed = cs.langchain_bind_tools_stream(env.base_url, env.api_key)
    assert observed["chunks"] > 1, f"the reply did not stream: {observed}"
    assert [(c["name"], c["args"]) for c in observed["tool_calls"]] == [("get_weather", cs.TOOL_ARGS)], observed
    assert observed["stop_reason"] == "tool_use", observed
    assert observed["final_text"] == cs.TOOL_RESULT_REPLY, observed


@pytest.mark.parametrize("method", ["function_calling", "json_schema"])
def test_langchain_with_structured_output(env: Env, method: str) -> None:
    assert cs.langchain_structured_output(env.base_url, env.api_key, method) == cs.STRUCTURED


# ---------------------------------------------------------------------------------------------
# openai-agents
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["run", "run-streamed"])
def test_openai_agents_function_tool(env: Env, stream: bool) -> None:
    observed = cs.agents_function_tool(env.base_url, env.api_key, stream)
    assert observed["calls"] == ["Paris"], f"the function tool did not run with the model's arguments: {observed}"
    assert observed["model_responses"] == 2, observed  # the tool call, then the answer to its result
    assert observed["final_output"] == cs.TOOL_RESULT_REPLY, observed
    if stream:
        events = observed["events"]
        assert "raw_response_event" in events and "run_item_stream_event" in events, events


# ---------------------------------------------------------------------------------------------
# aider-chat (last, so that its processes have been running meanwhile)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("label", AIDER_IDS)
def test_aider_edits_a_file(aider_runs: dict[str, cs.AiderRun], label: str) -> None:
    run = aider_runs[label]
    code, output, text = run.wait()
    assert code == 0, f"aider exited with {code}:\n{output}"
    assert "Applied edit to notes.txt" in output, output
    assert text == run.expected, f"notes.txt is {text!r}, expected {run.expected!r}; aider said:\n{output}"
    # Errors, retries, and lookups of hosts other than q2api (aider fetches price lists unless told not to).
    for sign in ("Traceback", "Error", "Exception", "Retrying", "Failed to resolve", "githubusercontent", "openrouter.ai"):
        assert sign not in output, f"{sign!r} in aider's output:\n{output}"
    assert not (Path(run.project) / "notes.txt.orig").exists()
