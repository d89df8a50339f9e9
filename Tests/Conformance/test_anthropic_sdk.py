"""The Claude Messages API as the official `anthropic` SDK (and Claude Code's raw requests) see it.

Every test talks to the real q2api binary, which talks to `q2api simulate`. Replies are scripted with
`[[sim:NAME:ARG]]` markers in the user message (Sources/QSimulator/ReplyBuilder.swift).
"""

from __future__ import annotations

import json

import anthropic
import httpx
import pytest

from conftest import (
    DEFAULT_REPLY,
    MODEL,
    assert_claude_error,
    iter_sse,
    make_client,
    png_1x1_base64,
    text_of,
    user,
)

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Get the current weather for a location.",
    "input_schema": {
        "type": "object",
        "properties": {"location": {"type": "string", "description": "City name"}},
        "required": ["location"],
    },
}
TIME_TOOL = {
    "name": "get_time",
    "description": "Get the current time in a timezone.",
    "input_schema": {
        "type": "object",
        "properties": {"timezone": {"type": "string"}},
        "required": ["timezone"],
    },
}
WRITE_TOOL = {
    "name": "Write",
    "description": "Write a file to the local filesystem.",
    "input_schema": {
        "type": "object",
        "properties": {"file_path": {"type": "string"}, "content": {"type": "string"}},
        "required": ["file_path", "content"],
    },
}


def blocks_of(message, kind: str) -> list:
    return [block for block in message.content if block.type == kind]


def stream_events(client: anthropic.Anthropic, **params) -> list:
    """Every event of a low-level `create(stream=True)` stream (the SDK drops `ping`)."""
    with client.messages.create(stream=True, **params) as stream:
        return list(stream)


def assert_event_order(events: list) -> None:
    """The Messages streaming contract: one message_start, blocks opened/delta'd/closed in order,
    one message_delta, message_stop last."""
    types = [event.type for event in events]
    assert types[0] == "message_start", types
    assert types[-1] == "message_stop", types
    assert types[-2] == "message_delta", types
    assert types.count("message_start") == 1 and types.count("message_delta") == 1 and types.count("message_stop") == 1, types
    open_index = None
    seen = []
    for event in events[1:-2]:
        if event.type == "content_block_start":
            assert open_index is None, f"block {event.index} opened while {open_index} is open: {types}"
            assert event.index == len(seen), f"block indexes must count up from 0: {types}"
            open_index = event.index
            seen.append(event.index)
        elif event.type == "content_block_delta":
            assert event.index == open_index, f"delta for block {event.index} while {open_index} is open: {types}"
        elif event.type == "content_block_stop":
            assert event.index == open_index, f"stop for block {event.index} while {open_index} is open: {types}"
            open_index = None
        else:
            pytest.fail(f"unexpected event {event.type} inside the message: {types}")
    assert open_index is None, f"block {open_index} never closed: {types}"
    assert seen, f"no content block: {types}"


# ---------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------


def test_non_streaming_text(client):
    message = client.messages.create(model=MODEL, max_tokens=256, messages=user("Hello there"))
    assert message.type == "message"
    assert message.role == "assistant"
    assert message.id.startswith("msg_")
    assert message.model == MODEL
    assert message.stop_reason == "end_turn"
    assert message.stop_sequence is None
    assert [block.type for block in message.content] == ["text"]
    assert text_of(message) == DEFAULT_REPLY
    assert message.usage.input_tokens > 0
    assert message.usage.output_tokens > 0


def test_streaming_text_stream_matches_final_message(client):
    with client.messages.stream(model=MODEL, max_tokens=256, messages=user("Hello there")) as stream:
        streamed = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert streamed == DEFAULT_REPLY
    assert text_of(final) == streamed
    assert final.id.startswith("msg_")
    assert final.model == MODEL
    assert final.stop_reason == "end_turn"
    assert final.usage.input_tokens > 0
    assert final.usage.output_tokens > 0


