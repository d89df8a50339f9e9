"""The OpenAI Responses API (`POST /v1/responses` and friends) as the official `openai` SDK sees it.

Every test talks to the real q2api binary, which talks to `q2api simulate`; replies are scripted with
`[[sim:NAME:ARG]]` markers (Sources/QSimulator/ReplyBuilder.swift). The tests follow OpenAI's semantics, as
the SDK and its users rely on them:

- the response object (`id` resp_..., `object`, `status`, `output` items, `usage`, echoed request fields);
- the stream: `response.created` first, `response.in_progress`, each output item opened with
  `response.output_item.added` and closed with `response.output_item.done`, its content parts, text and
  argument deltas whose concatenation is what the `.done` events and the final response carry, strictly
  increasing `sequence_number`s, and one terminal event (`response.completed`, `response.incomplete` or
  `response.failed`) at the end;
- conversation state: `previous_response_id` carries the earlier input and output (checked with
  `[[sim:recall:X]]`, which answers whether X is in the history the model received) but not the earlier
  `instructions`, `store: false`, `GET` / `DELETE /v1/responses/{id}`, `GET /v1/responses/{id}/input_items`,
  and stored responses that survive a restart (SIGTERM, same state directory);
- function calling (flat `function` tools, `function_call_output` by `previous_response_id` or by replaying the
  items with `store: false`), reasoning summaries, `text.format` (`client.responses.parse` with pydantic),
  `max_output_tokens` (status `incomplete`);
- errors in OpenAI's shape: 400 for OpenAI-hosted tools (but `web_search`, which Codex always sends, is left
  out), background mode, conversations, stored prompts, unknown previous responses and unknown call ids; 404
  for unknown ids and routes; 405 with `Allow` for a wrong method (Claude's shape on /v1/messages); 429 before
  the first byte; `response.failed` after it.

Every test also checks that the simulator rejected no request q2api sent upstream.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

import conftest
import httpx
import openai
import pydantic
import pytest

from conftest import DEFAULT_REPLY, TIMEOUT, Env, Spawner, png_1x1_base64, stop_process
from responses_stream import THINKING_ANSWER, THOUGHT, check_stream

MODEL = "gpt-4o"
REASONING_MODEL = "o4-mini"

WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather for a location.",
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string", "description": "City name"}},
        "required": ["location"],
        "additionalProperties": False,
    },
    "strict": True,
}
TIME_TOOL = {
    "type": "function",
    "name": "get_time",
    "description": "Get the current time in a timezone.",
    "parameters": {"type": "object", "properties": {"timezone": {"type": "string"}}, "required": ["timezone"]},
    "strict": False,
}
WEATHER_MARKER = '[[sim:tool:get_weather:{"location":"Paris"}]]'
PARALLEL_PROMPT = f'Weather and time please. {WEATHER_MARKER} [[sim:tool:get_time:{{"timezone":"Europe/Paris"}}]]'
TOOL_RESULT_PREFIX = "Tool results received: "  # the simulator's answer to a tool-result turn quotes the results


# ---------------------------------------------------------------------------------------------
# Clients and helpers
# ---------------------------------------------------------------------------------------------


def make_openai(base_url: str, api_key: str, **kwargs) -> openai.OpenAI:
    """An OpenAI client without retries, so that error tests see the first answer."""
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("timeout", TIMEOUT)
    return openai.OpenAI(base_url=base_url + "/v1", api_key=api_key, **kwargs)


@pytest.fixture(scope="module")
def oai(env: Env) -> Iterator[openai.OpenAI]:
    c = make_openai(env.base_url, env.api_key)
    yield c
    c.close()


def sim_state(env: Env) -> dict:
    return httpx.get(env.sim_url + "/__sim/state", timeout=5, trust_env=False).json()


@pytest.fixture(autouse=True)
def upstream_requests_are_well_formed(env: Env) -> Iterator[None]:
    """Whatever a test does, the simulator must not have rejected a request q2api sent it (it checks them the
    way the real service does and keeps the broken rule in `rejections`)."""
    before = sim_state(env)["rejectedRequests"]
    yield
    after = sim_state(env)
    assert after["rejectedRequests"] == before, f"the simulator rejected requests q2api sent: {after['rejections']}"


def assert_openai_error(body: object) -> dict:
    """Checks the `error` member of OpenAI's envelope (what the SDK hands over as `body`) and returns it."""
    assert isinstance(body, dict), body
    assert isinstance(body.get("message"), str) and body["message"], body
    assert isinstance(body.get("type"), str) and body["type"], body
    assert "param" in body and "code" in body, body
    return body


def assert_openai_envelope(response: httpx.Response) -> dict:
    """A raw HTTP error answer in OpenAI's shape: `{"error": {message, type, param, code}}`, JSON."""
    assert response.headers.get("content-type", "").startswith("application/json"), (response.status_code, response.headers, response.text)
    body = response.json()
    assert isinstance(body, dict) and set(body) >= {"error"}, body
    assert "type" not in body or body.get("type") != "error", f"Claude's envelope on an OpenAI route: {body}"
    return assert_openai_error(body["error"])


def assert_usage(usage: Any) -> dict:
    """`usage` as the Responses API reports it (an SDK object or a dict); returns it as a dict."""
    assert usage is not None, "no usage"
    u = usage if isinstance(usage, dict) else usage.model_dump()
    for key in ("input_tokens", "output_tokens", "total_tokens"):
        assert isinstance(u.get(key), int), u
    assert u["input_tokens"] > 0 and u["output_tokens"] > 0, u
    assert u["total_tokens"] == u["input_tokens"] + u["output_tokens"], u
    assert isinstance(u.get("input_tokens_details"), dict), u
    cached = u["input_tokens_details"].get("cached_tokens")
    assert isinstance(cached, int) and 0 <= cached <= u["input_tokens"], u
    assert isinstance(u.get("output_tokens_details"), dict), u
    reasoning = u["output_tokens_details"].get("reasoning_tokens")
    assert isinstance(reasoning, int) and 0 <= reasoning <= u["output_tokens"], u
    return u


