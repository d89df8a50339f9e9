"""The OpenAI Chat Completions API as the official `openai` SDK sees it.

Every test talks to the real q2api binary, which talks to `q2api simulate`. Replies are scripted with
`[[sim:NAME:ARG]]` markers in the last user message (Sources/QSimulator/ReplyBuilder.swift).
"""

from __future__ import annotations

import json
import re
from typing import Iterator

import conftest
import httpx
import openai
import pytest

from conftest import DEFAULT_REPLY, TIMEOUT, Env, png_1x1_base64, user

MODEL = "gpt-4o"

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a location.",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string", "description": "City name"}},
            "required": ["location"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Get the current time in a timezone.",
        "parameters": {"type": "object", "properties": {"timezone": {"type": "string"}}, "required": ["timezone"]},
    },
}
PARALLEL_PROMPT = (
    'Weather and time please. [[sim:tool:get_weather:{"location":"Paris"}]] '
    '[[sim:tool:get_time:{"timezone":"Europe/Paris"}]]'
)


def make_openai(base_url: str, api_key: str, **kwargs) -> openai.OpenAI:
    """An OpenAI client without retries, so error tests see the first answer."""
    kwargs.setdefault("max_retries", 0)
    kwargs.setdefault("timeout", TIMEOUT)
    return openai.OpenAI(base_url=base_url + "/v1", api_key=api_key, **kwargs)


@pytest.fixture(scope="module")
def oai(env: Env) -> Iterator[openai.OpenAI]:
    c = make_openai(env.base_url, env.api_key)
    yield c
    c.close()


def collect(stream) -> dict:
    """Reassembles a chat.completion stream the way clients do: text, reasoning, tool calls by index."""
    result = {"chunks": [], "content": "", "reasoning": "", "tool_calls": {}, "finish_reason": None, "usage": None, "roles": []}
    for chunk in stream:
        result["chunks"].append(chunk)
        assert chunk.object == "chat.completion.chunk"
        assert chunk.id.startswith("chatcmpl-")
        if chunk.usage is not None:
            result["usage"] = chunk.usage
        for choice in chunk.choices:
            assert choice.index == 0
            delta = choice.delta
            if delta.role:
                result["roles"].append(delta.role)
            if delta.content:
                result["content"] += delta.content
            reasoning = getattr(delta, "reasoning_content", None)
            if reasoning:
                result["reasoning"] += reasoning
            for call in delta.tool_calls or []:
                entry = result["tool_calls"].setdefault(call.index, {"id": None, "name": None, "arguments": ""})
                if call.id:
                    assert entry["id"] is None, "a tool call's id must come once, in its first delta"
                    entry["id"] = call.id
                    assert call.type == "function"
                if call.function and call.function.name:
                    entry["name"] = call.function.name
                if call.function and call.function.arguments:
                    entry["arguments"] += call.function.arguments
            if choice.finish_reason:
                assert result["finish_reason"] is None, "only one chunk carries finish_reason"
                result["finish_reason"] = choice.finish_reason
    return result


def stream_chat(client: openai.OpenAI, **params) -> dict:
    with client.chat.completions.create(stream=True, **params) as stream:
        return collect(stream)


def content_and_finish(client: openai.OpenAI, stream: bool, **params) -> tuple[str, str]:
    """The reply text and finish_reason, from a stream or a plain completion."""
    if stream:
        result = stream_chat(client, **params)
        return result["content"], result["finish_reason"]
    choice = client.chat.completions.create(**params).choices[0]
    return choice.message.content, choice.finish_reason


def assert_openai_error(body: object) -> dict:
    """The SDK hands over the `error` member of OpenAI's envelope as `body`."""
    assert isinstance(body, dict), body
    assert isinstance(body.get("message"), str) and body["message"], body
    assert isinstance(body.get("type"), str), body
    assert "param" in body and "code" in body, body
    return body


# ---------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------