def test_streaming_raw_event_order(client):
    events = stream_events(client, model=MODEL, max_tokens=256, messages=user("Hello there"))
    assert_event_order(events)
    start = events[0]
    assert start.message.id.startswith("msg_")
    assert start.message.model == MODEL
    assert start.message.content == []
    assert start.message.usage.input_tokens > 0
    assert events[1].type == "content_block_start"
    assert events[1].content_block.type == "text"
    deltas = [event.delta.text for event in events if event.type == "content_block_delta"]
    assert "".join(deltas) == DEFAULT_REPLY
    delta = events[-2]
    assert delta.delta.stop_reason == "end_turn"
    assert delta.delta.stop_sequence is None
    assert delta.usage.output_tokens > 0


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_scripted_text_round_trips_exactly(client, stream):
    text = "你好 🙂 — café, naïve ü ß 👩‍👩‍👧 \"quoted\" \\ backslash"
    params = dict(model=MODEL, max_tokens=256, messages=user(f"[[sim:text:{text}]]"))
    if stream:
        with client.messages.stream(**params) as s:
            streamed = "".join(s.text_stream)
            message = s.get_final_message()
        assert streamed == text
    else:
        message = client.messages.create(**params)
    assert text_of(message) == text
    assert message.stop_reason == "end_turn"


# ---------------------------------------------------------------------------------------------
# Authentication and routing
# ---------------------------------------------------------------------------------------------


def test_wrong_api_key_is_401_authentication_error(env):
    with make_client(env.base_url, api_key="sk-wrong-key") as bad:
        with pytest.raises(anthropic.AuthenticationError) as caught:
            bad.messages.create(model=MODEL, max_tokens=64, messages=user("Hello"))
    assert caught.value.status_code == 401
    assert_claude_error(caught.value.body, "authentication_error")


def test_missing_api_key_is_401(env):
    response = httpx.post(
        env.base_url + "/v1/messages",
        json={"model": MODEL, "max_tokens": 64, "messages": user("Hello")},
        headers={"anthropic-version": "2023-06-01"},
        timeout=30,
        trust_env=False,
    )
    assert response.status_code == 401
    assert_claude_error(response.json(), "authentication_error")


def test_bearer_token_auth(env):
    with make_client(env.base_url, auth_token=env.api_key) as bearer:
        message = bearer.messages.create(model=MODEL, max_tokens=64, messages=user("Hello"))
    assert text_of(message) == DEFAULT_REPLY


def test_beta_query_path(raw):
    """Claude Code posts to /v1/messages?beta=true."""
    body = {"model": MODEL, "max_tokens": 64, "messages": user("[[sim:text:beta path ok]]")}
    response = raw.post("/v1/messages?beta=true", json=body, headers={"anthropic-beta": "claude-code-20250219"})
    assert response.status_code == 200, response.text
    message = response.json()
    assert message["type"] == "message"
    assert text_of(message) == "beta path ok"

    with raw.stream("POST", "/v1/messages?beta=true", json={**body, "stream": True}) as streamed:
        assert streamed.status_code == 200
        assert streamed.headers["content-type"].startswith("text/event-stream")
        events = list(iter_sse(streamed))
    # Every event is `event: NAME` + `data: {"type": NAME, ...}`.
    for event in events:
        assert event.event is not None, event
        assert event.json()["type"] == event.event, event
    names = [event.event for event in events if event.event != "ping"]
    assert names[0] == "message_start" and names[-1] == "message_stop", names
    text = "".join(e.json()["delta"]["text"] for e in events if e.event == "content_block_delta")
    assert text == "beta path ok"


def test_unknown_route_is_404_in_claude_shape(raw):
    response = raw.get("/v1/definitely-not-a-route")
    assert response.status_code == 404
    assert_claude_error(response.json(), "not_found_error")
    assert response.headers.get("request-id")


# ---------------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------------