def items_of(response: Any, kind: str) -> list:
    return [item for item in response.output if item.type == kind]


def assert_completed_text_response(response: Any, text: str, model: str = MODEL) -> None:
    assert response.object == "response"
    assert response.id.startswith("resp_"), response.id
    assert response.status == "completed", response
    assert response.error is None and response.incomplete_details is None, response
    assert response.model == model
    assert isinstance(response.created_at, (int, float)) and response.created_at > 1_600_000_000
    messages = items_of(response, "message")
    assert len(messages) == 1, response.output
    message = messages[0]
    assert message.role == "assistant" and message.status == "completed", message
    assert message.id, message
    assert [part.type for part in message.content] == ["output_text"], message.content
    assert message.content[0].annotations == []
    assert message.content[0].text == text
    assert response.output_text == text
    assert_usage(response.usage)


def raw_stream(base_url: str, api_key: str, body: dict, headers: dict | None = None) -> tuple[httpx.Response, list[dict]]:
    """POSTs `body` to /v1/responses with stream: true and returns the response and its events' data.

    Checks the SSE framing on the way: every event has `event: NAME` and JSON data whose `type` is NAME."""
    body = {**body, "stream": True}
    request_headers = {"authorization": f"Bearer {api_key}", **(headers or {})}
    events: list[dict] = []
    with httpx.stream("POST", base_url + "/v1/responses", json=body, headers=request_headers, timeout=TIMEOUT, trust_env=False) as r:
        if r.status_code != 200:
            r.read()
            return r, []
        assert r.headers["content-type"].startswith("text/event-stream"), r.headers
        for event in conftest.iter_sse(r):
            if event.data == "[DONE]":
                continue
            data = event.json()
            assert event.event == data.get("type"), f"`event: {event.event}` carries data of type {data.get('type')!r}"
            events.append(data)
    return r, events


def sdk_stream(client: openai.OpenAI, **params) -> tuple[list, Any]:
    """`client.responses.stream(...)`: the events the SDK yields, and `get_final_response()`."""
    with client.responses.stream(**params) as stream:
        events = list(stream)
        final = stream.get_final_response()
    return events, final


