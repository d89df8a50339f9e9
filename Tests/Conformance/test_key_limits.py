"""API keys as objects (issue 18): per-key limits, model allowlists and disabled keys, as the official SDKs see them.

Each test runs its own `q2api simulate` and `q2api serve` (the `spawn` fixture), with keys written as objects:

- requests_per_minute: the request over the limit is a 429 `RateLimitError` with `retry-after` and a message naming
  the key and the limit, in the Anthropic and the OpenAI SDK;
- concurrent_streams: while one stream is held open the next is refused; once it ended the next is admitted;
- models: a model outside the key's list is a 403 `PermissionDeniedError`; `/v1/models` lists only the key's models;
- enabled: false: a 401 `AuthenticationError` "API key is disabled";
- a SIGHUP reload that raises one key's limit applies to the next request, and another key's counter is not reset;
- tokens_per_day survives a restart (the usage files seed the count).
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from conftest import MODEL, Spawned, Spawner, user

INTERN = "sk-intern-0123456789"
STREAMER = "sk-streamer-0123456789"
FORMER = "sk-former-0123456789"
OTHER = "sk-other-0123456789"


def keys_yaml(intern_rpm: int = 2, other_rpm: int = 2, tokens_per_day: int | None = None) -> str:
    intern_limits = f"requests_per_minute: {intern_rpm}" + (f", tokens_per_day: {tokens_per_day}" if tokens_per_day else "")
    return (
        "api_keys:\n"
        "  - name: intern\n"
        f"    key: {INTERN}\n"
        "    models: [claude-sonnet-4.5]\n"
        f"    limits: {{{intern_limits}}}\n"
        "  - name: streamer\n"
        f"    key: {STREAMER}\n"
        "    limits: {concurrent_streams: 1}\n"
        "  - name: former\n"
        f"    key: {FORMER}\n"
        "    enabled: false\n"
        "  - name: other\n"
        f"    key: {OTHER}\n"
        f"    limits: {{requests_per_minute: {other_rpm}}}\n"
    )


def config(sim: Spawned, state_dir: Path, keys: str):
    def render(port: int) -> str:
        return (
            "version: 1\n"
            f"listeners: [{{address: '127.0.0.1:{port}'}}]\n"
            + keys
            + f"upstream: {{endpoint: '{sim.url}/', oidc_endpoint: '{sim.url}'}}\n"
            f"state_dir: {state_dir}\n"
            "accounts:\n"
            "  - {id: main, client_id: c, client_secret: s, refresh_token: r}\n"
            "log: {level: info}\n"
        )

    return render


def claude(server: Spawned, key: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=server.url, api_key=key, max_retries=0, timeout=30)


def chat(server: Spawned, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0, timeout=30)


def ask(server: Spawned, key: str, model: str = MODEL) -> None:
    claude(server, key).messages.create(model=model, max_tokens=64, messages=user("hi"))


def generation(server: Spawned) -> int:
    return httpx.get(server.url + "/healthz", timeout=5, trust_env=False).json()["config"]["generation"]


def held_streams(sim: Spawned) -> int:
    return httpx.get(sim.url + "/__sim/state", timeout=5, trust_env=False).json()["heldStreams"]


def wait_until(condition, what: str, timeout: float = 10) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting until {what}")
        time.sleep(0.05)


@pytest.fixture
def stack(spawn: Spawner, tmp_path: Path):
    sim = spawn.simulator()
    server = spawn.server(config(sim, tmp_path / "state", keys_yaml()))
    return sim, server


def test_requests_per_minute_is_a_429_with_retry_after_in_both_sdks(stack) -> None:
    _, server = stack
    ask(server, INTERN)
    chat(server, INTERN).chat.completions.create(model="claude-sonnet-4.5", messages=user("hi"))

    with pytest.raises(anthropic.RateLimitError) as refused:
        ask(server, INTERN)
    assert "API key 'intern' is over its limit of 2 requests per minute; try again in " in refused.value.message
    # Whole seconds, rounded up, so that the window is never shorter than 60 s: up to 61.
    assert 1 <= int(refused.value.response.headers["retry-after"]) <= 61
    assert refused.value.body["error"]["type"] == "rate_limit_error"

    with pytest.raises(openai.RateLimitError) as openai_refused:
        chat(server, INTERN).chat.completions.create(model="claude-sonnet-4.5", messages=user("hi"))
    assert "API key 'intern' is over its limit of 2 requests per minute" in openai_refused.value.message
    assert openai_refused.value.response.headers.get("retry-after")

    # Other keys are not affected, and the refusals are counted by key and limit (the name, never the key).
    ask(server, OTHER)
    metrics = httpx.get(server.url + "/metrics", timeout=5, trust_env=False).text
    assert 'q2api_key_limit_rejections_total{key="intern",limit="requests_per_minute"} 2' in metrics
    assert INTERN not in metrics


def test_concurrent_streams_refuses_the_second_until_the_first_ended(stack) -> None:
    sim, server = stack
    client = claude(server, STREAMER)
    result: dict = {}

    def held() -> None:
        with client.messages.stream(model=MODEL, max_tokens=64, messages=user("wait [[sim:hold]]")) as stream:
            result["text"] = stream.get_final_text()

    thread = threading.Thread(target=held)
    thread.start()
    try:
        wait_until(lambda: held_streams(sim) >= 1, "the first stream is held")
        with pytest.raises(anthropic.RateLimitError) as refused:
            with client.messages.stream(model=MODEL, max_tokens=64, messages=user("second")) as stream:
                stream.get_final_text()
        assert "API key 'streamer' is over its limit of 1 concurrent stream" in refused.value.message
    finally:
        httpx.post(sim.url + "/__sim/release", timeout=5, trust_env=False)
        thread.join(timeout=15)
    assert "released" in result.get("text", "")

    # The first stream's permit is freed when its last byte is out, which is just before the client reads it.
    def admitted() -> bool:
        try:
            with client.messages.stream(model=MODEL, max_tokens=64, messages=user("third")) as stream:
                return bool(stream.get_final_text())
        except anthropic.RateLimitError:
            return False

    wait_until(admitted, "the next stream is admitted", timeout=5)


def test_a_model_outside_the_allowlist_is_a_403_and_models_lists_only_the_keys(stack) -> None:
    _, server = stack
    with pytest.raises(anthropic.PermissionDeniedError) as refused:
        ask(server, INTERN, model="claude-opus-4.5")
    assert refused.value.body["error"]["message"] == "API key 'intern' may not use the model claude-opus-4.5; it may use claude-sonnet-4.5"
    assert refused.value.body["error"]["type"] == "permission_error"

    with pytest.raises(openai.PermissionDeniedError):
        chat(server, INTERN).chat.completions.create(model="claude-opus-4.5", messages=user("hi"))

    # An alias of the same model and its -thinking variant are the same model: allowed.
    chat(server, INTERN).chat.completions.create(model="claude-sonnet-4.5-thinking", messages=user("hi"))

    assert [model.id for model in chat(server, INTERN).models.list()] == ["claude-sonnet-4.5"]
    assert [model.id for model in claude(server, INTERN).models.list()] == ["claude-sonnet-4.5"]
    assert len(list(chat(server, OTHER).models.list())) > 1


def test_a_disabled_key_is_a_401(stack) -> None:
    _, server = stack
    with pytest.raises(anthropic.AuthenticationError) as refused:
        ask(server, FORMER)
    assert refused.value.body["error"]["message"] == "API key is disabled"
    with pytest.raises(openai.AuthenticationError) as openai_refused:
        chat(server, FORMER).chat.completions.create(model="claude-sonnet-4.5", messages=user("hi"))
    assert openai_refused.value.body["message"] == "API key is disabled"


def test_a_sighup_reload_raising_a_limit_applies_at_once_and_keeps_other_counters(spawn: Spawner, tmp_path: Path) -> None:
    sim = spawn.simulator()
    server = spawn.server(config(sim, tmp_path / "state", keys_yaml(intern_rpm=1, other_rpm=1)))
    ask(server, INTERN)
    ask(server, OTHER)
    with pytest.raises(anthropic.RateLimitError):
        ask(server, INTERN)

    # The file the server was started with: raise intern's limit only, then SIGHUP.
    path = next(tmp_path.glob(f"serve-{server.port}.yaml"))
    path.write_text(config(sim, tmp_path / "state", keys_yaml(intern_rpm=3, other_rpm=1))(server.port))
    before = generation(server)
    server.process.send_signal(signal.SIGHUP)
    wait_until(lambda: generation(server) > before, "the reload is applied")

    ask(server, INTERN)  # the second request of the minute: admitted under the new limit of 3
    # `other` keeps its count: its second request of the minute is still over its limit of 1.
    with pytest.raises(anthropic.RateLimitError) as refused:
        ask(server, OTHER)
    assert "API key 'other' is over its limit of 1 request per minute" in refused.value.message


def test_tokens_per_day_survives_a_restart(spawn: Spawner, tmp_path: Path) -> None:
    sim = spawn.simulator()
    state = tmp_path / "state"
    render = config(sim, state, keys_yaml(intern_rpm=100, tokens_per_day=1))
    server = spawn.server(render)
    ask(server, INTERN)  # admitted: no tokens used yet today; its tokens are counted when it ends
    with pytest.raises(anthropic.RateLimitError) as refused:
        ask(server, INTERN)
    assert "API key 'intern' is over its limit of 1 token per day (UTC)" in refused.value.message
    assert int(refused.value.response.headers["retry-after"]) <= 86_400

    # A graceful stop flushes the usage files; the next server seeds today's tokens from them.
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=15) == 0
    assert any((state / "usage").glob("*.jsonl")), "the stopped server left its usage files in state_dir/usage"
    restarted = spawn.server(render, name="restarted")
    with pytest.raises(anthropic.RateLimitError) as after:
        ask(restarted, INTERN)
    assert "over its limit of 1 token per day" in after.value.message