def test_non_streaming_text(oai):
    completion = oai.chat.completions.create(model=MODEL, messages=user("Hello"))
    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == MODEL
    assert completion.created > 0
    assert len(completion.choices) == 1
    choice = completion.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == DEFAULT_REPLY
    assert choice.message.tool_calls is None
    assert choice.finish_reason == "stop"
    usage = completion.usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_streaming_text(oai):
    result = stream_chat(oai, model=MODEL, messages=user("Hello"))
    assert result["roles"] == ["assistant"]
    first = result["chunks"][0]
    assert first.choices[0].delta.role == "assistant"
    assert result["content"] == DEFAULT_REPLY
    assert result["finish_reason"] == "stop"
    assert result["chunks"][-1].choices[0].finish_reason == "stop"
    assert result["usage"] is None
    assert all(chunk.model == MODEL for chunk in result["chunks"])
    assert len({chunk.id for chunk in result["chunks"]}) == 1


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_scripted_text_round_trips_exactly(oai, stream):
    text = 'Ünïcode "quotes" \\ back\\slash and <tags> & 🎉 emoji'
    assert content_and_finish(oai, stream, model=MODEL, messages=user(f"[[sim:text:{text}]]")) == (text, "stop")


def test_raw_stream_ends_with_done(env):
    body = {"model": MODEL, "stream": True, "messages": user("[[sim:text:raw]]")}
    headers = {"authorization": f"Bearer {env.api_key}"}
    with httpx.stream("POST", env.base_url + "/v1/chat/completions", json=body, headers=headers, timeout=TIMEOUT, trust_env=False) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line]
    data = [line[len("data: ") :] for line in lines if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    assert all(not line.startswith("event:") for line in lines)
    chunks = [json.loads(d) for d in data[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"][0]["delta"] == {}


def test_system_and_developer_roles(oai):
    completion = oai.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in English."}]},
            {"role": "user", "content": "Hi [[sim:text:Hi.]]"},
        ],
    )
    assert completion.choices[0].message.content == "Hi."


def test_multi_turn_history(oai):
    completion = oai.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "user", "content": "What is 2+2?"},
            {"role": "assistant", "content": "4"},
            {"role": "user", "content": "And 3+3? [[sim:text:6.]]"},
        ],
    )
    assert completion.choices[0].message.content == "6."


def test_unknown_fields_and_options_are_accepted(oai):
    completion = oai.chat.completions.create(
        model=MODEL,
        messages=user("[[sim:text:ok]]"),
        temperature=0.3,
        top_p=0.9,
        seed=42,
        user="session-123",
        presence_penalty=0,
        frequency_penalty=0,
        logprobs=False,
        parallel_tool_calls=True,
        n=1,
        response_format={"type": "json_object"},
        extra_body={"some_future_field": {"x": 1}},
    )
    assert completion.choices[0].message.content == "ok"


def test_json_schema_response_format_is_accepted(oai):
    completion = oai.chat.completions.create(
        model=MODEL,
        messages=user('[[sim:text:{"answer": 4}]]'),
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": {"type": "object", "properties": {"answer": {"type": "integer"}}}},
        },
    )
    assert json.loads(completion.choices[0].message.content) == {"answer": 4}


# ---------------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------------


def test_png_data_url_image_is_accepted(oai):
    completion = oai.chat.completions.create(
        model=MODEL,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is in this image? [[sim:text:A red pixel.]]"},
                    {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png_1x1_base64()}", "detail": "low"}},
                ],
            }
        ],
    )
    assert completion.choices[0].message.content == "A red pixel."


def test_remote_image_url_is_a_clear_400(oai):
    with pytest.raises(openai.BadRequestError) as caught:
        oai.chat.completions.create(
            model=MODEL,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Describe"},
                        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
                    ],
                }
            ],
        )
    assert caught.value.status_code == 400
    error = assert_openai_error(caught.value.body)
    assert error["type"] == "invalid_request_error"
    assert "messages.0.content.1.image_url.url" in error["message"]
    assert "not implemented" in error["message"] and "data URL" in error["message"]


def test_unsupported_image_type_is_400(oai):
    with pytest.raises(openai.BadRequestError) as caught:
        oai.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/bmp;base64,Qk0="}}]}],
        )
    assert "image/bmp" in assert_openai_error(caught.value.body)["message"]


