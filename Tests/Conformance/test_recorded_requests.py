"""Replays every request the real clients were recorded sending (fixtures/clients/, written by
scripts/record-clients) against q2api, byte for byte but for the API key: each must be served (2xx) with a
well-formed reply, streamed or not, and never a 4xx or 5xx. A new client version is re-recorded and its
requests land here as a git diff.
"""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError
from pathlib import Path
from typing import Iterator

import httpx
import pytest

import client_scenarios
from client_hop import fixture_request_headers
from conftest import Env, parse_sse

FIXTURES = Path(__file__).parent / "fixtures" / "clients"


def fixture_files() -> list[Path]:
    return sorted(FIXTURES.glob("*.json"))


def replayed_requests() -> list:
    params = []
    for path in fixture_files():
        fixture = json.loads(path.read_text())
        for index, entry in enumerate(fixture["requests"]):
            params.append(pytest.param(entry, id=f"{path.stem}-{index:02d}-{entry['scenario']}"))
    return params


@pytest.fixture(scope="module")
def http(env: Env) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=env.base_url, timeout=120, trust_env=False) as client:
        yield client


def test_fixtures_are_there_and_well_formed() -> None:
    files = fixture_files()
    assert files, f"no fixtures in {FIXTURES}: run scripts/record-clients"
    for path in files:
        fixture = json.loads(path.read_text())
        assert path.name == f"{fixture['client']}-{fixture['version']}.json", path
        assert fixture["requests"], f"{path.name} holds no request"
        for entry in fixture["requests"]:
            assert {"scenario", "method", "path", "headers"} <= set(entry), entry.keys()
            assert "<api-key>" in json.dumps(entry["headers"]) or entry["path"] == "/healthz", f"{path.name}: a request without the key placeholder"


@pytest.mark.parametrize("client", list(client_scenarios.recorded_scenarios()))
def test_a_fixture_for_each_installed_client_version(client: str) -> None:
    try:
        version = client_scenarios.client_version(client)
    except (FileNotFoundError, ModuleNotFoundError, PackageNotFoundError) as error:
        pytest.fail(f"{client} is not installed ({error}); scripts/install-clients installs it")
    expected = FIXTURES / f"{client}-{version}.json"
    recorded = sorted(p.name for p in FIXTURES.glob(f"{client}-*.json"))
    assert expected.exists(), (
        f"{client} {version} is installed but the fixtures hold {recorded}: run scripts/record-clients --clients {client} and commit the diff"
    )


def _assert_well_formed(entry: dict, response: httpx.Response) -> None:
    path = entry["path"].split("?")[0]
    body = entry.get("body") if isinstance(entry.get("body"), dict) else {}
    text = response.text
    streamed = bool(body.get("stream"))
    if path == "/v1/messages" and streamed:
        assert response.headers["content-type"].startswith("text/event-stream"), response.headers
        events = parse_sse(text)
        names = [name for name, _ in events]
        assert "error" not in names, text[:2000]
        for _, data in events:
            json.loads(data)
        assert names and names[0] == "message_start" and names[-1] == "message_stop", names
        assert names.count("message_delta") == 1, names
        stop = [json.loads(data) for name, data in events if name == "message_delta"][0]["delta"]["stop_reason"]
        assert stop in ("end_turn", "tool_use", "max_tokens", "stop_sequence", "pause_turn", "refusal"), stop
    elif path == "/v1/messages":
        message = response.json()
        assert message["type"] == "message" and message["role"] == "assistant", message
        assert isinstance(message["content"], list) and message["content"], message
        assert message["stop_reason"], message
    elif path == "/v1/chat/completions" and streamed:
        assert response.headers["content-type"].startswith("text/event-stream"), response.headers
        data = [d for _, d in parse_sse(text)]
        assert data and data[-1] == "[DONE]", text[-2000:]
        chunks = [json.loads(d) for d in data[:-1]]
        assert chunks and all(c.get("object") == "chat.completion.chunk" for c in chunks), text[:2000]
        finishes = [ch["finish_reason"] for c in chunks for ch in c.get("choices", []) if ch.get("finish_reason")]
        assert finishes and finishes[-1] in ("stop", "tool_calls", "length"), finishes
    elif path == "/v1/chat/completions":
        completion = response.json()
        assert completion["object"] == "chat.completion" and completion["choices"], completion
        assert completion["choices"][0]["finish_reason"] in ("stop", "tool_calls", "length"), completion
    elif path == "/v1/messages/count_tokens":
        assert isinstance(response.json()["input_tokens"], int), text
    elif text:
        if "json" in response.headers.get("content-type", ""):
            response.json()


@pytest.mark.parametrize("entry", replayed_requests())
def test_recorded_request_is_served(http: httpx.Client, env: Env, entry: dict) -> None:
    headers = fixture_request_headers(entry, env.api_key)
    if "body" in entry:
        content = json.dumps(entry["body"], ensure_ascii=False).encode()
    elif "body_text" in entry:
        content = entry["body_text"].encode()
    else:
        content = None
    response = http.request(entry["method"], entry["path"], headers=headers, content=content)
    assert 200 <= response.status_code < 300, (
        f"{entry['method']} {entry['path']} ({entry['scenario']}) answered {response.status_code}: {response.text[:2000]}"
    )
    _assert_well_formed(entry, response)
