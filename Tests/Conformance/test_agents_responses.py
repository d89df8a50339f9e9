"""openai-agents with its DEFAULT model, `OpenAIResponsesModel` (`Agent(model="gpt-4o")` on the Responses API),
against the real q2api binary talking to `q2api simulate`: the default client is an AsyncOpenAI whose base_url
is q2api (`set_default_openai_client`, `set_default_openai_api("responses")`, tracing off).

An agent with one function tool runs to completion with `Runner.run` and `Runner.run_streamed`: the tool
really runs with the model's arguments, its output goes back (the Agents SDK replays the whole history in
`input`), and the final output is the simulator's answer to it, which quotes the tool output. A second turn
continues with `previous_response_id=result.last_response_id`. Like test_real_clients.py, a client that
looks up or connects to any host but loopback fails its test.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any, Iterator

import pytest

from conftest import TIMEOUT, Env

MODEL = "gpt-4o"
TOOL_MARKER = '[[sim:tool:get_weather:{"city":"Paris"}]]'
TOOL_RESULT = "Sunny, 21 degrees in Paris"
TOOL_RESULT_REPLY = "Tool results received: " + TOOL_RESULT  # the simulator's answer to a tool-result turn

agents = pytest.importorskip("agents", reason="openai-agents is installed by scripts/install-clients")

# ---------------------------------------------------------------------------------------------
# Offline: only loopback may be looked up or connected to while a test of this module runs.
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
def offline() -> Iterator[None]:
    global _outbound
    _outbound = []
    try:
        yield
        assert not _outbound, f"a client tried to reach the network: {sorted(set(_outbound))}"
    finally:
        _outbound = None


@pytest.fixture
def default_client(env: Env) -> Iterator[Env]:
    """Restores the Agents SDK's defaults after a test; `run_agent` points them at q2api for each run."""
    from agents.models import _openai_shared

    saved = (_openai_shared.get_default_openai_client(), _openai_shared.get_use_responses_by_default())
    try:
        yield env
    finally:
        _openai_shared.set_default_openai_client(saved[0])
        _openai_shared.set_use_responses_by_default(saved[1])


def weather_agent(calls: list[str]):
    from agents import Agent, function_tool

    @function_tool
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        calls.append(city)
        return TOOL_RESULT

    # A model name, not a Model: the default provider picks OpenAIResponsesModel with the default client.
    return Agent(name="weather", instructions="Answer weather questions with the get_weather tool.", tools=[get_weather], model=MODEL)


def run_agent(env: Env, prompt: str, stream: bool, **kwargs) -> tuple[Any, list[Any]]:
    """Runs the weather agent once, in a fresh event loop with a fresh default client (AsyncOpenAI on q2api)."""
    from agents import Runner, set_default_openai_api, set_default_openai_client, set_tracing_disabled
    from openai import AsyncOpenAI

    calls: list[str] = []
    agent = weather_agent(calls)

    async def run() -> tuple[Any, list[Any]]:
        client = AsyncOpenAI(base_url=env.base_url + "/v1", api_key=env.api_key, max_retries=0, timeout=TIMEOUT)
        set_default_openai_client(client, use_for_tracing=False)
        set_default_openai_api("responses")
        set_tracing_disabled(True)
        try:
            if stream:
                result = Runner.run_streamed(agent, prompt, **kwargs)
                events = [event async for event in result.stream_events()]
            else:
                result = await Runner.run(agent, prompt, **kwargs)
                events = []
            return result, events
        finally:
            await client.close()

    result, events = asyncio.run(asyncio.wait_for(run(), timeout=2 * TIMEOUT))
    result.calls = calls  # type: ignore[attr-defined]
    return result, events


@pytest.mark.parametrize("stream", [False, True], ids=["run", "run-streamed"])
def test_default_responses_model_runs_a_function_tool(default_client: Env, stream: bool) -> None:
    result, events = run_agent(default_client, f"What is the weather in Paris? {TOOL_MARKER}", stream)
    assert result.calls == ["Paris"], f"the function tool did not run with the model's arguments: {result.calls}"
    assert len(result.raw_responses) == 2, result.raw_responses  # the tool call, then the answer to its output
    # OpenAIResponsesModel keeps the Responses API's id (OpenAIChatCompletionsModel keeps none).
    assert all((r.response_id or "").startswith("resp_") for r in result.raw_responses), [r.response_id for r in result.raw_responses]
    assert result.final_output == TOOL_RESULT_REPLY
    kinds = [item.type for item in result.new_items]
    assert kinds.count("tool_call_item") == 1 and kinds.count("tool_call_output_item") == 1, kinds
    assert kinds[-1] == "message_output_item", kinds
    output = next(item for item in result.new_items if item.type == "tool_call_output_item")
    assert output.output == TOOL_RESULT
    usage = result.context_wrapper.usage
    assert usage.requests == 2 and usage.input_tokens > 0 and usage.output_tokens > 0, usage
    if stream:
        types = [event.type for event in events]
        assert "raw_response_event" in types and "run_item_stream_event" in types, types
        raw = [event.data.type for event in events if event.type == "raw_response_event"]
        assert raw.count("response.created") == 2 and raw.count("response.completed") == 2, raw
        assert "response.function_call_arguments.delta" in raw and "response.output_text.delta" in raw, raw
        names = [event.name for event in events if event.type == "run_item_stream_event"]
        assert "tool_called" in names and "tool_output" in names and "message_output_created" in names, names


@pytest.mark.parametrize("stream", [False, True], ids=["run", "run-streamed"])
def test_second_turn_with_previous_response_id(default_client: Env, stream: bool) -> None:
    first, _ = run_agent(default_client, f"What is the weather in Paris? Code word HERON-12. {TOOL_MARKER}", stream)
    assert first.final_output == TOOL_RESULT_REPLY
    assert first.last_response_id and first.last_response_id.startswith("resp_"), first.last_response_id
    second, _ = run_agent(default_client, "What was the code word? [[sim:recall:HERON-12]]", stream, previous_response_id=first.last_response_id)
    assert second.calls == [], "no tool call was scripted for the second turn"
    assert second.final_output == "Recalled from the history: HERON-12", "the first turn did not reach the model through previous_response_id"