# ---------------------------------------------------------------------------------------------
# Function calling
# ---------------------------------------------------------------------------------------------


def test_function_call_round_trip(oai):
    prompt = 'What is the weather in Paris? [[sim:tool:get_weather:{"location":"Paris"}]]'
    first = oai.chat.completions.create(model=MODEL, tools=[WEATHER_TOOL], messages=user(prompt))
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    calls = choice.message.tool_calls
    assert len(calls) == 1
    call = calls[0]
    assert call.type == "function"
    assert call.id
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"location": "Paris"}

    second = oai.chat.completions.create(
        model=MODEL,
        tools=[WEATHER_TOOL],
        messages=[
            {"role": "user", "content": prompt},
            choice.message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "Sunny, 21 degrees"},
        ],
    )
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.tool_calls is None
    assert "Sunny, 21 degrees" in second.choices[0].message.content


def test_streaming_function_call_round_trip(oai):
    prompt = 'Weather? [[sim:tool:get_weather:{"location":"Paris"}]]'
    result = stream_chat(oai, model=MODEL, tools=[WEATHER_TOOL], messages=user(prompt))
    assert result["finish_reason"] == "tool_calls"
    assert list(result["tool_calls"]) == [0]
    call = result["tool_calls"][0]
    assert call["id"] and call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"location": "Paris"}

    history = [
        {"role": "user", "content": prompt},
        {
            "role": "assistant",
            "content": result["content"] or None,
            "tool_calls": [
                {"id": call["id"], "type": "function", "function": {"name": call["name"], "arguments": call["arguments"]}}
            ],
        },
        {"role": "tool", "tool_call_id": call["id"], "content": "Cloudy, 15 degrees"},
    ]
    second = stream_chat(oai, model=MODEL, tools=[WEATHER_TOOL], messages=history)
    assert second["finish_reason"] == "stop"
    assert not second["tool_calls"]
    assert "Cloudy, 15 degrees" in second["content"]


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_parallel_tool_calls_and_results(oai, stream):
    params = dict(model=MODEL, tools=[WEATHER_TOOL, TIME_TOOL], messages=user(PARALLEL_PROMPT))
    if stream:
        result = stream_chat(oai, **params)
        assert result["finish_reason"] == "tool_calls"
        assert sorted(result["tool_calls"]) == [0, 1]
        calls = [result["tool_calls"][0], result["tool_calls"][1]]
        calls = [{"id": c["id"], "name": c["name"], "arguments": c["arguments"]} for c in calls]
    else:
        completion = oai.chat.completions.create(**params)
        assert completion.choices[0].finish_reason == "tool_calls"
        calls = [
            {"id": c.id, "name": c.function.name, "arguments": c.function.arguments}
            for c in completion.choices[0].message.tool_calls
        ]
    assert [c["name"] for c in calls] == ["get_weather", "get_time"]
    assert json.loads(calls[0]["arguments"]) == {"location": "Paris"}
    assert json.loads(calls[1]["arguments"]) == {"timezone": "Europe/Paris"}
    assert calls[0]["id"] != calls[1]["id"]

    second = oai.chat.completions.create(
        model=MODEL,
        tools=[WEATHER_TOOL, TIME_TOOL],
        messages=[
            {"role": "user", "content": PARALLEL_PROMPT},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                    for c in calls
                ],
            },
            {"role": "tool", "tool_call_id": calls[0]["id"], "content": "Rainy, 12 degrees"},
            {"role": "tool", "tool_call_id": calls[1]["id"], "content": [{"type": "text", "text": "14:05 CET"}]},
        ],
    )
    reply = second.choices[0].message.content
    assert second.choices[0].finish_reason == "stop"
    assert "Rainy, 12 degrees" in reply and "14:05 CET" in reply
    assert reply.index("Rainy") < reply.index("14:05"), "tool results keep the order of the calls"


