"""Hostile input: random and mutated bodies, deep nesting, oversized bodies and headers, broken UTF-8, huge images,
self-referencing schemas, and the same treatment for the admin API.

Property-style: every case comes from one seeded `random.Random`, so a failure reproduces exactly. The properties:

- never a 5xx, never a dropped connection;
- every 4xx is in the dialect's error shape: Claude `{"type":"error","error":{"type","message"},"request_id"?}`,
  OpenAI `{"error":{"message","type","param","code"}}`, admin `{"error":{"type","message"}}`;
- a body that is not JSON, or is JSON that plainly breaks the request schema, is a 4xx;
- a 200 is a normal reply (a message, a chat completion, a token count, or a complete SSE stream);
- afterwards the server still serves a normal request.

Generated text never contains a simulator directive (`[[sim:`), and no case asks for a long reply, so every case
answers at once.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import re
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from conftest import MODEL, Env, free_port, parse_sse, stop_process, wait_for_url, png_1x1_base64

SEED = 20261122
CASES_PER_ENDPOINT = 110  # x 3 endpoints
ADMIN_CASES_PER_ROUTE = 45  # x 4 routes
CASE_TIMEOUT = 15.0

CLAUDE_MESSAGES = "/v1/messages"
CLAUDE_COUNT = "/v1/messages/count_tokens"
OPENAI_CHAT = "/v1/chat/completions"
ENDPOINTS = [CLAUDE_MESSAGES, OPENAI_CHAT, CLAUDE_COUNT]

DIRECTIVE = b"[[sim"


# ---------------------------------------------------------------------------------------------
# Valid starting points
# ---------------------------------------------------------------------------------------------

WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "a city"}, "days": {"type": "integer", "minimum": 1}},
    "required": ["city"],
}


def claude_bases() -> list[dict]:
    return [
        {"model": MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]},
        {
            "model": MODEL,
            "max_tokens": 32,
            "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "What is the weather in Paris?"}]},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "Let me check."},
                    {"type": "tool_use", "id": "toolu_01", "name": "get_weather", "input": {"city": "Paris"}},
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_01", "content": [{"type": "text", "text": "sunny, 21 C"}]},
                    {"type": "text", "text": "Thanks. Summarise."},
                ]},
            ],
            "tools": [{"name": "get_weather", "description": "Current weather", "input_schema": WEATHER_SCHEMA}],
            "tool_choice": {"type": "auto"},
            "metadata": {"user_id": "hostile-user"},
            "stop_sequences": ["STOP"],
            "temperature": 0.5,
            "top_p": 0.9,
            "top_k": 5,
            "stream": False,
        },
        {
            "model": MODEL,
            "max_tokens": 2048,
            "thinking": {"type": "enabled", "budget_tokens": 1024},
            "system": "You describe images.",
            "messages": [{"role": "user", "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": png_1x1_base64()}},
                {"type": "text", "text": "What is this?"},
            ]}],
        },
    ]


def openai_bases() -> list[dict]:
    return [
        {"model": MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]},
        {
            "model": MODEL,
            "max_completion_tokens": 32,
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "What is the weather in Paris?"},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "call_01", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}},
                ]},
                {"role": "tool", "tool_call_id": "call_01", "content": "sunny, 21 C"},
                {"role": "user", "content": [{"type": "text", "text": "Thanks. Summarise."}]},
            ],
            "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Current weather", "parameters": WEATHER_SCHEMA}}],
            "tool_choice": "auto",
            "temperature": 0.5,
            "top_p": 0.9,
            "stop": ["STOP"],
            "user": "hostile-user",
            "seed": 7,
            "stream": False,
        },
        {
            "model": MODEL,
            "max_tokens": 16,
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64," + png_1x1_base64()}},
            ]}],
        },
    ]


def bases_for(endpoint: str) -> list[dict]:
    return openai_bases() if endpoint == OPENAI_CHAT else claude_bases()


# ---------------------------------------------------------------------------------------------
# Random values and mutations
# ---------------------------------------------------------------------------------------------

ALPHABETS = [
    "abcdefghijklmnopqrstuvwxyz ",
    "ABCxyz0123456789 _-.:/\\\"'{}<>",
    "\u00e9\u00fc\u00df\u4e2d\u6587\u65e5\u672c\u0645\u0631\u062d\u0628\u0627\u202e\u200b\ufeff",
    "\U0001F600\U0001F4A9\U0001F9EA\u2603",
    "\x00\x01\x07\x1f\x7f\t\n\r",
]
HOSTILE_NUMBERS = [0, -1, -16, 1.5, -0.0, 2**31, 2**31 - 1, 2**53 + 1, 2**63 - 1, 2**63, 2**64, -(2**63) - 1, 10**30, 1e308, -1e308, 5e-324]
HOSTILE_STRINGS = ["", " ", "NaN", "Infinity", "-Infinity", "-1", "16", "null", "true", "{}", "[]", "0x10", "1e9999", "\u0000", "\ud800"]
TARGET_KEYS = ["messages", "content", "tools", "max_tokens", "max_completion_tokens", "stream", "model", "system", "tool_choice",
               "role", "input_schema", "parameters", "text", "type", "source", "data", "tool_calls", "function", "arguments",
               "thinking", "budget_tokens", "stop_sequences", "stop", "metadata", "image_url", "url", "temperature", "n"]


def random_text(rng: random.Random, max_length: int = 40) -> str:
    while True:
        alphabet = rng.choice(ALPHABETS)
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, max_length)))
        if "[[sim" not in text:
            return text


def random_scalar(rng: random.Random) -> Any:
    kind = rng.randrange(7)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice(HOSTILE_NUMBERS)
    if kind == 3:
        return rng.randint(-1000, 100000)
    if kind == 4:
        return rng.choice(HOSTILE_STRINGS)
    if kind == 5:
        return rng.uniform(-1e6, 1e6)
    return random_text(rng)


def random_value(rng: random.Random, depth: int = 0) -> Any:
    if depth >= 3 or rng.random() < 0.55:
        return random_scalar(rng)
    if rng.random() < 0.5:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {random_text(rng, 12) or "k": random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every path to a value inside `node` (not the root itself)."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield prefix + (key,)
            yield from paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield prefix + (index,)
            yield from paths(value, prefix + (index,))


def parent_of(root: Any, path: tuple) -> Any:
    node = root
    for step in path[:-1]:
        node = node[step]
    return node


def mutate_structure(rng: random.Random, body: Any) -> tuple[Any, str]:
    """One structural mutation of a parsed body; returns it with a description."""
    all_paths = list(paths(body)) if isinstance(body, (dict, list)) else []
    choice = rng.randrange(9)
    if choice == 0 and all_paths:
        path = rng.choice(all_paths)
        parent = parent_of(body, path)
        del parent[path[-1]]
        return body, f"delete {path}"
    if choice == 1 and all_paths:
        path = rng.choice(all_paths)
        value = random_value(rng)
        parent_of(body, path)[path[-1]] = value
        return body, f"replace {path} with {value!r:.80}"
    if choice == 2 and all_paths:
        targeted = [p for p in all_paths if p[-1] in TARGET_KEYS]
        if targeted:
            path = rng.choice(targeted)
            value = rng.choice([random_value(rng), rng.choice(HOSTILE_NUMBERS), rng.choice(HOSTILE_STRINGS), [], {}, None, True,
                                [random_value(rng)], {"type": random_text(rng, 8)}])
            parent_of(body, path)[path[-1]] = value
            return body, f"wrong type at {path}: {value!r:.80}"
    if choice == 3:
        containers = [()] + [p for p in all_paths if isinstance(parent_of(body, p + ("x",)), dict)]
        path = rng.choice(containers)
        target = body if path == () else parent_of(body, path + ("x",))
        key = rng.choice(TARGET_KEYS + [random_text(rng, 12)])
        if isinstance(target, dict):
            value = random_value(rng)
            target[key] = value
            return body, f"set {path + (key,)} = {value!r:.80}"
    if choice == 4 and isinstance(body, dict):
        key = rng.choice(["max_tokens", "max_completion_tokens", "temperature", "top_k", "n", "seed"])
        value = rng.choice(HOSTILE_NUMBERS + HOSTILE_STRINGS)
        body[key] = value
        return body, f"hostile number {key} = {value!r}"
    if choice == 5 and all_paths:
        lists = [p for p in all_paths if isinstance(parent_of(body, p + (0,)), list)]
        if lists:
            path = rng.choice(lists)
            items = parent_of(body, path + (0,))
            if items:
                items.extend(copy.deepcopy(items) * rng.randint(1, 3))
                rng.shuffle(items)
                return body, f"duplicate and shuffle list at {path}"
    if choice == 6:
        wrapped = rng.choice([[body], {"body": body}, "text", 42, None, []])
        return wrapped, f"whole body replaced by {json.dumps(wrapped)[:60]}"
    if choice == 7 and all_paths:
        path = rng.choice(all_paths)
        value = parent_of(body, path)[path[-1]]
        for _ in range(rng.randint(20, 200)):  # below any sane nesting limit, above most clients' habits
            value = rng.choice([[value], {"a": value}])
        parent_of(body, path)[path[-1]] = value
        return body, f"nest {path} deeply"
    if choice == 8 and all_paths:
        strings = [p for p in all_paths if isinstance(parent_of(body, p)[p[-1]], str)]
        if strings:
            path = rng.choice(strings)
            value = rng.choice(["\ud800", "a\udfffb", "\u0000" * 10, "\u202e" * 50, "x" * rng.randint(10_000, 100_000), random_text(rng, 500)])
            parent_of(body, path)[path[-1]] = value
            return body, f"odd string at {path}: {value[:20]!r} ({len(value)} chars)"
    path = rng.choice(all_paths) if all_paths else None
    if path is not None:
        del parent_of(body, path)[path[-1]]
        return body, f"delete {path}"
    return {}, "empty object"


def serialize(rng: random.Random, body: Any) -> bytes:
    """JSON text, ASCII-escaped or raw UTF-8 (lone surrogates then become invalid UTF-8 bytes, as a buggy client sends)."""
    if rng.random() < 0.5:
        return json.dumps(body, ensure_ascii=True).encode()
    return json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")


INVALID_UTF8 = [b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xe2\x82", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\x80"]


def mutate_bytes(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """One byte-level mutation of serialized JSON."""
    choice = rng.randrange(11)
    if choice == 0:
        cut = rng.randrange(len(data))
        return data[:cut], f"truncated at {cut} of {len(data)}"
    if choice == 1:
        raw = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        return bytes(raw), "random bytes flipped"
    if choice == 2:
        quotes = [m.start() for m in re.finditer(rb'"', data)]
        at = rng.choice(quotes) + 1 if quotes else 0
        junk = rng.choice(INVALID_UTF8)
        return data[:at] + junk + data[at:], f"invalid UTF-8 {junk!r} inside a string at {at}"
    if choice == 3:
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 2000))), "random bytes"
    if choice == 4:
        return b"", "empty body"
    if choice == 5:
        return b"\xef\xbb\xbf" + data, "UTF-8 BOM prefix"
    if choice == 6:
        tail = rng.choice([b"}", b"]", b"x", b"\x00", b",", b" {}", b"\n\n{\"a\":1}"])
        return data + tail, f"trailing {tail!r}"
    if choice == 7:
        literal = rng.choice([b"NaN", b"Infinity", b"-Infinity", b"1" + b"0" * 5000, b"-" + b"9" * 400, b"1e999999", b"1e-999999",
                              b"0.0000000000000000000000000001", b"01", b"+1", b".5", b"1.", b"0x10", b"undefined", b"--1"])
        replaced, count = re.subn(rb'("max_(?:completion_)?tokens"\s*:\s*)-?\d+', lambda m: m.group(1) + literal, data, count=1)
        return replaced, f"max_tokens literal {literal[:20]!r}" + ("" if count else " (no max_tokens)")
    if choice == 8:
        return b'{"model": 5, "messages": 7, ' + data.lstrip()[1:], "duplicate keys with wrong types first"
    if choice == 9:
        return data.replace(b'"', b"'", rng.randint(1, 6)), "single quotes"
    return data[: len(data) // 2] + b"/* comment */" + data[len(data) // 2 :], "comment in the middle"


def parse_strict(data: bytes) -> tuple[bool, Any]:
    """Whether `data` is strict JSON (UTF-8, no NaN/Infinity, no BOM), and its value."""

    def reject(_):
        raise ValueError("non-standard constant")

    try:
        text = data.decode("utf-8")
        if text.startswith("\ufeff"):
            return False, None
        return True, json.loads(text, parse_constant=reject)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False, None


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def plainly_invalid(endpoint: str, body: Any) -> str | None:
    """A reason the body breaks the request schema beyond doubt, or None when it may be valid."""
    if not isinstance(body, dict):
        return "the body is not an object"
    model = body.get("model")
    if endpoint == OPENAI_CHAT and model is None:
        return "model missing"
    if "model" not in body:
        return "model missing"
    if not isinstance(model, str) or not model:
        return "model is not a non-empty string"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages is not a non-empty array"
    roles = ("user", "assistant") if endpoint != OPENAI_CHAT else ("system", "developer", "user", "assistant", "tool")
    for message in messages:
        if not isinstance(message, dict):
            return "a message is not an object"
        if message.get("role") not in roles:
            return "a message has an invalid role"
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        return "stream is not a boolean"
    token_keys = ["max_tokens", "max_completion_tokens"] if endpoint == OPENAI_CHAT else ["max_tokens"]
    for key in token_keys:
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, (str, list, dict, bool)) or (is_int(value) and value < 1) or (isinstance(value, float) and value < 1):
            return f"{key} is not an integer >= 1"
    if endpoint == CLAUDE_MESSAGES and body.get("max_tokens") is None:
        return "max_tokens missing"
    return None


# ---------------------------------------------------------------------------------------------
# The properties
# ---------------------------------------------------------------------------------------------


def dialect_of(endpoint: str) -> str:
    return "openai" if endpoint == OPENAI_CHAT else "claude"


def error_shape_problem(dialect: str, response: httpx.Response) -> str | None:
    """Why a 4xx is not in the dialect's error shape, or None when it is."""
    try:
        body = response.json()
    except ValueError:
        return f"the body is not JSON: {response.content[:200]!r}"
    if not isinstance(body, dict):
        return "the body is not an object"
    error = body.get("error")
    if not isinstance(error, dict):
        return "no error object"
    if not isinstance(error.get("message"), str) or not error["message"]:
        return "error.message is not a non-empty string"
    if not isinstance(error.get("type"), str) or not error["type"]:
        return "error.type is not a non-empty string"
    if dialect == "claude":
        if body.get("type") != "error":
            return 'type is not "error"'
        if "request_id" in body and not isinstance(body["request_id"], str):
            return "request_id is not a string"
        if set(body) - {"type", "error", "request_id"}:
            return f"unexpected members {sorted(set(body) - {'type', 'error', 'request_id'})}"
    elif dialect == "openai":
        if "param" not in error or "code" not in error:
            return "error.param or error.code is missing"
    if dialect in ("claude", "openai") and not response.headers.get("request-id"):
        return "no request-id header"
    return None