def event_dicts(events: list) -> list[dict]:
    """The SDK's events as JSON for check_stream, without what the SDK adds (`snapshot`, `parsed`,
    `parsed_arguments`) and unset fields."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("snapshot", "parsed", "parsed_arguments")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return [strip(e.model_dump(mode="json", exclude_none=True, warnings=False)) for e in events]


# ---------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------


def test_non_streaming_text(oai):
    response = oai.responses.create(model=MODEL, input="Hello")
    assert_completed_text_response(response, DEFAULT_REPLY)
    assert response.store is True, "store defaults to true"
    assert response.previous_response_id is None
    assert [item.type for item in response.output] == ["message"]


def test_streaming_text_with_the_sdk_helper(oai):
    text = "alpha beta gamma delta epsilon"
    events, final = sdk_stream(oai, model=MODEL, input=f"[[sim:text:{text}]]")
    result = check_stream(event_dicts(events))
    types = result["types"]
    assert types[:3] == ["response.created", "response.in_progress", "response.output_item.added"], types
    assert types[-1] == "response.completed"
    message_events = [t for t in types if not t.startswith("response.output_text.delta")]
    assert message_events == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ], types
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) > 1, f"the reply did not stream: {deltas}"
    assert "".join(deltas) == text
    assert_completed_text_response(final, text)
    assert final.id == result["created"]["id"]
    completed = events[-1]
    assert completed.response.usage is not None
    assert_usage(completed.response.usage)


def test_raw_stream_framing_and_event_shapes(env):
    response, events = raw_stream(env.base_url, env.api_key, {"model": MODEL, "input": "[[sim:text:raw stream]]"})
    assert response.status_code == 200, response.text
    result = check_stream(events)
    assert result["text"] == "raw stream"
    assert result["terminal"]["type"] == "response.completed"
    assert_usage(result["final"]["usage"])
    assert result["created"]["usage"] is None
    added = next(e for e in events if e["type"] == "response.output_item.added")
    assert added["item"]["type"] == "message" and added["item"]["role"] == "assistant", added
    assert added["item"]["status"] == "in_progress" and added["item"]["content"] == [], added
    done = next(e for e in events if e["type"] == "response.output_item.done")
    assert done["item"]["status"] == "completed", done
    parts = done["item"]["content"]
    assert len(parts) == 1 and parts[0]["type"] == "output_text", done
    assert parts[0]["text"] == "raw stream" and parts[0]["annotations"] == [], done
    for event in events:
        if event["type"] == "response.output_text.delta":
            assert event["content_index"] == 0 and event["output_index"] == 0, event


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_scripted_text_round_trips_exactly(oai, stream):
    text = 'Ünïcode "quotes" \\ back\\slash and <tags> & 🎉 emoji'
    if stream:
        _, response = sdk_stream(oai, model=MODEL, input=f"[[sim:text:{text}]]")
    else:
        response = oai.responses.create(model=MODEL, input=f"[[sim:text:{text}]]")
    assert response.output_text == text


def test_instructions_reach_the_model_and_are_echoed(oai):
    response = oai.responses.create(
        model=MODEL, instructions="SYS-ALPHA: you are terse.", input="What did the system say? [[sim:recall:SYS-ALPHA]]"
    )
    assert response.output_text == "Recalled from the history: SYS-ALPHA"
    assert response.instructions == "SYS-ALPHA: you are terse."
    control = oai.responses.create(model=MODEL, input="[[sim:recall:SYS-ALPHA]]")
    assert control.output_text == "Not in the history: SYS-ALPHA"


def test_input_item_list_with_roles_and_history(oai):
    response = oai.responses.create(
        model=MODEL,
        input=[
            {"role": "developer", "content": "DEV-NOTE: answer in English."},
            {"role": "user", "content": [{"type": "input_text", "text": "My code word is PELICAN-42."}]},
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Noted: ASSISTANT-SAID-THIS.", "annotations": []}],
            },
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Again? [[sim:recall:PELICAN-42]]"}]},
        ],
    )
    assert response.output_text == "Recalled from the history: PELICAN-42"
    for needle in ("ASSISTANT-SAID-THIS", "DEV-NOTE"):
        again = oai.responses.create(
            model=MODEL,
            input=[
                {"role": "developer", "content": "DEV-NOTE: answer in English."},
                {"role": "user", "content": "First."},
                {"role": "assistant", "content": "Noted: ASSISTANT-SAID-THIS."},
                {"role": "user", "content": f"[[sim:recall:{needle}]]"},
            ],
        )
        assert again.output_text == f"Recalled from the history: {needle}"


def test_input_image_data_url_is_accepted(oai):
    response = oai.responses.create(
        model=MODEL,
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "What is in this image? [[sim:text:A red pixel.]]"},
                    {"type": "input_image", "image_url": f"data:image/png;base64,{png_1x1_base64()}", "detail": "low"},
                ],
            }
        ],
    )
    assert response.output_text == "A red pixel."


def test_sampling_and_other_fields_are_accepted_and_echoed(oai):
    response = oai.responses.create(
        model=MODEL,
        input="[[sim:text:ok]]",
        temperature=0.3,
        top_p=0.9,
        truncation="disabled",
        user="session-123",
        metadata={"ticket": "T-1", "team": "q2api"},
        parallel_tool_calls=False,
        prompt_cache_key="cache-key-1",
        service_tier="auto",
        include=[],
        extra_body={"some_future_field": {"x": 1}},
    )
    assert response.output_text == "ok"
    assert response.metadata == {"ticket": "T-1", "team": "q2api"}
    assert response.parallel_tool_calls is False


# ---------------------------------------------------------------------------------------------
# Conversation state: previous_response_id, store, retrieve, delete
# ---------------------------------------------------------------------------------------------


def test_previous_response_id_carries_input_and_output(oai):
    first = oai.responses.create(model=MODEL, input="Remember the code word PELICAN-77. [[sim:text:Noted, ZEBRA-REPLY.]]")
    assert first.output_text == "Noted, ZEBRA-REPLY."
    second = oai.responses.create(model=MODEL, previous_response_id=first.id, input="Which code word? [[sim:recall:PELICAN-77]]")
    assert second.output_text == "Recalled from the history: PELICAN-77", "the first response's input did not reach the model"
    assert second.previous_response_id == first.id
    assert second.id != first.id
    third = oai.responses.create(model=MODEL, previous_response_id=second.id, input="[[sim:recall:ZEBRA-REPLY]]")
    assert third.output_text == "Recalled from the history: ZEBRA-REPLY", "a chain of two did not carry the first output"
    # Without the chain the model knows nothing.
    alone = oai.responses.create(model=MODEL, input="[[sim:recall:PELICAN-77]]")
    assert alone.output_text == "Not in the history: PELICAN-77"


def test_instructions_are_not_carried_over_by_previous_response_id(oai):
    """OpenAI: "When using along with previous_response_id, the instructions from a previous response will not
    be carried over to the next response." """
    first = oai.responses.create(model=MODEL, instructions="SYS-BRAVO rules.", input="Hi [[sim:text:Hello.]]")
    second = oai.responses.create(model=MODEL, previous_response_id=first.id, input="[[sim:recall:SYS-BRAVO]]")
    assert second.output_text == "Not in the history: SYS-BRAVO"
    assert second.instructions is None
    third = oai.responses.create(model=MODEL, previous_response_id=first.id, instructions="SYS-CHARLIE", input="[[sim:recall:SYS-CHARLIE]]")
    assert third.output_text == "Recalled from the history: SYS-CHARLIE"


def test_streamed_response_is_stored_and_chains(oai):
    _, first = sdk_stream(oai, model=MODEL, input="Code word KIWI-31 [[sim:text:Streamed and stored.]]")
    stored = oai.responses.retrieve(first.id)
    assert stored.id == first.id and stored.status == "completed"
    assert stored.output_text == "Streamed and stored."
    second = oai.responses.create(model=MODEL, previous_response_id=first.id, input="[[sim:recall:KIWI-31]]")
    assert second.output_text == "Recalled from the history: KIWI-31"


def test_retrieve_returns_the_stored_response(oai):
    created = oai.responses.create(model=MODEL, input="[[sim:text:Keep me.]]", metadata={"k": "v"})
    stored = oai.responses.retrieve(created.id)
    assert stored.id == created.id
    assert stored.object == "response" and stored.status == "completed"
    assert stored.output_text == "Keep me."
    assert stored.model == created.model
    assert stored.created_at == created.created_at
    assert stored.metadata == {"k": "v"}
    assert [item.id for item in stored.output] == [item.id for item in created.output]
    assert stored.usage.model_dump() == created.usage.model_dump()


def test_input_items_lists_the_input_as_typed_items(oai):
    created = oai.responses.create(
        model=MODEL,
        input=[
            {"role": "user", "content": "one"},
            {"role": "assistant", "content": "two"},
            {"role": "user", "content": [{"type": "input_text", "text": "three [[sim:text:ok]]"}]},
        ],
    )
    page = oai.responses.input_items.list(created.id)
    items = page.data
    # The default order is descending (most recent first); every item is typed as the API defines it.
    assert [item.type for item in items] == ["message", "message", "message"], items
    assert [item.role for item in items] == ["user", "assistant", "user"], items
    assert [[part.type for part in item.content] for item in items] == [["input_text"], ["output_text"], ["input_text"]], items
    assert [item.content[0].text for item in items] == ["three [[sim:text:ok]]", "two", "one"]
    assert all(item.id for item in items) and len({item.id for item in items}) == 3
    first_two = oai.responses.input_items.list(created.id, order="asc", limit=2)
    assert [item.content[0].text for item in first_two.data] == ["one", "two"]
    assert first_two.has_more is True
    rest = oai.responses.input_items.list(created.id, order="asc", after=first_two.data[-1].id)
    assert [item.content[0].text for item in rest.data] == ["three [[sim:text:ok]]"] and rest.has_more is False