@pytest.mark.parametrize(
    "tool_choice",
    ["auto", "none", "required", {"type": "function", "function": {"name": "get_weather"}}],
    ids=["auto", "none", "required", "named"],
)
def test_tool_choice_variants_are_accepted(oai, tool_choice):
    completion = oai.chat.completions.create(
        model=MODEL, tools=[WEATHER_TOOL, TIME_TOOL], tool_choice=tool_choice, messages=user("Hi [[sim:text:fine]]")
    )
    assert completion.choices[0].message.content == "fine"


def test_cut_off_tool_call_is_never_sent(oai):
    write_tool = {
        "type": "function",
        "function": {
            "name": "Write",
            "parameters": {"type": "object", "properties": {"path": {"type": "string"}, "content": {"type": "string"}}},
        },
    }
    params = dict(model=MODEL, tools=[write_tool], messages=user("Write the file [[sim:toolcut:Write]]"))
    completion = oai.chat.completions.create(**params)
    choice = completion.choices[0]
    assert choice.message.tool_calls is None
    assert choice.finish_reason == "length"
    assert "cut off" in choice.message.content and "Write" in choice.message.content

    result = stream_chat(oai, **params)
    assert not result["tool_calls"]
    assert result["finish_reason"] == "length"
    assert "cut off" in result["content"]


# ---------------------------------------------------------------------------------------------
# Stream options, stop, max_tokens
# ---------------------------------------------------------------------------------------------


def test_include_usage_final_chunk(oai):
    result = stream_chat(oai, model=MODEL, messages=user("Hello"), stream_options={"include_usage": True})
    last = result["chunks"][-1]
    assert last.choices == []
    assert last.usage is not None
    assert last.usage.prompt_tokens > 0 and last.usage.completion_tokens > 0
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens
    assert result["chunks"][-2].choices[0].finish_reason == "stop"
    assert all(chunk.usage is None for chunk in result["chunks"][:-1])
    assert result["content"] == DEFAULT_REPLY


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_stop(oai, stream):
    params = dict(model=MODEL, stop=["STOP", "HALT"], messages=user("[[sim:text:alpha beta STOP gamma]]"))
    content, finish = content_and_finish(oai, stream, **params)
    assert content == "alpha beta "
    assert finish == "stop"


def test_stop_as_a_string(oai):
    choice = oai.chat.completions.create(model=MODEL, stop="beta", messages=user("[[sim:text:alpha beta gamma]]")).choices[0]
    assert choice.message.content == "alpha "


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_max_tokens_is_finish_reason_length(oai, stream, field):
    params = {"model": MODEL, field: 20, "messages": user("[[sim:long:4000]]")}
    content, finish = content_and_finish(oai, stream, **params)
    assert finish == "length"
    assert 0 < len(content) < 400


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------


def test_models_list(oai):
    models = oai.models.list()
    ids = [m.id for m in models.data]
    assert ids
    for m in models.data:
        assert m.object == "model"
        assert isinstance(m.created, int)
        assert m.owned_by
    assert oai.models.retrieve(ids[0]).id == ids[0]


def test_unknown_model_is_served_by_the_default_and_echoed(oai):
    completion = oai.chat.completions.create(model="some-model-nobody-configured", messages=user("[[sim:text:ok]]"))
    assert completion.model == "some-model-nobody-configured"
    assert completion.choices[0].message.content == "ok"


@pytest.fixture
def rejecting_server(own_server, monkeypatch) -> str:
    """A fresh q2api (conftest's `own_server`) whose config adds `models.unknown: reject`."""
    original = conftest._config_for

    def with_reject(env: Env, port: int) -> str:
        text = original(env, port)
        if re.search(r"^models:", text, re.MULTILINE):
            pytest.skip("the suite's config already has a models section")
        return text.rstrip("\n") + "\nmodels:\n  unknown: reject\n"

    monkeypatch.setattr(conftest, "_config_for", with_reject)
    return own_server()


