"""The real clients' scenarios, shared by Tests/Conformance/test_real_clients.py (which asserts on what each
client got back) and scripts/record-clients (which records what each client sent, through a logging hop).

Each scenario drives the real client program or library against a base URL (q2api, or the hop in front of it)
and returns what the client saw. The simulator's side is scripted with `[[sim:...]]` markers in the prompt
(Sources/QSimulator/ReplyBuilder.swift): `text:` is the exact reply text, `tool:NAME:{json}` a tool call; a
request whose last turn is a tool result and has no marker is answered with "Tool results received: <the
result text>", which proves the tool result reached the model.

The clients are installed by scripts/install-clients: litellm, langchain-anthropic, openai-agents and
claude-agent-sdk (the Claude Code CLI) in the suite's venv, aider-chat in .venv-aider.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]
AIDER_VENV = Path(os.environ.get("Q2API_AIDER_VENV") or ROOT / ".venv-aider")

MODEL = "claude-sonnet-4-5"
TOOL_ARGS = {"city": "Paris"}
TOOL_MARKER = '[[sim:tool:get_weather:{"city":"Paris"}]]'
TOOL_RESULT = "Sunny, 21 degrees in Paris"
TOOL_RESULT_REPLY = "Tool results received: " + TOOL_RESULT  # the simulator's answer to a tool-result turn
OPENAI_WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"],
        },
    },
}
STRUCTURED = {"city": "Paris", "temperature": 21}

# No client may reach the internet at run time: litellm would fetch its model price list (and retry for
# seconds), the Agents SDK would export traces.
QUIET_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",
    "LITELLM_OFFLINE_MODE": "true",
    "HF_HUB_OFFLINE": "1",
    "LITELLM_TELEMETRY": "False",
    "OPENAI_AGENTS_DISABLE_TRACING": "1",
    "DISABLE_TELEMETRY": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DO_NOT_TRACK": "1",
}
for _name, _value in QUIET_ENV.items():
    os.environ.setdefault(_name, _value)

TIMEOUT = 60.0


def client_version(name: str) -> str:
    """The installed version of a client package (aider-chat is read from its own venv)."""
    if name == "aider-chat":
        python = AIDER_VENV / "bin" / "python"
        if not python.exists():
            raise FileNotFoundError(f"no {python}: run scripts/install-clients")
        return subprocess.run(
            [str(python), "-c", "from importlib.metadata import version; print(version('aider-chat'))"],
            check=True, capture_output=True, text=True,
        ).stdout.strip()
    if name == "claude-code":
        out = subprocess.run([str(claude_binary()), "--version"], check=True, capture_output=True, text=True, timeout=60).stdout
        match = re.search(r"\d+\.\d+\.\d+", out)
        assert match, f"claude --version printed {out!r}"
        return match.group(0)
    try:
        return version(name)
    except PackageNotFoundError:
        raise ModuleNotFoundError(f"{name} is not installed: run scripts/install-clients") from None


def base_env(home: Path) -> dict[str, str]:
    """A minimal environment for a client process: a throw-away HOME, no proxy, no keys from the shell."""
    return {
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "NO_COLOR": "1",
        **QUIET_ENV,
    }


# ---------------------------------------------------------------------------------------------
# aider-chat (a subprocess from .venv-aider; litellm inside it)
# ---------------------------------------------------------------------------------------------

AIDER_FILE = "notes.txt"
AIDER_ORIGINAL = "colour = red\nsize = small\n"


@dataclasses.dataclass
class AiderRun:
    route: str  # "anthropic" or "openai"
    stream: bool
    project: Path
    process: subprocess.Popen
    log: Path

    @property
    def label(self) -> str:
        return f"{self.route}-{'stream' if self.stream else 'no-stream'}"

    @property
    def expected(self) -> str:
        return AIDER_ORIGINAL.replace("colour = red", f"colour = {self.label}")

    def wait(self, timeout: float = 120) -> tuple[int, str, str]:
        """Waits for aider; returns its exit code, its output and the edited file's text."""
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.process.returncode, self.log.read_text(errors="replace"), (self.project / AIDER_FILE).read_text()


def aider_prompt(label: str) -> str:
    """A request whose scripted reply is a SEARCH/REPLACE block that aider applies to notes.txt."""
    block = f"{AIDER_FILE}\n```\n<<<<<<< SEARCH\ncolour = red\n=======\ncolour = {label}\n>>>>>>> REPLACE\n```\n"
    return f"In {AIDER_FILE}, set the colour to {label}. [[sim:text:{block}]]"