def test_retrieve_unknown_id_is_404(oai):
    with pytest.raises(openai.NotFoundError) as caught:
        oai.responses.retrieve("resp_doesnotexist0000000000000000")
    assert caught.value.status_code == 404
    error = assert_openai_error(caught.value.body)
    assert "resp_doesnotexist0000000000000000" in error["message"], error


def test_delete_then_retrieve_is_404(oai, env):
    created = oai.responses.create(model=MODEL, input="[[sim:text:Delete me.]]")
    raw = oai.responses.with_raw_response.delete(created.id)
    assert raw.status_code == 200
    assert json.loads(raw.text) == {"id": created.id, "object": "response", "deleted": True}
    with pytest.raises(openai.NotFoundError) as caught:
        oai.responses.retrieve(created.id)
    assert created.id in assert_openai_error(caught.value.body)["message"]
    with pytest.raises(openai.NotFoundError):
        oai.responses.delete(created.id)
    with pytest.raises(openai.BadRequestError) as caught:
        oai.responses.create(model=MODEL, previous_response_id=created.id, input="hi")
    assert created.id in assert_openai_error(caught.value.body)["message"]


def test_store_false_is_not_retrievable(oai):
    created = oai.responses.create(model=MODEL, input="[[sim:text:Ephemeral.]]", store=False)
    assert created.output_text == "Ephemeral."
    assert created.store is False
    with pytest.raises(openai.NotFoundError) as caught:
        oai.responses.retrieve(created.id)
    assert caught.value.status_code == 404
    assert_openai_error(caught.value.body)
    with pytest.raises(openai.BadRequestError):
        oai.responses.create(model=MODEL, previous_response_id=created.id, input="hi")


def test_store_false_stream_is_not_retrievable(oai):
    _, final = sdk_stream(oai, model=MODEL, input="[[sim:text:Ephemeral stream.]]", store=False)
    assert final.output_text == "Ephemeral stream."
    with pytest.raises(openai.NotFoundError):
        oai.responses.retrieve(final.id)


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_unknown_previous_response_id_is_400_before_upstream(oai, env, stream):
    before = sim_state(env)["totalRequests"]
    missing = "resp_0123456789abcdef0123456789abcdef"
    with pytest.raises(openai.BadRequestError) as caught:
        if stream:
            sdk_stream(oai, model=MODEL, previous_response_id=missing, input="hi")
        else:
            oai.responses.create(model=MODEL, previous_response_id=missing, input="hi")
    assert caught.value.status_code == 400
    error = assert_openai_error(caught.value.body)
    assert error["type"] == "invalid_request_error", error
    assert missing in error["message"], error
    assert error["param"] == "previous_response_id" or "previous_response_id" in error["message"], error
    assert sim_state(env)["totalRequests"] == before, "q2api went upstream for a request it must refuse"


# ---------------------------------------------------------------------------------------------
# Function calling
# ---------------------------------------------------------------------------------------------


def _single_call(response: Any) -> Any:
    calls = items_of(response, "function_call")
    assert len(calls) == 1, response.output
    call = calls[0]
    assert call.name == "get_weather"
    assert json.loads(call.arguments) == {"location": "Paris"}
    assert call.call_id and call.id, call
    assert call.status == "completed", call
    return call


def test_function_call_loop_with_previous_response_id(oai):
    first = oai.responses.create(model=MODEL, tools=[WEATHER_TOOL], input=f"What is the weather in Paris? {WEATHER_MARKER}")
    assert first.status == "completed"
    call = _single_call(first)
    assert first.output[-1].type == "function_call", "the call is the last output item"
    assert first.tools and first.tools[0].name == "get_weather"

    second = oai.responses.create(
        model=MODEL,
        tools=[WEATHER_TOOL],
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "Sunny, 21 degrees"}],
    )
    assert_completed_text_response(second, TOOL_RESULT_PREFIX + "Sunny, 21 degrees")
    assert not items_of(second, "function_call")


def test_streaming_function_call_loop(oai):
    events, first = sdk_stream(oai, model=MODEL, tools=[WEATHER_TOOL], input=f"Weather? {WEATHER_MARKER}")
    result = check_stream(event_dicts(events))
    call = _single_call(first)
    call_index = next(i for i, item in enumerate(result["items"]) if item["type"] == "function_call")
    assert json.loads(result["arguments"][call_index]) == {"location": "Paris"}
    types = result["types"]
    assert "response.function_call_arguments.delta" in types and "response.function_call_arguments.done" in types, types
    arguments_done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert json.loads(arguments_done.arguments) == {"location": "Paris"}

    events, second = sdk_stream(
        oai,
        model=MODEL,
        tools=[WEATHER_TOOL],
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "Cloudy, 15 degrees"}],
    )
    check_stream(event_dicts(events))
    assert second.output_text == TOOL_RESULT_PREFIX + "Cloudy, 15 degrees"


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_function_call_loop_without_store_replays_items(oai, stream):
    prompt = f"What is the weather in Paris? {WEATHER_MARKER}"
    params = dict(model=MODEL, tools=[WEATHER_TOOL], store=False)
    first = sdk_stream(oai, input=prompt, **params)[1] if stream else oai.responses.create(input=prompt, **params)
    call = _single_call(first)
    replay = [{"role": "user", "content": prompt}, *[item.model_dump(exclude_none=True) for item in first.output]]
    replay.append({"type": "function_call_output", "call_id": call.call_id, "output": "Foggy, 9 degrees"})
    second = sdk_stream(oai, input=replay, **params)[1] if stream else oai.responses.create(input=replay, **params)
    assert second.output_text == TOOL_RESULT_PREFIX + "Foggy, 9 degrees"
    assert not items_of(second, "function_call")


