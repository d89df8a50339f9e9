"""Runs the real Claude Code CLI non-interactively against q2api, for Tests/Conformance/test_claude_code.py.

The CLI is the one PyPI's `claude-agent-sdk` bundles (`claude_agent_sdk/_bundled/claude`, installed by
scripts/install-clients). Each run gets a throw-away HOME and a scratch project directory, talks to q2api
through a logging hop (client_hop.Hop) so that a test sees every request the CLI sent and every status
q2api answered, and prints `--output-format stream-json --verbose` (what the Agent SDK itself uses): every
assistant and tool-result message, status events such as compaction, and the final `result` object, the same
one `--output-format json` prints.

The model's side is scripted by the simulator: `[[sim:plan:{"steps": [...]}]]` in the prompt plays one step
per request of the agent loop (Sources/QSimulator/AgentPlan.swift). `plan()`, `tool()` and `say()` build those
markers with the JSON escaping done right.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import client_scenarios
from client_hop import Hop, Recorded

# Nothing optional may leave the machine: no telemetry, error reports, update checks or feedback surveys
# (the network here reaches 127.0.0.1 only, and CI must not wait on outside hosts).
QUIET_ENV = {
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
}
# A safety net: a plan that stops advancing would otherwise loop until the timeout.
MAX_TURNS = 16
TIMEOUT = 120.0


def claude_binary() -> Path | None:
    """The CLI bundled with the installed claude-agent-sdk (or $Q2API_CLAUDE_BIN), or None when it is missing."""
    try:
        return client_scenarios.claude_binary()
    except (ModuleNotFoundError, FileNotFoundError):
        return None


def claude_version(binary: Path) -> str:
    return subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL).stdout.strip()


# ---------------------------------------------------------------------------------------------
# Simulator markers
# ---------------------------------------------------------------------------------------------


def tool(name: str, arguments: dict[str, Any]) -> str:
    """A `[[sim:tool:NAME:{json}]]` marker: the model calls NAME with these arguments."""
    return f"[[sim:tool:{name}:{json.dumps(arguments, separators=(',', ':'))}]]"


def text(value: str) -> str:
    """A `[[sim:text:...]]` marker: the model answers exactly `value` (no `]]` inside)."""
    assert "]]" not in value
    return f"[[sim:text:{value}]]"


def say(value: str) -> str:
    """A `[[sim:say:{"text": ...}]]` marker: the model answers exactly `value`, which may hold markers."""
    return "[[sim:say:" + json.dumps({"text": value}, separators=(",", ":")) + "]]"


def plan(*steps: str, when: dict[str, str] | None = None) -> str:
    """A `[[sim:plan:...]]` marker: reply N of the agent loop after this prompt plays `steps[N]`; a later
    request whose last user turn contains a key of `when` plays its value instead."""
    body: dict[str, Any] = {"steps": list(steps)}
    if when:
        body["when"] = when
    return "[[sim:plan:" + json.dumps(body, separators=(",", ":")) + "]]"


# ---------------------------------------------------------------------------------------------
# One run of the CLI
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Run:
    """One `claude -p` invocation: what it printed and what it sent through the hop."""

    argv: list[str]
    project: Path
    returncode: int | None
    events: list[dict]
    stderr: str
    seconds: float
    requests: list[Recorded]
    timed_out: bool = False

    @property
    def result(self) -> dict:
        """The final `result` object (what `--output-format json` prints); {} when there is none."""
        for event in reversed(self.events):
            if event.get("type") == "result":
                return event
        return {}

    def blocks(self, role: str = "assistant") -> list[dict]:
        """The content blocks of every `assistant` (or `user`) message, in order, sub-agents' included."""
        found = []
        for event in self.events:
            message = event.get("message")
            if event.get("type") == role and isinstance(message, dict) and isinstance(message.get("content"), list):
                found += [block for block in message["content"] if isinstance(block, dict)]
        return found

    def tool_calls(self) -> list[tuple[str, dict]]:
        return [(block["name"], block.get("input") or {}) for block in self.blocks() if block.get("type") == "tool_use"]

    def tool_results(self) -> list[dict]:
        return [block for block in self.blocks("user") if block.get("type") == "tool_result"]

    def statuses(self) -> list[dict]:
        return [event for event in self.events if event.get("type") == "system" and event.get("subtype") == "status"]

    def messages_requests(self) -> list[Recorded]:
        """The requests to /v1/messages (count_tokens and model listings left out)."""
        return [r for r in self.requests if r.method == "POST" and r.path.split("?")[0] == "/v1/messages"]

    def rejected(self) -> list[Recorded]:
        """Requests q2api did not answer with 200."""
        return [r for r in self.requests if r.status != 200]

    def describe(self) -> str:
        """A summary for assertion messages: the result, each message, each request and its status."""
        prompt = self.argv[2] if len(self.argv[2]) <= 400 else self.argv[2][:400] + "..."
        flags = " ".join(self.argv[3:])
        lines = [f"$ claude -p {prompt!r} {flags}  (exit {self.returncode}, {self.seconds:.1f} s{', TIMED OUT' if self.timed_out else ''})"]
        result = {k: self.result.get(k) for k in ("is_error", "num_turns", "subtype", "terminal_reason", "api_error", "result")}
        lines.append(f"result: {json.dumps(result)[:600]}")
        for event in self.events:
            kind = event.get("type")
            message = event.get("message")
            if kind in ("assistant", "user") and isinstance(message, dict):
                content = message.get("content")
                lines.append(f"  {kind}: {json.dumps(content)[:300]}")
            elif kind == "system" and event.get("subtype") not in ("init",):
                lines.append(f"  system/{event.get('subtype')}: {json.dumps({k: v for k, v in event.items() if k not in ('session_id', 'uuid')})[:300]}")
        for record in self.requests:
            head = record.response_head.decode(errors="replace")
            lines.append(f"  {record.method} {record.path} -> {record.status}{'' if record.status == 200 else ': ' + head[:400]}")
        if self.stderr.strip():
            lines.append("stderr: " + self.stderr.strip()[-1500:])
        return "\n".join(lines)


