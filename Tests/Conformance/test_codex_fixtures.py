"""Replays the requests Codex CLI sends (fixtures/codex/*.json, see fixtures/codex/README.md) against
`POST /v1/responses`, with Codex's headers, and checks the stream the way Codex reads it:

- HTTP 200 and `text/event-stream` (Codex never retries a 4xx and shows a 400 as a fatal error);
- `response.output_item.added` before any delta of the item, and `response.output_item.done` carrying the
  whole item, which must deserialize as Codex's `ResponseItem` (an item that does not is silently dropped);
- a `response.completed` with a string `response.id` and, if there is usage, integer token counts (without
  it Codex reports "stream closed before response.completed" and retries);
- an `openai-model` header, if sent, naming the requested model (else Codex warns "routed to another model").

Each fixture is replayed as recorded (the simulator's default reply), and in variants that append a
`[[sim:...]]` marker to the last user message: a call of the first function tool (Codex continues the turn only
when a `function_call` item with `name`, string `arguments` and `call_id` arrives), a call of the `custom` tool
(apply_patch: a `custom_tool_call` with the raw `input` text), a call of a `namespace` tool (MCP: a
`function_call` with the bare `name` and its `namespace`), and reasoning with a summary (when the request asks
for one). Stream invariants are the ones responses_stream.check_stream enforces.

Skipped only when fixtures/codex/ holds no fixture.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import httpx
import pytest

from conftest import DEFAULT_REPLY, TIMEOUT, Env, iter_sse
from responses_stream import THINKING_ANSWER, THOUGHT, check_stream

FIXTURES = Path(__file__).parent / "fixtures" / "codex"
FILES = sorted(FIXTURES.glob("*.json")) if FIXTURES.is_dir() else []

pytestmark = pytest.mark.skipif(not FILES, reason=f"no Codex fixtures in {FIXTURES}")


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def first_function_tool(body: dict) -> dict | None:
    for tool in body.get("tools") or []:
        if tool.get("type") == "function":
            return tool
    return None


def first_tool_of_type(body: dict, kind: str) -> dict | None:
    return next((tool for tool in body.get("tools") or [] if tool.get("type") == kind), None)


def wants_summary(body: dict) -> bool:
    reasoning = body.get("reasoning")
    return isinstance(reasoning, dict) and reasoning.get("summary") not in (None, "none")


def variants() -> list:
    params = []
    for path in FILES:
        body = load(path)["body"]
        params.append(pytest.param(path, "as-recorded", id=f"{path.stem}-as-recorded"))
        if first_function_tool(body) is not None:
            params.append(pytest.param(path, "function-call", id=f"{path.stem}-function-call"))
        if first_tool_of_type(body, "custom") is not None:
            params.append(pytest.param(path, "custom-tool-call", id=f"{path.stem}-custom-tool-call"))
        if first_tool_of_type(body, "namespace") is not None:
            params.append(pytest.param(path, "namespace-call", id=f"{path.stem}-namespace-call"))
        if wants_summary(body):
            params.append(pytest.param(path, "reasoning", id=f"{path.stem}-reasoning"))
    return params


def append_to_last_user_text(body: dict, marker: str) -> dict:
    body = copy.deepcopy(body)
    for item in reversed(body["input"]):
        if item.get("role") == "user" and item.get("type", "message") == "message":
            content = item["content"]
            if isinstance(content, str):
                item["content"] = content + " " + marker
            else:
                texts = [part for part in content if part.get("type") == "input_text"]
                texts[-1]["text"] += " " + marker
            return body
    raise AssertionError("the fixture has no user message")


def codex_headers(env: Env, body: dict) -> dict:
    session = body.get("prompt_cache_key") or "019dc0a2-0000-7000-8000-000000000000"
    return {
        "authorization": f"Bearer {env.api_key}",
        "accept": "text/event-stream",
        "content-type": "application/json",
        "originator": "codex_cli_rs",
        "user-agent": "codex_cli_rs/0.125.0 (Ubuntu 24.04; x86_64) xterm-256color",
        "session_id": session,
        "x-client-request-id": session,
        "x-codex-window-id": f"{session}:0",
        "x-codex-turn-metadata": json.dumps(
            {"session_id": session, "turn_id": "019dc0a2-1111-7000-8000-000000000001", "workspaces": {}, "sandbox": "workspace-write"}
        ),
    }


def post(env: Env, body: dict) -> tuple[httpx.Response, list[dict]]:
    """POSTs the body as Codex does and parses the stream as Codex does (only `data:`, unparsable data skipped)."""
    events: list[dict] = []
    content = json.dumps(body, ensure_ascii=False).encode()
    with httpx.stream(
        "POST", env.base_url + "/v1/responses", content=content, headers=codex_headers(env, body), timeout=TIMEOUT, trust_env=False
    ) as response:
        if response.status_code != 200:
            response.read()
            return response, events
        assert response.headers.get("content-type", "").startswith("text/event-stream"), response.headers
        for event in iter_sse(response):
            try:
                data = json.loads(event.data)
            except json.JSONDecodeError:
                continue
            events.append(data)
    return response, events


def assert_codex_item(item: dict) -> None:
    """What codex-rs/protocol ResponseItem needs to deserialize the item of an output_item.done."""
    kind = item.get("type")
    if kind == "message":
        assert item.get("role") == "assistant", item
        assert isinstance(item.get("content"), list) and item["content"], item
        for part in item["content"]:
            assert part.get("type") == "output_text" and isinstance(part.get("text"), str), item
    elif kind == "reasoning":
        assert isinstance(item.get("summary"), list), f"reasoning.summary is required: {item}"
        for part in item["summary"]:
            assert part.get("type") == "summary_text" and isinstance(part.get("text"), str), item
        assert item.get("content") is None or isinstance(item["content"], list), item
        assert item.get("encrypted_content") is None or isinstance(item["encrypted_content"], str), item
    elif kind == "function_call":
        assert isinstance(item.get("name"), str) and item["name"], item
        assert isinstance(item.get("arguments"), str), f"arguments must be a JSON string: {item}"
        json.loads(item["arguments"])
        assert isinstance(item.get("call_id"), str) and item["call_id"], item
        assert item.get("namespace") is None or isinstance(item["namespace"], str), item
    elif kind == "custom_tool_call":
        assert isinstance(item.get("name"), str) and item["name"], item
        assert isinstance(item.get("input"), str), f"input must be a string: {item}"
        assert isinstance(item.get("call_id"), str) and item["call_id"], item
    else:
        pytest.fail(f"an output item Codex would not expect from this request: {item}")


def test_fixtures_are_well_formed() -> None:
    for path in FILES:
        fixture = load(path)
        assert {"source", "description", "body"} <= set(fixture), f"{path.name}: {sorted(fixture)}"
        body = fixture["body"]
        assert body.get("stream") is True and isinstance(body.get("model"), str), path.name
        assert isinstance(body.get("input"), list) and body["input"], path.name


@pytest.mark.parametrize("path, variant", variants())
def test_codex_request_streams_what_codex_needs(env: Env, path: Path, variant: str) -> None:
    body = load(path)["body"]
    tool = first_function_tool(body)
    if variant == "function-call":
        arguments = {"cmd": "ls -la"} if tool["name"] == "exec_command" else {}
        body = append_to_last_user_text(body, f"[[sim:tool:{tool['name']}:{json.dumps(arguments)}]]")
    elif variant == "custom-tool-call":
        # A custom (free-form) tool is offered to the model as a function with one string parameter, `input`.
        custom = first_tool_of_type(body, "custom")
        patch = "*** Begin Patch\n*** Add File: hello.txt\n+hello\n*** End Patch\n"
        body = append_to_last_user_text(body, f"[[sim:tool:{custom['name']}:{json.dumps({'input': patch})}]]")
    elif variant == "namespace-call":
        # A namespace's tools are offered to the model under namespace + name.
        namespace = first_tool_of_type(body, "namespace")
        inner = namespace["tools"][0]
        arguments = {"query": "mean"}
        body = append_to_last_user_text(body, f"[[sim:tool:{namespace['name']}{inner['name']}:{json.dumps(arguments)}]]")
    elif variant == "reasoning":
        body = append_to_last_user_text(body, "[[sim:thinking]]")

    response, events = post(env, body)
    assert response.status_code == 200, f"{path.name} ({variant}) answered {response.status_code}: {response.text[:2000]}"
    routed = response.headers.get("openai-model")
    assert routed is None or routed == body["model"], f"openai-model {routed!r} makes Codex warn about a reroute"

    result = check_stream(events)
    terminal = result["terminal"]
    assert terminal["type"] == "response.completed", f"Codex needs response.completed: {result['types']}"
    assert isinstance(terminal["response"].get("id"), str) and terminal["response"]["id"], terminal
    usage = terminal["response"].get("usage")
    if usage is not None:
        for key in ("input_tokens", "output_tokens", "total_tokens"):
            assert isinstance(usage.get(key), int), usage
    for item in result["items"]:
        assert_codex_item(item)
    messages = [item for item in result["items"] if item["type"] == "message"]
    calls = [item for item in result["items"] if item["type"] == "function_call"]
    reasoning = [item for item in result["items"] if item["type"] == "reasoning"]

    custom_calls = [item for item in result["items"] if item["type"] == "custom_tool_call"]

    if variant == "function-call":
        assert [c["name"] for c in calls] == [tool["name"]], result["items"]
        assert json.loads(calls[0]["arguments"]) == arguments
        assert calls[0].get("namespace") is None, calls[0]
        assert not custom_calls, custom_calls
    elif variant == "custom-tool-call":
        assert not calls, f"a custom tool's call must come back as custom_tool_call: {calls}"
        assert [(c["name"], c["input"]) for c in custom_calls] == [(custom["name"], patch)], result["items"]
    elif variant == "namespace-call":
        # Codex looks MCP tools up by (namespace, name): the bare name and the namespace, not the flat name.
        assert [(c["name"], c.get("namespace")) for c in calls] == [(inner["name"], namespace["name"])], calls
        assert json.loads(calls[0]["arguments"]) == arguments
    else:
        assert not custom_calls, f"a tool call nobody asked for: {custom_calls}"
        assert not calls, f"a tool call nobody asked for: {calls}"
        assert len(messages) == 1, result["items"]
        text = "".join(part["text"] for part in messages[0]["content"])
        if variant == "reasoning":
            assert [item["type"] for item in result["items"]] == ["reasoning", "message"], result["items"]
            assert "".join(part["text"] for part in reasoning[0]["summary"]).strip() == THOUGHT
            assert text == THINKING_ANSWER
        elif (body.get("text") or {}).get("format", {}).get("type") == "json_schema":
            # The simulator answers the smallest instance of the schema that reached it.
            schema = body["text"]["format"]["schema"]
            value = json.loads(text)
            assert isinstance(value, dict) and set(schema.get("required", [])) <= set(value), value
        else:
            assert text == DEFAULT_REPLY


def test_a_throttled_codex_request_is_a_stream_that_fails_with_rate_limit_exceeded(own_server, env: Env) -> None:
    """Codex never retries a 429 (it shows it as fatal) and reads no `retry-after`; it waits and retries only on a
    `response.failed` whose code is `rate_limit_exceeded` and whose message says "try again in N s". So a request
    that carries Codex's `client_metadata` gets that stream; the official SDK (no such metadata) still gets the 429."""
    body = append_to_last_user_text(load(FIXTURES / "01_first_turn.json")["body"], "[[sim:throttle]]")
    url = own_server()
    response, events = post(Env(url, env.api_key, env.sim_url, env.bin, env.config), body)
    assert response.status_code == 200, response.text
    types = [event["type"] for event in events]
    assert types[0] == "response.created" and types[-1] == "response.failed", types
    error = events[-1]["response"]["error"]
    assert error["code"] == "rate_limit_exceeded", error
    assert re.search(r"try again in \d+s", error["message"]), error

    plain = {key: value for key, value in body.items() if key != "client_metadata"}
    refused, _ = post(Env(url, env.api_key, env.sim_url, env.bin, env.config), plain)
    assert refused.status_code == 429, refused.text
    assert refused.headers.get("retry-after", "").isdigit()