def test_hand_written_function_call_items_in_input(oai):
    """A client that keeps its own history sends only the call and its output (no ids but call_id)."""
    response = oai.responses.create(
        model=MODEL,
        tools=[WEATHER_TOOL],
        input=[
            {"role": "user", "content": "Weather in Oslo?"},
            {"type": "function_call", "call_id": "call_handmade_1", "name": "get_weather", "arguments": '{"location":"Oslo"}'},
            {"type": "function_call_output", "call_id": "call_handmade_1", "output": "Snow, -3 degrees"},
        ],
    )
    assert response.output_text == TOOL_RESULT_PREFIX + "Snow, -3 degrees"


def test_function_call_output_for_an_unknown_call_is_400(oai, env):
    """OpenAI: "No tool call found for function call output with call_id ...". The output must not be dropped
    silently (the model would never see it)."""
    first = oai.responses.create(model=MODEL, tools=[WEATHER_TOOL], input=f"Weather? {WEATHER_MARKER}")
    _single_call(first)
    before = sim_state(env)["totalRequests"]
    with pytest.raises(openai.BadRequestError) as caught:
        oai.responses.create(
            model=MODEL,
            tools=[WEATHER_TOOL],
            previous_response_id=first.id,
            input=[{"type": "function_call_output", "call_id": "call_nobody_made_this", "output": "Sunny"}],
        )
    error = assert_openai_error(caught.value.body)
    assert "call_nobody_made_this" in error["message"], error
    assert sim_state(env)["totalRequests"] == before, "q2api went upstream for a request it must refuse"


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_parallel_function_calls_and_outputs(oai, stream):
    params = dict(model=MODEL, tools=[WEATHER_TOOL, TIME_TOOL], input=PARALLEL_PROMPT)
    first = sdk_stream(oai, **params)[1] if stream else oai.responses.create(**params)
    calls = items_of(first, "function_call")
    assert [c.name for c in calls] == ["get_weather", "get_time"], first.output
    assert json.loads(calls[0].arguments) == {"location": "Paris"}
    assert json.loads(calls[1].arguments) == {"timezone": "Europe/Paris"}
    assert calls[0].call_id != calls[1].call_id and calls[0].id != calls[1].id
    second = oai.responses.create(
        model=MODEL,
        tools=[WEATHER_TOOL, TIME_TOOL],
        previous_response_id=first.id,
        input=[
            {"type": "function_call_output", "call_id": calls[0].call_id, "output": "Rainy, 12 degrees"},
            {"type": "function_call_output", "call_id": calls[1].call_id, "output": "14:05 CET"},
        ],
    )
    reply = second.output_text
    assert reply.startswith(TOOL_RESULT_PREFIX) and "Rainy, 12 degrees" in reply and "14:05 CET" in reply, reply
    assert reply.index("Rainy") < reply.index("14:05"), "tool outputs keep the order of the calls"


@pytest.mark.parametrize(
    "tool_choice",
    ["auto", "none", "required", {"type": "function", "name": "get_weather"}],
    ids=["auto", "none", "required", "named"],
)
def test_tool_choice_variants_are_accepted(oai, tool_choice):
    response = oai.responses.create(model=MODEL, tools=[WEATHER_TOOL, TIME_TOOL], tool_choice=tool_choice, input="Hi [[sim:text:fine]]")
    assert response.output_text == "fine"


# ---------------------------------------------------------------------------------------------
# Reasoning
# ---------------------------------------------------------------------------------------------


def test_reasoning_summary_non_stream(oai):
    response = oai.responses.create(
        model=REASONING_MODEL, reasoning={"effort": "high", "summary": "auto"}, input="Six times seven? [[sim:thinking]]"
    )
    assert [item.type for item in response.output] == ["reasoning", "message"], response.output
    reasoning = response.output[0]
    assert reasoning.id, reasoning
    assert [part.type for part in reasoning.summary] == ["summary_text"], reasoning.summary
    assert reasoning.summary[0].text.strip() == THOUGHT
    assert response.output_text == THINKING_ANSWER, "the thought leaked into the answer or the answer is wrong"
    usage = assert_usage(response.usage)
    assert usage["output_tokens_details"]["reasoning_tokens"] > 0, f"a reasoning item was produced but reasoning_tokens is 0: {usage}"
    assert response.reasoning is not None and response.reasoning.effort == "high"


def test_reasoning_summary_stream(oai):
    events, final = sdk_stream(
        oai, model=REASONING_MODEL, reasoning={"effort": "medium", "summary": "detailed"}, input="Six times seven? [[sim:thinking]]"
    )
    result = check_stream(event_dicts(events))
    types = result["types"]
    for needed in (
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
    ):
        assert needed in types, f"{needed} missing: {types}"
    assert types.index("response.reasoning_summary_text.done") < types.index("response.output_text.delta"), types
    assert result["summary"].strip() == THOUGHT
    assert result["text"] == THINKING_ANSWER
    assert [item["type"] for item in result["items"]] == ["reasoning", "message"]
    assert final.output_text == THINKING_ANSWER
    assert final.output[0].summary[0].text.strip() == THOUGHT


def test_reasoning_without_summary_never_leaks_into_text(oai):
    events, final = sdk_stream(oai, model=REASONING_MODEL, reasoning={"effort": "high"}, input="Six times seven? [[sim:thinking]]")
    types = [e.type for e in events]
    assert not any(t.startswith("response.reasoning_summary") for t in types), f"summary events without a summary asked: {types}"
    assert final.output_text == THINKING_ANSWER
    assert "<thinking>" not in final.output_text and THOUGHT not in final.output_text