def test_tool_use_then_tool_result(client):
    prompt = 'What is the weather in Paris? [[sim:tool:get_weather:{"location":"Paris"}]]'
    first = client.messages.create(model=MODEL, max_tokens=512, tools=[WEATHER_TOOL], messages=user(prompt))
    assert first.stop_reason == "tool_use"
    tool_uses = blocks_of(first, "tool_use")
    assert len(tool_uses) == 1, first.content
    call = tool_uses[0]
    assert call.name == "get_weather"
    assert call.input == {"location": "Paris"}
    assert call.id
    assert first.content[-1].type == "tool_use"

    second = client.messages.create(
        model=MODEL,
        max_tokens=512,
        tools=[WEATHER_TOOL],
        messages=[
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "Sunny, 21 degrees"}],
            },
        ],
    )
    assert second.stop_reason == "end_turn"
    assert not blocks_of(second, "tool_use")
    assert "Sunny, 21 degrees" in text_of(second)


def test_streaming_tool_use(client):
    prompt = 'Weather? [[sim:tool:get_weather:{"location":"Paris"}]]'
    with client.messages.stream(model=MODEL, max_tokens=512, tools=[WEATHER_TOOL], messages=user(prompt)) as stream:
        events = list(stream)
        final = stream.get_final_message()
    assert final.stop_reason == "tool_use"
    tool_uses = blocks_of(final, "tool_use")
    assert len(tool_uses) == 1
    assert tool_uses[0].name == "get_weather"
    assert tool_uses[0].input == {"location": "Paris"}

    starts = [e for e in events if e.type == "content_block_start" and e.content_block.type == "tool_use"]
    assert len(starts) == 1
    assert starts[0].content_block.input == {}
    assert starts[0].content_block.id == tool_uses[0].id
    partial = "".join(
        e.delta.partial_json for e in events if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
    )
    assert json.loads(partial) == {"location": "Paris"}


def test_parallel_tool_use_and_results_in_one_message(client):
    prompt = (
        'Weather and time please. [[sim:tool:get_weather:{"location":"Paris"}]] '
        '[[sim:tool:get_time:{"timezone":"Europe/Paris"}]]'
    )
    first = client.messages.create(model=MODEL, max_tokens=512, tools=[WEATHER_TOOL, TIME_TOOL], messages=user(prompt))
    assert first.stop_reason == "tool_use"
    calls = blocks_of(first, "tool_use")
    assert [c.name for c in calls] == ["get_weather", "get_time"]
    assert calls[0].input == {"location": "Paris"}
    assert calls[1].input == {"timezone": "Europe/Paris"}
    assert calls[0].id != calls[1].id

    second = client.messages.create(
        model=MODEL,
        max_tokens=512,
        tools=[WEATHER_TOOL, TIME_TOOL],
        messages=[
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]},
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": calls[0].id, "content": "Rainy, 12 degrees"},
                    {"type": "tool_result", "tool_use_id": calls[1].id, "content": [{"type": "text", "text": "14:05 CET"}]},
                ],
            },
        ],
    )
    assert second.stop_reason == "end_turn"
    reply = text_of(second)
    assert "Rainy, 12 degrees" in reply
    assert "14:05 CET" in reply


def test_cut_off_tool_call_is_never_sent(client):
    message = client.messages.create(
        model=MODEL, max_tokens=1024, tools=[WRITE_TOOL], messages=user("Write the file [[sim:toolcut:Write]]")
    )
    assert not blocks_of(message, "tool_use"), message.content
    assert message.stop_reason == "max_tokens"
    text = text_of(message)
    assert "cut off" in text
    assert "Write" in text


# ---------------------------------------------------------------------------------------------
# What Claude Code sends
# ---------------------------------------------------------------------------------------------


def test_claude_code_request_shapes_are_accepted(client):
    message = client.messages.create(
        model=MODEL,
        max_tokens=256,
        system=[
            {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude."},
            {"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}},
        ],
        messages=[
            {"role": "user", "content": "What is 2+2?"},
            {"role": "assistant", "content": [{"type": "text", "text": "4."}]},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "And 3+3? [[sim:text:6.]]", "cache_control": {"type": "ephemeral"}},
                ],
            },
        ],
        metadata={"user_id": "user_abc_account__session_0b5c6a4e-1111-2222-3333-444455556666"},
        # Current SDKs have no `temperature` argument; Claude Code and older SDKs still send it.
        extra_body={"temperature": 1},
        extra_headers={"anthropic-beta": "interleaved-thinking-2025-05-14,some-future-beta"},
    )
    assert text_of(message) == "6."
    assert message.stop_reason == "end_turn"