def test_unknown_model_rejected_is_404_model_not_found(rejecting_server, env):
    with make_openai(rejecting_server, env.api_key) as c:
        with pytest.raises(openai.NotFoundError) as caught:
            c.chat.completions.create(model="no-such-model", messages=user("hi"))
    assert caught.value.status_code == 404
    error = assert_openai_error(caught.value.body)
    assert error["code"] == "model_not_found"
    assert "no-such-model" in error["message"]


# ---------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------


def test_wrong_api_key_is_authentication_error(env):
    with make_openai(env.base_url, "sk-wrong") as c:
        with pytest.raises(openai.AuthenticationError) as caught:
            c.chat.completions.create(model=MODEL, messages=user("hi"))
    assert caught.value.status_code == 401
    assert assert_openai_error(caught.value.body)["code"] == "invalid_api_key"


def test_n_greater_than_one_is_400(oai):
    with pytest.raises(openai.BadRequestError) as caught:
        oai.chat.completions.create(model=MODEL, n=2, messages=user("hi"))
    assert caught.value.status_code == 400
    error = assert_openai_error(caught.value.body)
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("n:")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"messages": [{"role": "user", "content": "x"}]}, "model"),
        ({"model": MODEL}, "messages"),
        ({"model": MODEL, "messages": []}, "messages"),
        (
            {
                "model": MODEL,
                "messages": [
                    {"role": "user", "content": "x"},
                    {"role": "assistant", "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{oops"}}]},
                    {"role": "tool", "tool_call_id": "c", "content": "r"},
                ],
            },
            "messages.1.tool_calls.0.function.arguments",
        ),
    ],
    ids=["model", "messages-missing", "messages-empty", "arguments"],
)
def test_malformed_requests_are_400_naming_the_field(env, body, field):
    response = httpx.post(
        env.base_url + "/v1/chat/completions",
        json=body,
        headers={"authorization": f"Bearer {env.api_key}"},
        timeout=TIMEOUT,
        trust_env=False,
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert_openai_error(error)
    assert error["message"].startswith(field + ":"), error


def test_malformed_json_is_400_in_openai_shape(env):
    response = httpx.post(
        env.base_url + "/v1/chat/completions",
        content=b'{"model": "x", "messages": [',
        headers={"authorization": f"Bearer {env.api_key}", "content-type": "application/json"},
        timeout=TIMEOUT,
        trust_env=False,
    )
    assert response.status_code == 400
    assert_openai_error(response.json()["error"])


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_throttling_is_rate_limit_error(own_server, env, stream):
    with make_openai(own_server(), env.api_key) as c:
        with pytest.raises(openai.RateLimitError) as caught:
            if stream:
                with c.chat.completions.create(model=MODEL, stream=True, messages=user("[[sim:throttle]]")) as s:
                    list(s)
            else:
                c.chat.completions.create(model=MODEL, messages=user("[[sim:throttle]]"))
    error = caught.value
    assert error.status_code == 429
    body = assert_openai_error(error.body)
    assert body["type"] == "rate_limit_error"
    retry_after = error.response.headers.get("retry-after")
    assert retry_after is not None and retry_after.isdigit() and int(retry_after) > 0


def test_mid_stream_exception_raises_while_iterating(own_server, env):
    with make_openai(own_server(), env.api_key) as c:
        received = []
        with pytest.raises(openai.APIError) as caught:
            with c.chat.completions.create(model=MODEL, stream=True, messages=user("Think [[sim:exception]]")) as stream:
                for chunk in stream:
                    received.append(chunk)
    text = "".join(ch.choices[0].delta.content or "" for ch in received if ch.choices)
    assert text == "Let me think about that"
    assert not any(ch.choices and ch.choices[0].finish_reason for ch in received)
    assert "high traffic" in caught.value.message
    assert isinstance(caught.value.body, dict) and caught.value.body.get("type") == "server_error"


def test_mid_stream_exception_non_streaming_is_503(own_server, env):
    with make_openai(own_server(), env.api_key) as c:
        with pytest.raises(openai.InternalServerError) as caught:
            c.chat.completions.create(model=MODEL, messages=user("Think [[sim:exception]]"))
    assert caught.value.status_code == 503
    assert assert_openai_error(caught.value.body)["type"] == "server_error"