def test_reasoning_items_replayed_in_input_are_accepted(oai):
    first = oai.responses.create(
        model=REASONING_MODEL, reasoning={"effort": "low", "summary": "auto"}, store=False, input="Six times seven? [[sim:thinking]]"
    )
    assert [item.type for item in first.output] == ["reasoning", "message"], first.output
    second = oai.responses.create(
        model=REASONING_MODEL,
        reasoning={"effort": "low", "summary": "auto"},
        store=False,
        input=[
            {"role": "user", "content": "Six times seven?"},
            *[item.model_dump(exclude_none=True) for item in first.output],
            {"role": "user", "content": "Thanks! [[sim:recall:The answer is 42]]"},
        ],
    )
    assert second.output_text == "Recalled from the history: The answer is 42"


# ---------------------------------------------------------------------------------------------
# Structured output
# ---------------------------------------------------------------------------------------------


class Weather(pydantic.BaseModel):
    city: str
    temperature: int


def test_parse_with_a_pydantic_model_sends_the_schema(oai):
    # No marker: the simulator answers the smallest instance of the schema that reached it.
    parsed = oai.responses.parse(model=MODEL, input="Weather in Paris as JSON.", text_format=Weather)
    assert parsed.output_parsed == Weather(city="x", temperature=0), parsed.output_text
    assert parsed.text.format.type == "json_schema"
    assert parsed.text.format.name == "Weather"


def test_parse_scripted_instance(oai):
    parsed = oai.responses.parse(
        model=MODEL, input='Weather? [[sim:text:{"city": "Paris", "temperature": 21}]]', text_format=Weather
    )
    assert parsed.output_parsed == Weather(city="Paris", temperature=21)


def test_stream_with_text_format(oai):
    with oai.responses.stream(model=MODEL, input='[[sim:text:{"city": "Oslo", "temperature": -3}]]', text_format=Weather) as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    assert final.output_parsed == Weather(city="Oslo", temperature=-3)


def test_json_schema_format_by_hand(oai):
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "integer"}, "unit": {"type": "string", "enum": ["cm", "m"]}},
        "required": ["answer", "unit"],
        "additionalProperties": False,
    }
    response = oai.responses.create(
        model=MODEL,
        input="Give me the length.",
        text={"format": {"type": "json_schema", "name": "length", "schema": schema, "strict": True}},
    )
    assert json.loads(response.output_text) == {"answer": 0, "unit": "cm"}


def test_json_object_format(oai):
    response = oai.responses.create(model=MODEL, input='Reply in JSON. [[sim:text:{"a": 1}]]', text={"format": {"type": "json_object"}})
    assert json.loads(response.output_text) == {"a": 1}
    assert response.text.format.type == "json_object"


# ---------------------------------------------------------------------------------------------
# max_output_tokens
# ---------------------------------------------------------------------------------------------


def test_max_output_tokens_is_incomplete(oai):
    response = oai.responses.create(model=MODEL, max_output_tokens=20, input="[[sim:long:4000]]")
    assert response.status == "incomplete", response
    assert response.incomplete_details is not None and response.incomplete_details.reason == "max_output_tokens"
    assert response.max_output_tokens == 20
    assert 0 < len(response.output_text) < 400, response.output_text
    assert [item.type for item in response.output] == ["message"], response.output
    usage = assert_usage(response.usage)
    assert usage["output_tokens"] <= 20, f"more output tokens reported than max_output_tokens allows: {usage}"


def test_max_output_tokens_stream_ends_with_response_incomplete(oai):
    with oai.responses.stream(model=MODEL, max_output_tokens=20, input="[[sim:long:4000]]") as stream:
        events = list(stream)
        with pytest.raises(RuntimeError, match="response.completed"):
            stream.get_final_response()
    result = check_stream(event_dicts(events))
    assert result["terminal"]["type"] == "response.incomplete", result["types"]
    final = result["final"]
    assert final["incomplete_details"] == {"reason": "max_output_tokens"}, final
    assert 0 < len(result["text"]) < 400
    assert [item["type"] for item in result["items"]] == ["message"]
    assert_usage(final["usage"])


def test_cut_off_tool_call_is_never_a_function_call(oai):
    write_tool = {
        "type": "function",
        "name": "Write",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}, "content": {"type": "string"}}},
    }
    response = oai.responses.create(model=MODEL, tools=[write_tool], input="Write the file [[sim:toolcut:Write]]")
    assert not items_of(response, "function_call"), response.output
    assert response.status == "incomplete" and response.incomplete_details.reason == "max_output_tokens", response
    with oai.responses.stream(model=MODEL, tools=[write_tool], input="Write the file [[sim:toolcut:Write]]") as stream:
        events = list(stream)
    result = check_stream(event_dicts(events))
    assert result["terminal"]["type"] == "response.incomplete", result["types"]
    assert all(item["type"] != "function_call" for item in result["final"]["output"]), result["final"]["output"]


# ---------------------------------------------------------------------------------------------
# Built-in tools and malformed requests
# ---------------------------------------------------------------------------------------------

BUILT_IN_TOOLS = {
    "file_search": {"type": "file_search", "vector_store_ids": ["vs_123"]},
    "computer_use_preview": {"type": "computer_use_preview", "display_width": 1024, "display_height": 768, "environment": "linux"},
    "code_interpreter": {"type": "code_interpreter", "container": {"type": "auto"}},
    "mcp": {"type": "mcp", "server_label": "deepwiki", "server_url": "https://mcp.deepwiki.com/mcp", "require_approval": "never"},
    "image_generation": {"type": "image_generation"},
    "local_shell": {"type": "local_shell"},
}


@pytest.mark.parametrize("kind", list(BUILT_IN_TOOLS))
def test_built_in_tool_is_400_naming_it(oai, env, kind):
    before = sim_state(env)["totalRequests"]
    with pytest.raises(openai.BadRequestError) as caught:
        oai.responses.create(model=MODEL, tools=[WEATHER_TOOL, BUILT_IN_TOOLS[kind]], input="hi")
    assert caught.value.status_code == 400
    error = assert_openai_error(caught.value.body)
    assert error["type"] == "invalid_request_error", error
    assert kind in error["message"], error
    assert "tools" in (error["param"] or "") + error["message"], error
    assert sim_state(env)["totalRequests"] == before, "q2api went upstream for a request it must refuse"