def normal_reply_problem(endpoint: str, response: httpx.Response) -> str | None:
    """Why a 200 is not a normal reply, or None when it is."""
    content_type = response.headers.get("content-type", "")
    if "text/event-stream" in content_type:
        if endpoint == CLAUDE_COUNT:
            return "count_tokens answered with a stream"
        events = parse_sse(response.text)
        if endpoint == CLAUDE_MESSAGES:
            names = [name for name, _ in events]
            if not names or names[0] != "message_start" or names[-1] != "message_stop":
                return f"the stream is not message_start ... message_stop: {names[:3]} ... {names[-3:]}"
            if "error" in names:
                return "the stream carries an error event"
            for _, data in events:
                json.loads(data)
            return None
        datas = [data for _, data in events]
        if not datas or datas[-1] != "[DONE]":
            return "the stream does not end with [DONE]"
        for data in datas[:-1]:
            chunk = json.loads(data)
            if "error" in chunk:
                return f"the stream carries an error: {data[:200]}"
            if chunk.get("object") != "chat.completion.chunk":
                return f"a chunk is not a chat.completion.chunk: {data[:200]}"
        return None
    try:
        body = response.json()
    except ValueError:
        return f"the body is not JSON: {response.content[:200]!r}"
    if endpoint == CLAUDE_COUNT:
        return None if isinstance(body, dict) and is_int(body.get("input_tokens")) and body["input_tokens"] >= 0 else "no input_tokens"
    if endpoint == CLAUDE_MESSAGES:
        ok = (isinstance(body, dict) and body.get("type") == "message" and body.get("role") == "assistant"
              and isinstance(body.get("content"), list) and isinstance(body.get("usage"), dict) and body.get("stop_reason"))
        return None if ok else "not a message"
    ok = (isinstance(body, dict) and body.get("object") == "chat.completion" and isinstance(body.get("choices"), list)
          and len(body["choices"]) == 1 and isinstance(body["choices"][0].get("message"), dict))
    return None if ok else "not a chat.completion"