# ---------------------------------------------------------------------------------------------
# Thinking
# ---------------------------------------------------------------------------------------------

THINKING = {"type": "enabled", "budget_tokens": 2048}


def test_thinking_block_then_text_and_replay(client):
    question = "What is six times seven? [[sim:thinking]]"
    message = client.messages.create(model=MODEL, max_tokens=4096, thinking=THINKING, messages=user(question))
    assert [block.type for block in message.content] == ["thinking", "text"], message.content
    thinking, text = message.content
    assert thinking.thinking.strip() == "I should answer briefly."
    assert thinking.signature
    assert text.text == "The answer is 42."
    assert message.stop_reason == "end_turn"

    follow_up = client.messages.create(
        model=MODEL,
        max_tokens=4096,
        thinking=THINKING,
        messages=[
            {"role": "user", "content": question},
            {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in message.content]},
            {"role": "user", "content": "Thanks! [[sim:text:You are welcome.]]"},
        ],
    )
    assert text_of(follow_up) == "You are welcome."


def test_streaming_thinking_has_signature_before_block_stop(client):
    events = stream_events(
        client, model=MODEL, max_tokens=4096, thinking=THINKING, messages=user("Six times seven? [[sim:thinking]]")
    )
    assert_event_order(events)
    starts = [e for e in events if e.type == "content_block_start"]
    assert [e.content_block.type for e in starts] == ["thinking", "text"]
    thinking_events = [e for e in events if getattr(e, "index", None) == 0 and e.type != "content_block_start"]
    kinds = [e.delta.type if e.type == "content_block_delta" else e.type for e in thinking_events]
    assert kinds[-1] == "content_block_stop"
    assert kinds[-2] == "signature_delta", kinds
    assert set(kinds[:-2]) == {"thinking_delta"}, kinds
    assert thinking_events[-2].delta.signature
    thought = "".join(e.delta.thinking for e in thinking_events if e.type == "content_block_delta" and e.delta.type == "thinking_delta")
    assert thought.strip() == "I should answer briefly."
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta")
    assert text == "The answer is 42."


# ---------------------------------------------------------------------------------------------
# Stop sequences and limits
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_stop_sequence(client, stream):
    params = dict(
        model=MODEL, max_tokens=256, stop_sequences=["STOP"], messages=user("[[sim:text:alpha beta STOP gamma]]")
    )
    if stream:
        with client.messages.stream(**params) as s:
            streamed = "".join(s.text_stream)
            message = s.get_final_message()
        assert streamed == "alpha beta "
    else:
        message = client.messages.create(**params)
    assert text_of(message) == "alpha beta "
    assert message.stop_reason == "stop_sequence"
    assert message.stop_sequence == "STOP"


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_max_tokens_cuts_the_reply(client, stream):
    params = dict(model=MODEL, max_tokens=20, messages=user("[[sim:long:4000]]"))
    if stream:
        with client.messages.stream(**params) as s:
            message = s.get_final_message()
    else:
        message = client.messages.create(**params)
    assert message.stop_reason == "max_tokens"
    text = text_of(message)
    assert 0 < len(text) < 200, text
    assert text.startswith("Lorem ipsum")


# ---------------------------------------------------------------------------------------------
# Upstream failures (each on a server of its own: they cool the only account down)
# ---------------------------------------------------------------------------------------------


def test_mid_stream_exception_is_an_error_event(own_server, env):
    with make_client(own_server(), api_key=env.api_key) as c:
        received = []
        with pytest.raises(anthropic.APIStatusError) as caught:
            with c.messages.create(
                model=MODEL, max_tokens=256, stream=True, messages=user("Think [[sim:exception]]")
            ) as stream:
                for event in stream:
                    received.append(event)
    types = [event.type for event in received]
    assert types[0] == "message_start", types
    assert "message_stop" not in types and "message_delta" not in types, types
    text = "".join(e.delta.text for e in received if e.type == "content_block_delta")
    assert text == "Let me think about that"
    assert_claude_error(caught.value.body, "overloaded_error")