def start_aider(route: str, stream: bool, base_url: str, api_key: str, scratch: Path) -> AiderRun:
    """Starts aider non-interactively in a scratch project with notes.txt; returns at once."""
    aider = AIDER_VENV / "bin" / "aider"
    if not aider.exists():
        raise FileNotFoundError(f"no {aider}: run scripts/install-clients")
    run_dir = scratch / f"aider-{route}-{'stream' if stream else 'no-stream'}"
    home, project = run_dir / "home", run_dir / "project"
    # aider fetches litellm's model price list into ~/.aider/caches once a day unless a fresh, non-empty cache file
    # is there; this one has no model in it, so aider falls back to litellm's bundled list, offline.
    (home / ".aider" / "caches").mkdir(parents=True)
    (home / ".aider" / "caches" / "model_prices_and_context_window.json").write_text('{"q2api-offline": {}}')
    project.mkdir(parents=True)
    (project / AIDER_FILE).write_text(AIDER_ORIGINAL)
    env = base_env(home)
    env["PATH"] = os.pathsep.join([str(AIDER_VENV / "bin"), "/usr/bin", "/bin"])
    if route == "anthropic":
        env.update(ANTHROPIC_API_KEY=api_key, ANTHROPIC_API_BASE=base_url)
        model = f"anthropic/{MODEL}"
    elif route == "openai":
        env.update(OPENAI_API_KEY=api_key, OPENAI_API_BASE=base_url + "/v1")
        model = f"openai/{MODEL}"
    else:
        raise ValueError(route)
    label = f"{route}-{'stream' if stream else 'no-stream'}"
    argv = [
        str(aider), "--model", model, "--edit-format", "diff",
        "--message", aider_prompt(label),
        "--yes-always", "--no-git", "--no-auto-commits", "--no-check-update", "--no-show-model-warnings",
        "--analytics-disable", "--no-show-release-notes", "--no-pretty", "--no-fancy-input", "--no-auto-lint",
        "--no-detect-urls", "--no-suggest-shell-commands", "--map-tokens", "0", "--timeout", "60",
        "--stream" if stream else "--no-stream",
        AIDER_FILE,
    ]  # fmt: skip
    log = run_dir / "aider.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, cwd=project, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    return AiderRun(route, stream, project, process, log)


AIDER_SCENARIOS = [("anthropic", True), ("anthropic", False), ("openai", True), ("openai", False)]


# ---------------------------------------------------------------------------------------------
# litellm (in process)
# ---------------------------------------------------------------------------------------------


def _litellm_route(route: str, base_url: str, api_key: str) -> dict[str, Any]:
    if route == "anthropic":
        return {"model": f"anthropic/{MODEL}", "api_base": base_url, "api_key": api_key}
    if route == "openai":
        return {"model": f"openai/{MODEL}", "api_base": base_url + "/v1", "api_key": api_key}
    raise ValueError(route)


def _litellm():
    import litellm

    litellm.telemetry = False
    litellm.num_retries = 0
    return litellm


def litellm_text(route: str, base_url: str, api_key: str, stream: bool, text: str) -> dict[str, Any]:
    litellm = _litellm()
    kwargs = _litellm_route(route, base_url, api_key)
    messages = [{"role": "user", "content": f"Say something. [[sim:text:{text}]]"}]
    if stream:
        chunks = list(litellm.completion(messages=messages, max_tokens=256, stream=True, timeout=TIMEOUT, **kwargs))
        response = litellm.stream_chunk_builder(chunks, messages=messages)
        return {"text": response.choices[0].message.content, "finish_reason": response.choices[0].finish_reason, "chunks": len(chunks)}
    response = litellm.completion(messages=messages, max_tokens=256, timeout=TIMEOUT, **kwargs)
    return {"text": response.choices[0].message.content, "finish_reason": response.choices[0].finish_reason, "usage": response.usage}


def litellm_tool_round_trip(route: str, base_url: str, api_key: str, stream: bool) -> dict[str, Any]:
    """A tool call (streamed or not), then the tool-result turn with the call and its result."""
    litellm = _litellm()
    kwargs = _litellm_route(route, base_url, api_key)
    messages: list[dict[str, Any]] = [{"role": "user", "content": f"What is the weather in Paris? {TOOL_MARKER}"}]
    if stream:
        chunks = list(litellm.completion(messages=messages, tools=[OPENAI_WEATHER_TOOL], max_tokens=256, stream=True, timeout=TIMEOUT, **kwargs))
        response = litellm.stream_chunk_builder(chunks, messages=messages)
    else:
        response = litellm.completion(messages=messages, tools=[OPENAI_WEATHER_TOOL], max_tokens=256, timeout=TIMEOUT, **kwargs)
    choice = response.choices[0]
    calls = [
        {"id": call.id, "name": call.function.name, "arguments": json.loads(call.function.arguments or "{}")}
        for call in choice.message.tool_calls or []
    ]
    observed: dict[str, Any] = {"finish_reason": choice.finish_reason, "tool_calls": calls, "text": choice.message.content}
    if not calls:
        return observed
    messages.append(
        {
            "role": "assistant",
            "content": choice.message.content,
            "tool_calls": [
                {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])}}
                for c in calls
            ],
        }
    )
    messages += [{"role": "tool", "tool_call_id": c["id"], "content": TOOL_RESULT} for c in calls]
    final = litellm.completion(messages=messages, tools=[OPENAI_WEATHER_TOOL], max_tokens=256, timeout=TIMEOUT, **kwargs)
    observed["final_text"] = final.choices[0].message.content
    observed["final_finish_reason"] = final.choices[0].finish_reason
    return observed