def check(endpoint: str, response: httpx.Response, must_reject: str | None) -> str | None:
    """Every property of one answer; the first broken one, or None."""
    status = response.status_code
    if status >= 500:
        return f"server error {status}"
    if 400 <= status < 500:
        problem = error_shape_problem(dialect_of(endpoint), response)
        if problem:
            return f"{status} not in the {dialect_of(endpoint)} error shape: {problem}"
        message = response.json()["error"]["message"]
        if "upstream rejected" in message:
            return f"{status}: the proxy accepted the body but sent the upstream a request it refused: {message[:300]}"
        return None
    if status == 200:
        if must_reject:
            return f"200 for a body that must be rejected ({must_reject})"
        problem = normal_reply_problem(endpoint, response)
        return f"200 but not a normal reply: {problem}" if problem else None
    return f"unexpected status {status}"


def api_client(env: Env) -> httpx.Client:
    return httpx.Client(base_url=env.base_url, timeout=CASE_TIMEOUT, trust_env=False,
                        headers={"x-api-key": env.api_key, "anthropic-version": "2023-06-01"})


def send(client: httpx.Client, method: str, path: str, data: bytes, headers: dict | None = None) -> httpx.Response | str:
    """The response, or a description of the transport failure."""
    try:
        return client.request(method, path, content=data, headers={"content-type": "application/json", **(headers or {})})
    except httpx.HTTPError as error:
        return f"transport error {type(error).__name__}: {error}"