def request_json(record: Recorded) -> dict:
    try:
        return json.loads(record.body)
    except ValueError:
        return {}


def run_claude(
    binary: Path,
    base_url: str,
    api_key: str,
    prompt: str,
    project: Path,
    home: Path,
    *,
    allowed_tools: str = "Bash,Read,Write,Edit",
    args: tuple[str, ...] = (),
    timeout: float = TIMEOUT,
    auth: str = "api_key",
    output_format: str = "stream-json",
) -> Run:
    """Runs `claude -p PROMPT` in `project` with HOME=`home`, through a logging hop in front of `base_url`.

    `auth` is "api_key" (ANTHROPIC_API_KEY, sent as x-api-key) or "auth_token" (ANTHROPIC_AUTH_TOKEN, sent as
    `Authorization: Bearer`). `output_format` is "stream-json" (with --verbose: every message, as the Agent SDK
    runs the CLI; the CLI then asks for `thinking.display: "updates"`) or "json" (the result alone, as scripts run
    it; `thinking.display: "omitted"`). Several runs may share `home` and `project` (`--continue` finds the
    previous one)."""
    project.mkdir(parents=True, exist_ok=True)
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    argv = [
        str(binary),
        "-p",
        prompt,
        "--output-format",
        output_format,
        *(["--verbose"] if output_format == "stream-json" else []),
        "--allowedTools",
        allowed_tools,
        "--max-turns",
        str(MAX_TURNS),
        *args,
    ]
    with Hop(base_url) as hop:
        environment = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "TMPDIR": str(home / "tmp"),
            "LANG": "C.UTF-8",
            "ANTHROPIC_BASE_URL": hop.url,
            ("ANTHROPIC_API_KEY" if auth == "api_key" else "ANTHROPIC_AUTH_TOKEN"): api_key,
            **QUIET_ENV,
        }
        started = time.monotonic()
        timed_out = False
        # A session of its own, so that a run that hangs is stopped with every process it started.
        process = subprocess.Popen(
            argv, cwd=project, env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
        returncode = process.returncode
        seconds = time.monotonic() - started
        requests = hop.take()
    events = []
    for line in stdout.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            events.append(json.loads(line))
        except ValueError:
            events.append({"type": "unparsed", "line": line[:500]})
    return Run(argv, project, returncode, events, stderr, seconds, requests, timed_out)