def test_built_in_tool_in_a_stream_is_an_http_400(env):
    response, events = raw_stream(env.base_url, env.api_key, {"model": MODEL, "input": "hi", "tools": [{"type": "code_interpreter", "container": {"type": "auto"}}]})
    assert response.status_code == 400, (response.status_code, events)
    assert "code_interpreter" in assert_openai_envelope(response)["message"]


@pytest.mark.parametrize("kind", ["web_search", "web_search_preview"])
def test_web_search_is_left_out_not_refused(oai, kind):
    """The one exception to the 400 for built-in tools: Codex offers `web_search` on every request
    (fixtures/codex/README.md), so q2api leaves it out (the model cannot search) instead of refusing."""
    response = oai.responses.create(model=MODEL, tools=[WEATHER_TOOL, {"type": kind}], input="Search? [[sim:text:No search here.]]")
    assert response.output_text == "No search here."
    assert not items_of(response, "web_search_call"), response.output


@pytest.mark.parametrize(
    "field, value",
    [("background", True), ("conversation", "conv_123"), ("prompt", {"id": "pmpt_123"})],
)
def test_features_q2api_cannot_serve_are_400_naming_them(oai, env, field, value):
    """Background mode (queue and poll), the Conversations API and stored prompts live on OpenAI's side; ignoring
    them would answer something else than what was asked."""
    before = sim_state(env)["totalRequests"]
    with pytest.raises(openai.BadRequestError) as caught:
        oai.responses.create(model=MODEL, input="hi", **{field: value})
    error = assert_openai_error(caught.value.body)
    assert error["type"] == "invalid_request_error", error
    assert field in (error["param"] or "") + error["message"], error
    assert sim_state(env)["totalRequests"] == before, "q2api went upstream for a request it must refuse"


def test_defaults_of_those_features_are_accepted(oai):
    response = oai.responses.create(
        model=MODEL, input="[[sim:text:ok]]", background=False, truncation="auto", stream_options=None, conversation=None
    )
    assert response.output_text == "ok"
    assert response.background is False


@pytest.mark.parametrize(
    "body, field",
    [
        ({"input": "hi"}, "model"),
        ({"model": MODEL, "input": 42}, "input"),
        ({"model": MODEL, "input": [{"type": "function_call_output", "output": "x"}]}, "input"),
        ({"model": MODEL, "input": "hi", "text": {"format": {"type": "json_schema", "name": "x"}}}, "text.format"),
        ({"model": MODEL, "input": "hi", "max_output_tokens": "many"}, "max_output_tokens"),
    ],
    ids=["model-missing", "input-number", "call-output-without-call-id", "json-schema-without-schema", "max-output-tokens-string"],
)
def test_malformed_requests_are_400_in_openai_shape(env, body, field):
    response = httpx.post(
        env.base_url + "/v1/responses", json=body, headers={"authorization": f"Bearer {env.api_key}"}, timeout=TIMEOUT, trust_env=False
    )
    assert response.status_code == 400, response.text
    error = assert_openai_envelope(response)
    assert error["type"] == "invalid_request_error", error
    assert field in (error["param"] or "") + error["message"], error


def test_malformed_json_is_400_in_openai_shape(env):
    response = httpx.post(
        env.base_url + "/v1/responses",
        content=b'{"model": "x", "input": [',
        headers={"authorization": f"Bearer {env.api_key}", "content-type": "application/json"},
        timeout=TIMEOUT,
        trust_env=False,
    )
    assert response.status_code == 400
    assert_openai_envelope(response)


def test_wrong_api_key_is_401_in_openai_shape(env):
    with make_openai(env.base_url, "sk-wrong") as c:
        with pytest.raises(openai.AuthenticationError) as caught:
            c.responses.create(model=MODEL, input="hi")
    assert caught.value.status_code == 401
    assert_openai_error(caught.value.body)


# ---------------------------------------------------------------------------------------------
# Upstream failures (on a server of one's own: they cool the shared server's only account down)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_throttling_before_the_first_byte_is_rate_limit_error(own_server, env, stream):
    with make_openai(own_server(), env.api_key) as c:
        with pytest.raises(openai.RateLimitError) as caught:
            if stream:
                sdk_stream(c, model=MODEL, input="[[sim:throttle]]")
            else:
                c.responses.create(model=MODEL, input="[[sim:throttle]]")
    error = caught.value
    assert error.status_code == 429
    assert error.response.headers.get("content-type", "").startswith("application/json")
    body = assert_openai_error(error.body)
    assert body["type"] in ("rate_limit_error", "rate_limit_exceeded") or body["code"] == "rate_limit_exceeded", body
    retry_after = error.response.headers.get("retry-after")
    assert retry_after is not None and retry_after.isdigit() and int(retry_after) > 0, error.response.headers


def test_failure_mid_stream_is_response_failed(own_server, env):
    url = own_server()
    response, events = raw_stream(url, env.api_key, {"model": MODEL, "input": "Think [[sim:exception]]"})
    assert response.status_code == 200, response.text
    result = check_stream(events)
    assert result["terminal"]["type"] == "response.failed", result["types"]
    assert "response.completed" not in result["types"]
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text == "Let me think about that"
    failed = result["final"]
    assert failed["status"] == "failed"
    error = failed.get("error")
    assert isinstance(error, dict) and isinstance(error.get("code"), str) and error["code"], failed
    assert isinstance(error.get("message"), str) and "high traffic" in error["message"], error
    # A transient capacity failure must stay retryable for Codex, which gives up at once on these codes
    # (fixtures/codex/README.md, "Errors").
    fatal_for_codex = {"context_length_exceeded", "insufficient_quota", "usage_not_included", "cyber_policy", "invalid_prompt", "server_is_overloaded", "slow_down"}
    assert error["code"] not in fatal_for_codex, error

    # The SDK's stream helper yields the same: a response.failed event, and no final response. (On another
    # fresh server: the failure cooled the first one's only account down.)
    with make_openai(own_server(), env.api_key) as c:
        with c.responses.stream(model=MODEL, input="Again [[sim:exception]]") as stream:
            sdk_events = list(stream)
            with pytest.raises(RuntimeError):
                stream.get_final_response()
    assert sdk_events[-1].type == "response.failed"
    assert sdk_events[-1].response.error is not None and sdk_events[-1].response.error.message