def excerpt(data: bytes, limit: int = 300) -> str:
    return repr(data[:limit]) + (f" ... ({len(data)} bytes)" if len(data) > limit else "")


def assert_serves_normally(client: httpx.Client) -> None:
    response = client.post(CLAUDE_MESSAGES, json={"model": MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 200, f"the server no longer serves a normal request: {response.status_code} {response.text[:500]}"
    assert response.json()["type"] == "message"


@pytest.fixture(scope="module")
def api(env: Env) -> Iterator[httpx.Client]:
    with api_client(env) as client:
        yield client


# ---------------------------------------------------------------------------------------------
# 1. Random and mutated bodies on the three endpoints
# ---------------------------------------------------------------------------------------------


def generate_case(rng: random.Random, endpoint: str) -> tuple[bytes, str, str | None]:
    """One hostile body: (bytes, how it was made, why it must be rejected or None)."""
    while True:
        body = copy.deepcopy(rng.choice(bases_for(endpoint)))
        steps = []
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            body, step = mutate_structure(rng, body)
            steps.append(step)
        data = serialize(rng, body)
        if rng.random() < 0.35:
            data, step = mutate_bytes(rng, data)
            steps.append(step)
        if DIRECTIVE in data:
            continue
        strict, value = parse_strict(data)
        must_reject = plainly_invalid(endpoint, value) if strict else "not strict JSON"
        return data, "; ".join(steps), must_reject


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_mutated_bodies_get_a_clean_answer(api: httpx.Client, endpoint: str):
    rng = random.Random(f"{SEED}:{endpoint}")
    failures: list[str] = []
    statuses: dict[int, int] = {}
    for index in range(CASES_PER_ENDPOINT):
        data, how, must_reject = generate_case(rng, endpoint)
        response = send(api, "POST", endpoint, data)
        if isinstance(response, str):
            failures.append(f"case {index} [{how}]: {response}\n    request: {excerpt(data)}")
            continue
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        problem = check(endpoint, response, must_reject)
        if problem:
            failures.append(f"case {index} [{how}]: {problem}\n    request: {excerpt(data)}\n    response: {response.text[:300]}")
    assert not failures, f"{len(failures)} of {CASES_PER_ENDPOINT} cases on {endpoint} broke a property (statuses {statuses}):\n" + "\n".join(failures)
    assert statuses.get(200, 0) > 0 and sum(n for s, n in statuses.items() if 400 <= s < 500) > 0, statuses
    assert_serves_normally(api)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_fixed_hostile_bodies(api: httpx.Client, endpoint: str):
    """The named cases from the brief, each with the answer it must get."""
    base = json.dumps(bases_for(endpoint)[0]).encode()
    tokens = "max_tokens"
    cases: list[tuple[str, bytes, str | None]] = [
        ("empty body", b"", "reject"),
        ("whitespace", b"  \n ", "reject"),
        ("JSON null", b"null", "reject"),
        ("array instead of object", b"[" + base + b"]", "reject"),
        ("string instead of object", b'"hello"', "reject"),
        ("truncated", base[: len(base) // 2], "reject"),
        ("invalid UTF-8 in a string", base.replace(b'"hi"', b'"h\xff\xfei"'), "reject"),
        ("overlong UTF-8 encoding", base.replace(b'"hi"', b'"h\xc0\xafi"'), "reject"),
        ("UTF-16 surrogate as UTF-8", base.replace(b'"hi"', b'"h\xed\xa0\x80i"'), "reject"),
        ("lone surrogate escape", base.replace(b'"hi"', b'"h\\ud800i"'), None),
        ("NUL escape", base.replace(b'"hi"', b'"h\\u0000i"'), None),
        ("raw control character", base.replace(b'"hi"', b'"h\x01i"'), "reject"),
        ("negative max_tokens", base.replace(b'"max_tokens": 16', b'"max_tokens": -16'), "reject"),
        ("zero max_tokens", base.replace(b'"max_tokens": 16', b'"max_tokens": 0'), "reject"),
        ("huge max_tokens", base.replace(b'"max_tokens": 16', b'"max_tokens": 1' + b"0" * 400), "reject"),
        ("2^63 max_tokens", base.replace(b'"max_tokens": 16', b'"max_tokens": 9223372036854775808'), "reject"),
        ("1e999 max_tokens", base.replace(b'"max_tokens": 16', b'"max_tokens": 1e999'), "reject"),
        ("NaN literal max_tokens", base.replace(b'"max_tokens": 16', b'"max_tokens": NaN'), "reject"),
        ("Infinity literal max_tokens", base.replace(b'"max_tokens": 16', b'"max_tokens": -Infinity'), "reject"),
        ('"NaN" max_tokens', base.replace(b'"max_tokens": 16', b'"max_tokens": "NaN"'), "reject"),
        ('"16" max_tokens', base.replace(b'"max_tokens": 16', b'"max_tokens": "16"'), "reject"),
        ("messages an object", base.replace(b'"messages": [', b'"messages": {"0": ').replace(b"}]}", b"}}}"), "reject"),
        ("messages a string", re.sub(rb'"messages": \[.*\]', b'"messages": "hi"', base), "reject"),
        ("messages empty", re.sub(rb'"messages": \[.*\]', b'"messages": []', base), "reject"),
        ("content a number", base.replace(b'"content": "hi"', b'"content": 5'), "reject"),
        ("content an object", base.replace(b'"content": "hi"', b'"content": {"text": "hi"}'), "reject"),
        ("content blocks of numbers", base.replace(b'"content": "hi"', b'"content": [1, 2]'), "reject"),
        ("tools a string", base[:-1] + b', "tools": "all"}', "reject"),
        ("tools of numbers", base[:-1] + b', "tools": [1]}', "reject"),
        ("stream a string", base[:-1] + b', "stream": "yes"}', "reject"),
        ("stream a number", base[:-1] + b', "stream": 1}', "reject"),
        ("model a number", base.replace(b'"model": "' + MODEL.encode() + b'"', b'"model": 42'), "reject"),
        ("model empty", base.replace(b'"model": "' + MODEL.encode() + b'"', b'"model": ""'), "reject"),
        ("role unknown", base.replace(b'"role": "user"', b'"role": "root"'), "reject"),
        ("BOM prefix", b"\xef\xbb\xbf" + base, None),
        ("trailing garbage", base + b"}", "reject"),
        ("two documents", base + base, "reject"),
        ("duplicate keys", base[:-1] + b', "model": "' + MODEL.encode() + b'"}', None),
        ("100 KB model name", base.replace(b'"model": "' + MODEL.encode() + b'"', b'"model": "' + b"m" * 100_000 + b'"'), None),
        ("stream true (valid)", base[:-1] + b', "stream": true}', None),
    ]
    if endpoint == CLAUDE_COUNT:
        cases.append(("count_tokens without max_tokens (valid)", base.replace(b'"max_tokens": 16, ', b""), None))
    else:
        cases.append(("max_tokens a float", base.replace(b'"max_tokens": 16', b'"max_tokens": 16.5'), "reject"))
    failures = []
    for name, data, expectation in cases:
        assert DIRECTIVE not in data
        response = send(api, "POST", endpoint, data)
        if isinstance(response, str):
            failures.append(f"{name}: {response}")
            continue
        problem = check(endpoint, response, "the case says so" if expectation == "reject" else None)
        if problem:
            failures.append(f"{name}: {problem}\n    request: {excerpt(data, 200)}\n    response: {response.text[:300]}")
    assert not failures, f"{endpoint}:\n" + "\n".join(failures)


# ---------------------------------------------------------------------------------------------
# 2. Size and shape extremes
# ---------------------------------------------------------------------------------------------


def minimal(endpoint: str, **extra: Any) -> dict:
    body = copy.deepcopy(bases_for(endpoint)[0])
    body.update(extra)
    return body


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_deep_nesting_is_refused_cleanly(api: httpx.Client, endpoint: str):
    depth = 100_000
    prefix = json.dumps(minimal(endpoint))[:-1].encode()
    bodies = {
        "100k nested arrays in metadata": prefix + b', "metadata": {"x": ' + b"[" * depth + b"]" * depth + b"}}",
        "100k nested objects in a tool schema": prefix + b', "tools": [{"name": "t", "input_schema": ' + b'{"a":' * depth + b"{}" + b"}" * depth + b"}]}",
        "100k nested arrays, never closed": prefix + b', "x": ' + b"[" * depth,
        "100k nested arrays as the body": b"[" * depth + b"]" * depth,
    }
    for name, data in bodies.items():
        response = send(api, "POST", endpoint, data)
        assert not isinstance(response, str), f"{name}: {response}"
        assert 400 <= response.status_code < 500, f"{name}: {response.status_code} {response.text[:300]}"
        assert error_shape_problem(dialect_of(endpoint), response) is None, f"{name}: {response.text[:300]}"
    assert_serves_normally(api)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_body_over_max_body_is_413(api: httpx.Client, endpoint: str):
    data = json.dumps(minimal(endpoint, padding="p" * (21 * 1024 * 1024))).encode()
    response = send(api, "POST", endpoint, data)
    assert not isinstance(response, str), response
    assert response.status_code == 413, f"{response.status_code} {response.text[:300]}"
    assert error_shape_problem(dialect_of(endpoint), response) is None, response.text[:300]


def test_a_chunked_body_over_max_body_is_413(api: httpx.Client):
    """Without content-length the limit still holds while the body streams in."""
    chunk = b" " * (1024 * 1024)
    head = json.dumps(minimal(CLAUDE_MESSAGES))[:-1].encode() + b', "padding": "'

    def body() -> Iterator[bytes]:
        yield head
        for _ in range(22):
            yield b"p" * len(chunk)
        yield b'"}'

    try:
        response = api.post(CLAUDE_MESSAGES, content=body(), headers={"content-type": "application/json"})
    except httpx.HTTPError as error:
        # A server may answer 413 and close before the whole body is sent; the client then sees the close.
        pytest.fail(f"transport error instead of a 413: {error!r}")
    assert response.status_code == 413, f"{response.status_code} {response.text[:300]}"
    assert error_shape_problem("claude", response) is None, response.text[:300]
    assert_serves_normally(api)


def test_huge_header_values_get_a_clean_4xx(env: Env):
    body = json.dumps(minimal(CLAUDE_MESSAGES)).encode()
    cases = {
        "64 KiB x-api-key": {"x-api-key": "k" * 65536},
        "64 KiB bearer token": {"authorization": "Bearer " + "b" * 65536},
        "100 KiB custom header": {"x-api-key": env.api_key, "x-hostile": "h" * 102400},
        "2,000 custom headers": {"x-api-key": env.api_key, **{f"x-hostile-{i}": "v" * 64 for i in range(2000)}},
        "1 MiB x-api-key": {"x-api-key": "k" * (1 << 20)},
    }
    for name, headers in cases.items():
        with httpx.Client(base_url=env.base_url, timeout=CASE_TIMEOUT, trust_env=False) as client:
            response = send(client, "POST", CLAUDE_MESSAGES, body, headers)
        assert not isinstance(response, str), f"{name}: {response}"
        assert 400 <= response.status_code < 500, f"{name}: {response.status_code} {response.text[:300]}"
        if response.headers.get("content-type", "").startswith("application/json"):
            # An answer from the application (the key check) must be in the dialect's shape; the HTTP parser's own
            # refusal of an oversized head may be bare.
            assert error_shape_problem("claude", response) is None, f"{name}: {response.text[:300]}"
        with api_client(env) as client:
            assert_serves_normally(client)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_invalid_utf8_in_a_string_is_400(api: httpx.Client, endpoint: str):
    for junk in INVALID_UTF8:
        data = json.dumps(minimal(endpoint)).encode().replace(b'"hi"', b'"h' + junk + b'i"')
        response = send(api, "POST", endpoint, data)
        assert not isinstance(response, str), response
        assert response.status_code == 400, f"{junk!r}: {response.status_code} {response.text[:300]}"
        assert error_shape_problem(dialect_of(endpoint), response) is None, response.text[:300]


def image_body(endpoint: str, data: str) -> dict:
    if endpoint == OPENAI_CHAT:
        content = [{"type": "image_url", "image_url": {"url": "data:image/png;base64," + data}}, {"type": "text", "text": "What is this?"}]
    else:
        content = [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}}, {"type": "text", "text": "What is this?"}]
    return minimal(endpoint, messages=[{"role": "user", "content": content}])


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_an_enormous_base64_image_is_refused_before_the_upstream(api: httpx.Client, env: Env, endpoint: str):
    before = httpx.get(env.sim_url + "/__sim/state", timeout=5, trust_env=False).json()
    png = base64.b64decode(png_1x1_base64())
    data = base64.b64encode(png + b"\x00" * (11 * 1024 * 1024)).decode()  # ~15 MB of base64, 11 MiB decoded
    assert 14_000_000 < len(data) < 20 * 1024 * 1024
    response = send(api, "POST", endpoint, json.dumps(image_body(endpoint, data)).encode())
    assert not isinstance(response, str), response
    assert response.status_code == 400, f"{response.status_code} {response.text[:300]}"
    assert error_shape_problem(dialect_of(endpoint), response) is None, response.text[:300]
    message = response.json()["error"]["message"]
    assert "10 MiB" in message or "too large" in message.lower() or "larger" in message.lower(), message
    after = httpx.get(env.sim_url + "/__sim/state", timeout=5, trust_env=False).json()
    assert after["totalRequests"] == before["totalRequests"], "the oversized image reached the upstream"
    assert_serves_normally(api)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_a_self_referencing_tool_schema_is_served_or_refused_cleanly(api: httpx.Client, endpoint: str):
    schemas = [
        {"$ref": "#"},
        {"type": "object", "properties": {"self": {"$ref": "#"}, "list": {"type": "array", "items": {"$ref": "#/properties/list"}}}},
        {"$ref": "#/definitions/a", "definitions": {"a": {"$ref": "#/definitions/b"}, "b": {"$ref": "#/definitions/a"}}},
        {"type": "object", "$defs": {"n": {"type": "object", "properties": {"next": {"$ref": "#/$defs/n"}}}}, "properties": {"head": {"$ref": "#/$defs/n"}}},
    ]
    for schema in schemas:
        if endpoint == OPENAI_CHAT:
            tools = [{"type": "function", "function": {"name": "recurse", "description": "cycles", "parameters": schema}}]
        else:
            tools = [{"name": "recurse", "description": "cycles", "input_schema": schema}]
        response = send(api, "POST", endpoint, json.dumps(minimal(endpoint, tools=tools)).encode())
        assert not isinstance(response, str), f"{schema}: {response}"
        problem = check(endpoint, response, None)
        assert problem is None, f"{schema}: {problem}\n{response.text[:300]}"


# ---------------------------------------------------------------------------------------------
# 3. The admin API, on a server of its own
# ---------------------------------------------------------------------------------------------

ADMIN_KEY = "adm-hostile"
ADMIN_API_KEY = "sk-hostile-admin-test"


@pytest.fixture
def admin_server(env: Env, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A simulator that accepts any credentials and a server with an admin key, a YAML account and a state directory."""
    if not env.bin:
        pytest.skip("Q2API_BIN is not set")
    processes: list[subprocess.Popen] = []
    try:
        sim_port = free_port()
        sim_log = tmp_path / "simulate.log"
        with open(sim_log, "wb") as out:
            processes.append(subprocess.Popen([env.bin, "simulate", "--port", str(sim_port)], stdin=subprocess.DEVNULL, stdout=out,
                                              stderr=subprocess.STDOUT))
        sim_url = f"http://127.0.0.1:{sim_port}"
        wait_for_url(sim_url + "/__sim/state", processes[-1], sim_log)
        port = free_port()
        config = tmp_path / "q2api.yaml"
        config.write_text(
            "version: 1\n"
            f"listeners: [{{address: '127.0.0.1:{port}'}}]\n"
            f'api_keys: ["{ADMIN_API_KEY}"]\n'
            f'admin_keys: ["{ADMIN_KEY}"]\n'
            f"upstream: {{endpoint: '{sim_url}/', oidc_endpoint: '{sim_url}'}}\n"
            "state_dir: ./state\n"
            "accounts:\n"
            "  - {id: yaml-main, client_id: c, client_secret: s, refresh_token: r}\n"
        )
        log = tmp_path / "serve.log"
        with open(log, "wb") as out:
            processes.append(subprocess.Popen([env.bin, "serve", "-c", str(config)], stdin=subprocess.DEVNULL, stdout=out,
                                              stderr=subprocess.STDOUT))
        url = f"http://127.0.0.1:{port}"
        wait_for_url(url + "/healthz", processes[-1], log)
        yield url, log
        assert processes[-1].poll() is None, f"the server died:\n{log.read_text(errors='replace')[-5000:]}"
    finally:
        for process in reversed(processes):
            stop_process(process)


def admin_error_problem(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return f"the body is not JSON: {response.content[:200]!r}"
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return "no error object"
    error = body["error"]
    if not isinstance(error.get("type"), str) or not error["type"]:
        return "error.type is not a non-empty string"
    if not isinstance(error.get("message"), str) or not error["message"]:
        return "error.message is not a non-empty string"
    return None


REGION = re.compile(r"^[a-z]+(-[a-z]+){1,2}-\d+$")


def admin_bases(route: str) -> list[dict]:
    if route == "accounts":
        return [
            {"label": "Fuzz", "client_id": "fuzz-client", "client_secret": "fuzz-secret", "refresh_token": "fuzz-refresh"},
            {"id": "fuzz-1", "label": "Fuzz one", "client_id": "c1", "client_secret": "s1", "refresh_token": "r1",
             "profile_arn": "arn:aws:codewhisperer:us-east-1:123456789012:profile/FUZZ", "enabled": False, "weight": 3},
            {},
        ]
    if route == "patch":
        return [{"label": "renamed", "weight": 2, "enabled": True}, {"enabled": False}, {"label": "x"}, {}]
    if route == "auth":
        return [{"label": "Device", "enabled": True, "start_url": "https://view.awsapps.com/start"}, {}, {"label": "x", "enabled": False}]
    return [{}, {"anything": True}]


def admin_case(rng: random.Random, route: str) -> tuple[bytes, str]:
    while True:
        body = copy.deepcopy(rng.choice(admin_bases(route)))
        steps = []
        for _ in range(rng.choice([0, 1, 1, 2])):
            body, step = mutate_structure(rng, body)
            steps.append(step)
        if route in ("accounts", "auth", "patch") and isinstance(body, dict) and rng.random() < 0.3:
            key = rng.choice(["id", "label", "client_id", "client_secret", "refresh_token", "profile_arn", "enabled", "weight", "start_url",
                              "region"])
            body[key] = rng.choice([random_scalar(rng), "../../etc/passwd", ".", "..", "a" * 65, "x/y", "a b", "\u00e9t\u00e9", -1, 0,
                                    2**63, "arn:", "ftp://x", "http://127.0.0.1:1/", "us_east_1", "US-EAST-1"])
            steps.append(f"set {key} = {body[key]!r:.60}")
        # Never aim a device login at a real AWS region, nor at a URL that is not the simulator.
        if isinstance(body, dict) and isinstance(body.get("region"), str) and REGION.match(body["region"].strip()):
            continue
        data = serialize(rng, body)
        if rng.random() < 0.25:
            data, step = mutate_bytes(rng, data)
            steps.append(step)
        if DIRECTIVE in data:
            continue
        return data, "; ".join(steps) or "unchanged"


def test_admin_api_survives_mutated_bodies(admin_server):
    url, log = admin_server
    rng = random.Random(f"{SEED}:admin")
    failures: list[str] = []
    statuses: dict[str, dict[int, int]] = {}
    created: list[str] = []
    with httpx.Client(base_url=url, timeout=CASE_TIMEOUT, trust_env=False, headers={"authorization": f"Bearer {ADMIN_KEY}"}) as admin:

        def run(route: str, method: str, path: str, data: bytes, how: str, allowed: set[int]) -> httpx.Response | None:
            response = send(admin, method, path, data)
            if isinstance(response, str):
                failures.append(f"{method} {path} [{how}]: {response}\n    request: {excerpt(data)}")
                return None
            statuses.setdefault(route, {})
            statuses[route][response.status_code] = statuses[route].get(response.status_code, 0) + 1
            problem = None
            if response.status_code >= 500:
                problem = f"server error {response.status_code}"
            elif 400 <= response.status_code < 500:
                shape = admin_error_problem(response)
                if shape:
                    problem = f"{response.status_code} not in the admin error shape: {shape}"
            elif response.status_code not in allowed:
                problem = f"unexpected status {response.status_code}"
            else:
                try:
                    response.json()
                except ValueError:
                    problem = f"{response.status_code} with a body that is not JSON"
            strict, value = parse_strict(data)
            if problem is None and data and (not strict or not isinstance(value, dict)) and response.status_code < 400:
                problem = f"{response.status_code} for a body that is not a JSON object"
            if problem:
                failures.append(f"{method} {path} [{how}]: {problem}\n    request: {excerpt(data)}\n    response: {response.text[:300]}")
            return response

        for index in range(ADMIN_CASES_PER_ROUTE):
            data, how = admin_case(rng, "accounts")
            response = run("POST /v2/accounts", "POST", "/v2/accounts", data, how, {201})
            if response is not None and response.status_code == 201:
                created.append(response.json()["id"])

        real = ["yaml-main"] + created[:3]
        odd = ["no-such-account", "%2e%2e", "a%2Fb", "x" * 300, "%00", "%ff%fe", "caf%C3%A9", "%20", "fuzz%0d%0aX-Injected:%201"]
        for index in range(ADMIN_CASES_PER_ROUTE):
            data, how = admin_case(rng, "patch")
            target = rng.choice(real) if rng.random() < 0.65 else rng.choice(odd)
            run("PATCH /v2/accounts/{id}", "PATCH", f"/v2/accounts/{target}", data, f"id {target[:40]}; {how}", {200})

        for index in range(ADMIN_CASES_PER_ROUTE):
            data, how = admin_case(rng, "auth")
            run("POST /v2/auth/start", "POST", "/v2/auth/start", data, how, {200})

        for index in range(ADMIN_CASES_PER_ROUTE // 3):
            data, how = admin_case(rng, "reload")
            response = send(admin, "POST", "/v2/reload", data)
            # A reload takes no body: any body gets the reload (200) or a clean refusal.
            if isinstance(response, str) or response.status_code >= 500 or (
                    response.status_code >= 400 and admin_error_problem(response)):
                failures.append(f"POST /v2/reload [{how}]: {response if isinstance(response, str) else response.text[:300]}")

        # A body over the admin API's 1 MiB limit, and the guard itself.
        big = json.dumps({"label": "x" * (2 * 1024 * 1024), "client_id": "c", "client_secret": "s", "refresh_token": "r"}).encode()
        run("big", "POST", "/v2/accounts", big, "2 MiB body", set())
        for headers in [{}, {"authorization": "Bearer wrong"}, {"x-admin-key": "k" * 65536}, {"x-api-key": ADMIN_API_KEY}]:
            with httpx.Client(base_url=url, timeout=CASE_TIMEOUT, trust_env=False) as other:
                response = send(other, "POST", "/v2/accounts", b"{}", headers)
            if isinstance(response, str) or response.status_code not in (401, 403) or admin_error_problem(response):
                failures.append(f"POST /v2/accounts with {list(headers)[:1]}: expected a 401/403 in the admin shape, got "
                                f"{response if isinstance(response, str) else (response.status_code, response.text[:300])}")

        # The fuzz may have disabled every account; the closing request needs one.
        enable = admin.post("/v2/accounts/yaml-main/enable")
        assert enable.status_code == 200, enable.text
        listing = admin.get("/v2/accounts")
        assert listing.status_code == 200, listing.text
        health = httpx.get(url + "/healthz", timeout=5, trust_env=False)
        assert health.status_code == 200
    reply = httpx.post(url + "/v1/messages", headers={"x-api-key": ADMIN_API_KEY}, timeout=CASE_TIMEOUT, trust_env=False,
                       json={"model": MODEL, "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]})
    assert not failures, f"{len(failures)} admin cases broke a property (statuses {statuses}):\n" + "\n".join(failures)
    assert reply.status_code == 200, reply.text
    assert statuses["POST /v2/accounts"].get(201, 0) > 0, statuses
    assert statuses["POST /v2/auth/start"].get(200, 0) > 0, statuses


# ---------------------------------------------------------------------------------------------
# 4. Afterwards
# ---------------------------------------------------------------------------------------------


def test_the_shared_server_still_serves_after_all_of_it(api: httpx.Client, env: Env):
    assert_serves_normally(api)
    health = httpx.get(env.base_url + "/healthz", timeout=5, trust_env=False)
    assert health.status_code == 200
    stream = api.post(CLAUDE_MESSAGES, json={"model": MODEL, "max_tokens": 16, "stream": True, "messages": [{"role": "user", "content": "hi"}]})
    assert stream.status_code == 200
    assert normal_reply_problem(CLAUDE_MESSAGES, stream) is None