def litellm_response_format(base_url: str, api_key: str) -> dict[str, Any]:
    """`response_format` json_schema on the Anthropic route (litellm sends output_format + its beta)."""
    litellm = _litellm()
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "temperature": {"type": "integer"}},
        "required": ["city", "temperature"],
        "additionalProperties": False,
    }
    response = litellm.completion(
        messages=[{"role": "user", "content": f"Weather as JSON. [[sim:text:{json.dumps(STRUCTURED)}]]"}],
        response_format={"type": "json_schema", "json_schema": {"name": "weather", "schema": schema, "strict": True}},
        max_tokens=256,
        timeout=TIMEOUT,
        **_litellm_route("anthropic", base_url, api_key),
    )
    return {"text": response.choices[0].message.content}


# ---------------------------------------------------------------------------------------------
# langchain-anthropic (in process)
# ---------------------------------------------------------------------------------------------


def _chat_anthropic(base_url: str, api_key: str):
    from langchain_anthropic import ChatAnthropic

    return ChatAnthropic(model=MODEL, base_url=base_url, api_key=api_key, max_retries=0, timeout=TIMEOUT, max_tokens=1024)


def _langchain_weather_tool():
    from langchain_core.tools import tool

    @tool
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        return TOOL_RESULT

    return get_weather


def langchain_bind_tools_stream(base_url: str, api_key: str) -> dict[str, Any]:
    """`bind_tools(...).stream(...)`: the tool call assembled from the chunks, then the ToolMessage turn."""
    from langchain_core.messages import HumanMessage, ToolMessage

    weather = _langchain_weather_tool()
    bound = _chat_anthropic(base_url, api_key).bind_tools([weather])
    question = HumanMessage(f"What is the weather in Paris? {TOOL_MARKER}")
    gathered = None
    chunks = 0
    for chunk in bound.stream([question]):
        chunks += 1
        gathered = chunk if gathered is None else gathered + chunk
    assert gathered is not None, "the stream produced no chunk"
    calls = [{"id": c["id"], "name": c["name"], "args": c["args"]} for c in gathered.tool_calls]
    observed: dict[str, Any] = {"chunks": chunks, "tool_calls": calls, "stop_reason": gathered.response_metadata.get("stop_reason")}
    if calls:
        results = [ToolMessage(content=weather.invoke(c["args"]), tool_call_id=c["id"]) for c in calls]
        final = bound.invoke([question, gathered, *results])
        observed["final_text"] = final.text if isinstance(final.text, str) else final.text()
    return observed


def langchain_structured_output(base_url: str, api_key: str, method: str) -> Any:
    """`with_structured_output(Weather)`: forced tool use (function_calling) or native output_format (json_schema)."""
    from pydantic import BaseModel

    class Weather(BaseModel):
        """The weather in a city."""

        city: str
        temperature: int

    llm = _chat_anthropic(base_url, api_key).with_structured_output(Weather, method=method)
    if method == "function_calling":
        marker = f"[[sim:tool:Weather:{json.dumps(STRUCTURED)}]]"
    else:
        marker = f"[[sim:text:{json.dumps(STRUCTURED)}]]"
    result = llm.invoke(f"What is the weather in Paris? {marker}")
    return result.model_dump() if isinstance(result, BaseModel) else result


# ---------------------------------------------------------------------------------------------
# openai-agents with OpenAIChatCompletionsModel (in process)
# ---------------------------------------------------------------------------------------------


def agents_function_tool(base_url: str, api_key: str, stream: bool) -> dict[str, Any]:
    """An Agent with one function tool on the Chat Completions model: the tool runs with the model's
    arguments, its result goes back, and the final answer is the simulator's reply to it."""
    from agents import Agent, OpenAIChatCompletionsModel, Runner, function_tool, set_tracing_disabled
    from openai import AsyncOpenAI

    set_tracing_disabled(True)
    calls: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        calls.append(city)
        return TOOL_RESULT

    async def run() -> dict[str, Any]:
        client = AsyncOpenAI(base_url=base_url + "/v1", api_key=api_key, max_retries=0, timeout=TIMEOUT)
        try:
            agent = Agent(
                name="weather",
                instructions="Answer weather questions with the get_weather tool.",
                tools=[get_weather],
                model=OpenAIChatCompletionsModel(model=MODEL, openai_client=client),
            )
            prompt = f"What is the weather in Paris? {TOOL_MARKER}"
            if stream:
                result = Runner.run_streamed(agent, prompt)
                events = [event.type async for event in result.stream_events()]
            else:
                result = await Runner.run(agent, prompt)
                events = []
            return {"calls": calls, "final_output": result.final_output, "model_responses": len(result.raw_responses), "events": events}
        finally:
            await client.close()

    return asyncio.run(run())