def test_failure_mid_reply_without_stream_is_an_http_error(own_server, env):
    with make_openai(own_server(), env.api_key) as c:
        with pytest.raises(openai.APIStatusError) as caught:
            c.responses.create(model=MODEL, input="Think [[sim:exception]]")
    assert caught.value.status_code >= 500, caught.value.status_code
    assert_openai_error(caught.value.body)


# ---------------------------------------------------------------------------------------------
# Stored responses survive a restart
# ---------------------------------------------------------------------------------------------


def _config_with_state_dir(env: Env, port: int, state: Path) -> str:
    text = conftest._config_for(env, port)
    text = re.sub(r"^state_dir:.*\n?", "", text, flags=re.MULTILINE)
    return text.rstrip("\n") + f"\nstate_dir: {state}\n"


def test_previous_response_id_across_a_restart(env, spawn: Spawner, tmp_path: Path):
    state = tmp_path / "responses-state"
    config = lambda port: _config_with_state_dir(env, port, state)  # noqa: E731
    server = spawn.server(config, name="before")
    with make_openai(server.url, env.api_key) as c:
        kept = c.responses.create(model=MODEL, input="The code word is ORCA-5150. [[sim:text:Noted before the restart.]]")
        dropped = c.responses.create(model=MODEL, input="[[sim:text:Deleted before the restart.]]")
        c.responses.delete(dropped.id)
        _, streamed = sdk_stream(c, model=MODEL, input="Second code word LYNX-88. [[sim:text:Streamed before the restart.]]")
    stop_process(server.process, timeout=15)
    assert server.process.returncode == 0, f"SIGTERM did not end q2api cleanly ({server.process.returncode}):\n{server.log_text()}"

    server = spawn.server(config, name="after")
    with make_openai(server.url, env.api_key) as c:
        stored = c.responses.retrieve(kept.id)
        assert stored.output_text == "Noted before the restart."
        assert stored.created_at == kept.created_at
        assert c.responses.retrieve(streamed.id).output_text == "Streamed before the restart."
        with pytest.raises(openai.NotFoundError):
            c.responses.retrieve(dropped.id)
        after = c.responses.create(model=MODEL, previous_response_id=kept.id, input="Which code word? [[sim:recall:ORCA-5150]]")
        assert after.output_text == "Recalled from the history: ORCA-5150"
        after_stream = c.responses.create(model=MODEL, previous_response_id=streamed.id, input="[[sim:recall:LYNX-88]]")
        assert after_stream.output_text == "Recalled from the history: LYNX-88"


# ---------------------------------------------------------------------------------------------
# Routing: 404 and 405 in the shape of the API the path belongs to
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def http(env: Env) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=env.base_url,
        headers={"authorization": f"Bearer {env.api_key}", "x-api-key": env.api_key, "anthropic-version": "2023-06-01"},
        timeout=TIMEOUT,
        trust_env=False,
    ) as client:
        yield client


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/v1/responses/resp_abc/unknown"),
        ("POST", "/v1/responses/resp_abc/not/a/route"),
        ("GET", "/v1/responsesx"),
        ("GET", "/v1/chat/nothing"),
        ("POST", "/v1/chat/completions/extra"),
    ],
)
def test_unknown_routes_are_404_in_openai_shape(http, method, path):
    response = http.request(method, path, json={} if method == "POST" else None)
    assert response.status_code == 404, (response.status_code, response.text)
    assert_openai_envelope(response)
    assert response.headers.get("request-id") or response.headers.get("x-request-id")


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/v1/responses"),
        ("PUT", "/v1/responses"),
        ("DELETE", "/v1/responses"),
        ("PUT", "/v1/responses/resp_abc"),
        ("PATCH", "/v1/responses/resp_abc"),
        ("POST", "/v1/responses/resp_abc"),
        ("GET", "/v1/chat/completions"),
        ("DELETE", "/v1/chat/completions"),
    ],
)
def test_wrong_method_is_405_in_openai_shape(http, method, path):
    response = http.request(method, path)
    assert response.status_code == 405, (response.status_code, response.text)
    error = assert_openai_envelope(response)
    assert method in error["message"], error
    assert response.headers.get("request-id"), response.headers


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_wrong_method_on_messages_is_405_in_claude_shape(http, method):
    response = http.request(method, "/v1/messages")
    assert response.status_code == 405, (response.status_code, response.text)
    body = response.json()
    conftest.assert_claude_error(body, body.get("error", {}).get("type", "<missing>"))
    assert method in body["error"]["message"], body
    assert response.headers.get("request-id"), response.headers


@pytest.mark.parametrize(
    "method, path, allowed",
    [
        ("GET", "/v1/responses", {"POST"}),
        ("PATCH", "/v1/responses/resp_abc", {"GET", "DELETE"}),
        ("GET", "/v1/chat/completions", {"POST"}),
        ("GET", "/v1/messages", {"POST"}),
    ],
)
def test_405_has_an_allow_header(http, method, path, allowed):
    """RFC 9110 §15.5.6: the origin server MUST generate an Allow header field in a 405 response."""
    response = http.request(method, path)
    assert response.status_code == 405, (response.status_code, response.text)
    header = response.headers.get("allow")
    assert header is not None, response.headers
    assert allowed <= {m.strip().upper() for m in header.split(",")}, header