def test_mid_stream_exception_non_streaming_is_529(own_server, env):
    with make_client(own_server(), api_key=env.api_key) as c:
        with pytest.raises(anthropic.APIStatusError) as caught:
            c.messages.create(model=MODEL, max_tokens=256, messages=user("Think [[sim:exception]]"))
    assert caught.value.status_code == 529
    assert_claude_error(caught.value.body, "overloaded_error")


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_upstream_throttling_is_429_with_retry_after(own_server, env, stream):
    with make_client(own_server(), api_key=env.api_key) as c:
        with pytest.raises(anthropic.RateLimitError) as caught:
            if stream:
                with c.messages.create(model=MODEL, max_tokens=64, stream=True, messages=user("[[sim:throttle]]")) as s:
                    list(s)
            else:
                c.messages.create(model=MODEL, max_tokens=64, messages=user("[[sim:throttle]]"))
    error = caught.value
    assert error.status_code == 429
    assert_claude_error(error.body, "rate_limit_error")
    retry_after = error.response.headers.get("retry-after")
    assert retry_after is not None and retry_after.isdigit() and int(retry_after) > 0, error.response.headers


# ---------------------------------------------------------------------------------------------
# Malformed requests
# ---------------------------------------------------------------------------------------------


def test_malformed_json_is_400_with_request_id(raw):
    response = raw.post("/v1/messages", content=b'{"model": "x", "messages": [', headers={"content-type": "application/json"})
    assert response.status_code == 400
    body = response.json()
    assert_claude_error(body, "invalid_request_error")
    request_id = response.headers.get("request-id")
    assert request_id
    assert body.get("request_id") == request_id


def test_missing_messages_is_400_naming_the_field(raw):
    response = raw.post("/v1/messages", json={"model": MODEL, "max_tokens": 64})
    assert response.status_code == 400
    error = assert_claude_error(response.json(), "invalid_request_error")
    assert "messages" in error["message"]
    assert response.headers.get("request-id")


def test_body_over_the_limit_is_413(raw):
    filler = "x" * (21 * 1024 * 1024)
    body = json.dumps({"model": MODEL, "max_tokens": 64, "messages": user(filler)}).encode()
    response = raw.post("/v1/messages", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert_claude_error(response.json(), "request_too_large")


# ---------------------------------------------------------------------------------------------
# count_tokens and models
# ---------------------------------------------------------------------------------------------


def test_count_tokens(client):
    short = client.messages.count_tokens(model=MODEL, messages=user("Hello"))
    long = client.messages.count_tokens(model=MODEL, messages=user("Hello " + "lorem ipsum dolor sit amet " * 200))
    assert short.input_tokens > 0
    assert long.input_tokens > short.input_tokens


def test_count_tokens_matches_message_start_usage(client):
    params = dict(
        model=MODEL,
        system="You are a terse assistant.",
        tools=[WEATHER_TOOL],
        messages=[
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello."},
            {"role": "user", "content": "Tell me about the weather in Paris, please."},
        ],
    )
    counted = client.messages.count_tokens(**params)
    events = stream_events(client, max_tokens=256, **params)
    assert events[0].type == "message_start"
    assert counted.input_tokens == events[0].message.usage.input_tokens


def test_models_list(client):
    models = list(client.models.list())
    ids = [model.id for model in models]
    assert "claude-sonnet-4.5" in ids, ids
    for model in models:
        assert model.type == "model"
        assert model.display_name


# ---------------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------------


def test_png_image_is_accepted(client):
    message = client.messages.create(
        model=MODEL,
        max_tokens=256,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png_1x1_base64()}},
                    {"type": "text", "text": "What is in this image?"},
                ],
            }
        ],
    )
    assert message.stop_reason == "end_turn"
    assert text_of(message) == DEFAULT_REPLY


def test_unsupported_image_type_is_400(client):
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(
            model=MODEL,
            max_tokens=256,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "image", "source": {"type": "base64", "media_type": "image/bmp", "data": png_1x1_base64()}},
                        {"type": "text", "text": "What is in this image?"},
                    ],
                }
            ],
        )
    assert caught.value.status_code == 400
    assert_claude_error(caught.value.body, "invalid_request_error")