# ---------------------------------------------------------------------------------------------
# Claude Code (the CLI bundled in claude-agent-sdk), for recording
# ---------------------------------------------------------------------------------------------


def claude_binary() -> Path:
    override = os.environ.get("Q2API_CLAUDE_BIN")
    if override:
        return Path(override)
    try:
        import claude_agent_sdk
    except ImportError:
        raise ModuleNotFoundError("claude-agent-sdk is not installed: run scripts/install-clients") from None
    path = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
    if not path.exists():
        raise FileNotFoundError(f"claude-agent-sdk has no bundled CLI at {path}")
    return path


def claude_code(base_url: str, api_key: str, scratch: Path, prompt: str, allowed_tools: str | None = None) -> dict[str, Any]:
    """`claude -p PROMPT --output-format json` in a scratch project with a throw-away HOME."""
    home, project = scratch / "home", scratch / "project"
    home.mkdir(parents=True, exist_ok=True)
    project.mkdir(parents=True, exist_ok=True)
    env = base_env(home)
    env.update(ANTHROPIC_BASE_URL=base_url, ANTHROPIC_API_KEY=api_key)
    argv = [str(claude_binary()), "-p", prompt, "--output-format", "json"]
    if allowed_tools:
        argv += ["--allowedTools", allowed_tools]
    done = subprocess.run(argv, cwd=project, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180)
    try:
        result = json.loads(done.stdout)
    except ValueError:
        result = {"unparsed_stdout": done.stdout[-2000:]}
    result["exit_code"] = done.returncode
    result["stderr_tail"] = done.stderr[-2000:]
    return result


def scratch_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# The recorded scenarios, client by client: (scenario name, callable(base_url, api_key, scratch) -> observation).
# scripts/record-clients runs them through the hop; test_real_clients.py asserts on the same calls.
Scenario = tuple[str, Callable[[str, str, Path], Any]]


def recorded_scenarios() -> dict[str, list[Scenario]]:
    def aider(route: str, stream: bool) -> Callable[[str, str, Path], Any]:
        def run(base_url: str, api_key: str, scratch: Path) -> Any:
            return start_aider(route, stream, base_url, api_key, scratch).wait()

        return run

    return {
        "aider-chat": [(f"{route}-{'stream' if stream else 'no-stream'}", aider(route, stream)) for route, stream in AIDER_SCENARIOS],
        "litellm": [
            ("anthropic-text", lambda b, k, s: litellm_text("anthropic", b, k, False, "Hello from litellm")),
            ("anthropic-text-stream", lambda b, k, s: litellm_text("anthropic", b, k, True, "Hello from litellm")),
            ("anthropic-tools", lambda b, k, s: litellm_tool_round_trip("anthropic", b, k, False)),
            ("anthropic-tools-stream", lambda b, k, s: litellm_tool_round_trip("anthropic", b, k, True)),
            ("anthropic-response-format", lambda b, k, s: litellm_response_format(b, k)),
            ("openai-text", lambda b, k, s: litellm_text("openai", b, k, False, "Hello from litellm")),
            ("openai-text-stream", lambda b, k, s: litellm_text("openai", b, k, True, "Hello from litellm")),
            ("openai-tools", lambda b, k, s: litellm_tool_round_trip("openai", b, k, False)),
            ("openai-tools-stream", lambda b, k, s: litellm_tool_round_trip("openai", b, k, True)),
        ],
        "langchain-anthropic": [
            ("bind-tools-stream", lambda b, k, s: langchain_bind_tools_stream(b, k)),
            ("structured-output-function-calling", lambda b, k, s: langchain_structured_output(b, k, "function_calling")),
            ("structured-output-json-schema", lambda b, k, s: langchain_structured_output(b, k, "json_schema")),
        ],
        "openai-agents": [
            ("function-tool", lambda b, k, s: agents_function_tool(b, k, False)),
            ("function-tool-stream", lambda b, k, s: agents_function_tool(b, k, True)),
        ],
        "claude-code": [
            ("hi", lambda b, k, s: claude_code(b, k, s, "hi")),
            (
                "bash-tool",
                lambda b, k, s: claude_code(
                    b, k, s, 'Run the echo. [[sim:tool:Bash:{"command":"echo recorded","description":"Print a word"}]]', "Bash"
                ),
            ),
        ],
    }
