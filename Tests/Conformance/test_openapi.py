"""The OpenAPI document (`openapi.yaml`, served at `/openapi.yaml`) against the real binary, with schemathesis.

schemathesis (from PyPI) loads the document from the server itself and sends generated requests, valid and
invalid, to every operation. Every answer must be no 5xx, have a documented status code and content type, and
match the documented schema: JSON bodies, and for streams every server-sent event with its JSON payload.

It runs against a simulator and a server of its own: the admin API needs an admin key and a state directory,
and the run creates accounts, starts device logins and reloads the config, which must not disturb the shared
server. Its simulator accepts any OIDC credentials (so `POST /v2/accounts` can succeed) and approves device
logins at the second poll (so `POST /v2/auth/claim/{authId}`, which long-polls until the login's outcome,
answers at once, with the new account).

Three runs, in this order:
1. everything but `/v2`, with extra examples that stream a text reply, a tool call and thinking in the three
   dialects (and for the Responses API custom and namespaced tools, a reply cut by `max_output_tokens`,
   structured output and a continued conversation), so that every event type is checked in every run (random
   bodies rarely ask for a stream); and for the stored-response routes, ids of responses the hooks stored
   (random ids are only ever unknown);
2. the admin API (`/v2`). It runs after the first because it disables accounts it finds, and an account pool
   with every account disabled answers `/v1` with 529/503 and `/readyz` with 503, by design;
3. one example per dialect whose stream fails after it started (the simulator corrupts a frame), for the
   in-stream error event (`response.failed` for the Responses API). Each is pinned (`x-q2api-account`, an admin-key feature) to an account created for
   it, whose counters then show that the failure really happened.

What is left out, and why:
- the stateful phase (schemathesis chaining one answer's ids into the next requests): the other phases
  already reach every operation with ids that exist (schemathesis reuses the ids it has seen in answers) and
  ids that do not; a stateful run would add minutes, not operations;
- `region` in `POST /v2/auth/start` bodies (removed by a hook): it sends the login to the real AWS OIDC
  service of that region, which a test cannot reach (the server then answers 502, as documented);
- keys are not fuzzed (`--generation-with-security-parameters false`; every request carries the admin key,
  which is also an API key): test_hostile_input.py and the Swift tests cover authentication.

A failure prints schemathesis' report, with a curl command reproducing each failing request. The seed is
fixed so that a run reproduces; set Q2API_OPENAPI_SEED to explore others.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import httpx
import pytest
import yaml

from conftest import MODEL, Env, free_port, stop_process, wait_for_url

ADMIN_KEY = "adm-openapi-test"
API_KEY = "sk-openapi-test"
SEED = int(os.environ.get("Q2API_OPENAPI_SEED", "20261206"))
MAX_EXAMPLES = 25  # per operation and phase: the three runs take under a minute and a half together
RUN_TIMEOUT = 150  # seconds, for one schemathesis run
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
FAILURE_ACCOUNTS = ["openapi-late-failure-1", "openapi-late-failure-2", "openapi-late-failure-3"]

HOOKS = """
import json
import os
import urllib.request

import schemathesis

MODE = os.environ["Q2API_OPENAPI_HOOKS_MODE"]
URL = os.environ["Q2API_OPENAPI_URL"]
KEY = os.environ["Q2API_OPENAPI_KEY"]
MODEL = %(model)r
FAILURE_ACCOUNTS = %(failure_accounts)r
CALL = '[[sim:tool:get_weather:{"location":"Paris"}]]'
SCHEMA = {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}


def claude(text, stream, **extra):
    return {"model": MODEL, "max_tokens": 1024, "stream": stream, "messages": [{"role": "user", "content": text}], **extra}


def openai(text, stream, **extra):
    return {"model": MODEL, "stream": stream, "messages": [{"role": "user", "content": text}], **extra}


def responses(input, stream, **extra):
    return {"model": MODEL, "stream": stream, "input": input, **extra}


# A response stored on the server (a conversation of five input items), for the routes that read one.
def stored(text="Keep me. [[sim:text:Kept.]]"):
    body = responses([
        {"role": "developer", "content": "Be brief."},
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Weather? " + CALL}]},
        {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": '{"location":"Paris"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": "Sunny"},
        {"role": "user", "content": text},
    ], False, tools=[{"type": "function", "name": "get_weather", "parameters": SCHEMA}])
    request = urllib.request.Request(
        URL + "/v1/responses", data=json.dumps(body).encode(), method="POST",
        headers={"authorization": "Bearer " + KEY, "content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=20) as answer:
        return json.load(answer)["id"]


def cases(path):
    if MODE == "streams" and path == "/v1/messages":
        tools = [{"name": "get_weather", "description": "The weather", "input_schema": SCHEMA}]
        thinking = {"type": "enabled", "budget_tokens": 2048}
        for stream in (True, False):
            yield claude("Hello", stream), {}
            yield claude("Weather in Paris? " + CALL, stream, tools=tools), {}
            yield claude("Think first. [[sim:thinking]]", stream, thinking=thinking), {}
    elif MODE == "streams" and path == "/v1/chat/completions":
        tools = [{"type": "function", "function": {"name": "get_weather", "description": "The weather", "parameters": SCHEMA}}]
        for stream in (True, False):
            yield openai("Hello", stream, **({"stream_options": {"include_usage": True}} if stream else {})), {}
            yield openai("Weather in Paris? " + CALL, stream, tools=tools), {}
            yield openai("Think first. [[sim:thinking]]", stream, reasoning_effort="high"), {}
    elif MODE == "streams" and path == "/v1/responses":
        function = [{"type": "function", "name": "get_weather", "description": "The weather", "parameters": SCHEMA, "strict": True}]
        custom = [{"type": "custom", "name": "apply_patch", "format": {"type": "grammar", "syntax": "lark", "definition": "start: /.+/"}}]
        namespace = [{"type": "namespace", "name": "mcp__fs__", "tools": [{"type": "function", "name": "read", "parameters": SCHEMA}]}]
        structured = {"format": {"type": "json_schema", "name": "weather", "schema": SCHEMA, "strict": True}}
        for stream in (True, False):
            yield responses("Hello", stream, instructions="Be brief."), {}
            yield responses("Weather in Paris? " + CALL, stream, tools=function, tool_choice="required"), {}
            yield responses('Patch it. [[sim:tool:apply_patch:{"input":"*** Begin Patch"}]]', stream, tools=custom), {}
            yield responses('Read it. [[sim:tool:mcp__fs__read:{"location":"a"}]]', stream, tools=namespace), {}
            yield responses("Think first. [[sim:thinking]]", stream, reasoning={"effort": "high", "summary": "auto"},
                            include=["reasoning.encrypted_content"]), {}
            yield responses("Think first. [[sim:thinking]]", stream, reasoning={"effort": "low"}, store=False), {}
            yield responses("Go on. [[sim:long:200]]", stream, max_output_tokens=5), {}
            yield responses("Answer in JSON.", stream, text=structured), {}
            yield responses("Go on. [[sim:recall:Sunny]]", stream, previous_response_id=stored()), {}
    elif MODE == "failures" and path == "/v1/messages":
        yield claude("Start, then fail. [[sim:corrupt]]", True), {"x-q2api-account": FAILURE_ACCOUNTS[0]}
    elif MODE == "failures" and path == "/v1/chat/completions":
        yield openai("Start, then fail. [[sim:corrupt]]", True), {"x-q2api-account": FAILURE_ACCOUNTS[1]}
    elif MODE == "failures" and path == "/v1/responses":
        yield responses("Start, then fail. [[sim:corrupt]]", True), {"x-q2api-account": FAILURE_ACCOUNTS[2]}


@schemathesis.hook
def before_add_examples(context, examples):
    operation = context.operation
    if operation is None:
        return
    if MODE == "streams" and operation.path.startswith("/v1/responses/{id}"):
        # Stored ids (a DELETE example gets its own, so that the GETs still find theirs).
        examples.append(operation.Case(path_parameters={"id": stored()}))
        if operation.path.endswith("/input_items"):
            response = stored()
            examples.append(operation.Case(path_parameters={"id": response}, query={"order": "asc", "limit": 2}))
            examples.append(operation.Case(path_parameters={"id": response}, query={"order": "desc", "limit": 100}))
            # The page after the newest item (desc): the older ones; `after` as the server made it.
            with urllib.request.urlopen(urllib.request.Request(
                    URL + "/v1/responses/" + response + "/input_items?limit=1",
                    headers={"authorization": "Bearer " + KEY}), timeout=20) as answer:
                newest = json.load(answer)["last_id"]
            examples.append(operation.Case(path_parameters={"id": response}, query={"after": newest, "limit": 3}))
        return
    if operation.method.upper() != "POST":
        return
    if MODE == "failures":
        examples.clear()  # only the pinned cases: an unpinned request could land on a pinned account
    for body, headers in cases(operation.path):
        examples.append(operation.Case(body=body, headers=headers))


@schemathesis.hook
def before_call(context, case, kwargs):
    # `region` sends a device login to the real AWS OIDC service of that region: unreachable from a test.
    if case.operation.path == "/v2/auth/start" and isinstance(case.body, dict):
        case.body.pop("region", None)
""" % {"model": MODEL, "failure_accounts": FAILURE_ACCOUNTS}

# Every operation the document must have (the Swift test holds it to the router; this holds the served copy).
EXPECTED_OPERATIONS = {
    "POST /v1/messages",
    "POST /v1/messages/count_tokens",
    "POST /v1/chat/completions",
    "POST /v1/responses",
    "GET /v1/responses/{id}",
    "DELETE /v1/responses/{id}",
    "GET /v1/responses/{id}/input_items",
    "GET /v1/models",
    "GET /v1/models/{id}",
    "GET /healthz",
    "HEAD /healthz",
    "GET /health",
    "HEAD /health",
    "GET /readyz",
    "HEAD /readyz",
    "GET /metrics",
    "GET /openapi.yaml",
    "GET /",
    "GET /console",
    "GET /console/console.css",
    "GET /console/console.js",
    "GET /v2/accounts",
    "POST /v2/accounts",
    "POST /v2/accounts/import",
    "GET /v2/accounts/{id}",
    "PATCH /v2/accounts/{id}",
    "DELETE /v2/accounts/{id}",
    "POST /v2/accounts/{id}/enable",
    "POST /v2/accounts/{id}/disable",
    "POST /v2/accounts/{id}/refresh",
    "GET /v2/config",
    "POST /v2/reload",
    "GET /v2/usage",
    "POST /v2/auth/start",
    "GET /v2/auth/status/{authId}",
    "POST /v2/auth/claim/{authId}",
}


def schemathesis_command() -> list[str]:
    beside = Path(sys.executable).with_name("st")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("st") or shutil.which("schemathesis")
    if found is None:
        pytest.fail("schemathesis is not installed: scripts/test installs it into .venv")
    return [found]


@pytest.fixture
def openapi_server(env: Env, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A simulator that accepts any credentials and approves device logins, and a server with an admin key."""
    if not env.bin:
        pytest.skip("Q2API_BIN is not set")
    processes: list[subprocess.Popen] = []
    try:
        sim_port = free_port()
        sim_log = tmp_path / "simulate.log"
        with open(sim_log, "wb") as out:
            processes.append(
                subprocess.Popen(
                    [env.bin, "simulate", "--port", str(sim_port), "--auto-approve-device-after", "1"],
                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT))
        sim_url = f"http://127.0.0.1:{sim_port}"
        wait_for_url(sim_url + "/__sim/state", processes[-1], sim_log)
        port = free_port()
        config = tmp_path / "q2api.yaml"
        config.write_text(
            "version: 1\n"
            f"listeners: [{{address: '127.0.0.1:{port}'}}]\n"
            f'api_keys: ["{API_KEY}"]\n'
            f'admin_keys: ["{ADMIN_KEY}"]\n'
            f"upstream: {{endpoint: '{sim_url}/', oidc_endpoint: '{sim_url}'}}\n"
            "state_dir: ./state\n"
            "accounts:\n"
            "  - {id: yaml-main, client_id: c, client_secret: s, refresh_token: r}\n"
        )
        log = tmp_path / "serve.log"
        with open(log, "wb") as out:
            processes.append(
                subprocess.Popen([env.bin, "serve", "-c", str(config)], stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT))
        url = f"http://127.0.0.1:{port}"
        wait_for_url(url + "/healthz", processes[-1], log)
        yield url, log
        assert processes[-1].poll() is None, f"the server died:\n{log.read_text(errors='replace')[-5000:]}"
    finally:
        for process in reversed(processes):
            stop_process(process)


def run_schemathesis(url: str, log: Path, directory: Path, name: str, hooks_mode: str, *arguments: str) -> str:
    """One `st run` against the server with the served document; fails the test with the report on any failure."""
    hooks = directory / "openapi_hooks.py"
    hooks.write_text(HOOKS)
    command = schemathesis_command() + [
        "run", f"{url}/openapi.yaml",
        "--url", url,
        "--header", f"Authorization: Bearer {ADMIN_KEY}",
        "--generation-with-security-parameters", "false",
        "--checks", CHECKS,
        "--max-examples", str(MAX_EXAMPLES),
        "--seed", str(SEED),
        "--workers", "1",  # more workers trip a CPython 3.11 bug in concurrent ast.parse (hypothesis' lambda reprs)
        "--request-timeout", "20",
        "--max-failures", "20",
        "--generation-database", "none",
        "--no-color",
        *arguments,
    ]
    environment = {key: value for key, value in os.environ.items() if not key.lower().endswith("_proxy")}
    environment["SCHEMATHESIS_HOOKS"] = str(hooks)
    environment["Q2API_OPENAPI_HOOKS_MODE"] = hooks_mode
    environment["Q2API_OPENAPI_URL"] = url
    environment["Q2API_OPENAPI_KEY"] = ADMIN_KEY
    try:
        result = subprocess.run(command, cwd=directory, env=environment, stdin=subprocess.DEVNULL, capture_output=True,
                                text=True, timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired as timeout:
        partial = timeout.stdout.decode(errors="replace") if isinstance(timeout.stdout, bytes) else (timeout.stdout or "")
        pytest.fail(f"schemathesis ({name}) did not finish within {RUN_TIMEOUT} s:\n{partial[-20000:]}")
    output = result.stdout + result.stderr
    if result.returncode != 0:
        server_log = "\n".join(log.read_text(errors="replace").splitlines()[-60:])
        pytest.fail(
            f"schemathesis ({name}) failed (exit {result.returncode})\ncommand: {' '.join(command)}\n"
            f"hooks ({hooks_mode}): Tests/Conformance/test_openapi.py HOOKS\n\n{output[-30000:]}\n\n"
            f"----- server log (last 60 lines) -----\n{server_log}")
    summary = [line for line in output.splitlines() if " generated, " in line]
    print(f"schemathesis ({name}): {summary[-1].strip() if summary else output[-500:]}")
    return output


def test_the_document_is_served_without_a_key(env: Env):
    response = httpx.get(env.base_url + "/openapi.yaml", timeout=10, trust_env=False)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"] == "application/yaml"
    document = yaml.safe_load(response.text)
    assert document["openapi"].startswith("3.1")
    operations = {f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item if method != "parameters"}
    assert operations == EXPECTED_OPERATIONS
    # The repository's copy (the root symlink to Sources/ProxyServer/OpenAPI/openapi.yaml) is the one served.
    root = Path(__file__).resolve().parents[2]
    assert (root / "openapi.yaml").read_text() == response.text


def test_schemathesis_finds_no_server_error_or_schema_mismatch(openapi_server: tuple[str, Path], tmp_path: Path):
    url, log = openapi_server
    phases = "examples,coverage,fuzzing"
    run_schemathesis(url, log, tmp_path, "everything but /v2", "streams", "--phases", phases, "--exclude-path-regex", "^/v2/")
    run_schemathesis(url, log, tmp_path, "admin API", "none", "--phases", phases, "--include-path-regex", "^/v2/")

    admin = httpx.Client(base_url=url, headers={"authorization": f"Bearer {ADMIN_KEY}"}, timeout=20, trust_env=False)
    with admin:
        for account in FAILURE_ACCOUNTS:
            created = admin.post("/v2/accounts", json={"id": account, "client_id": "c", "client_secret": "s", "refresh_token": "r"})
            assert created.status_code == 201, created.text
        run_schemathesis(url, log, tmp_path, "failures after the stream started", "failures", "--phases", "examples",
                         "--include-path-regex", "^/v1/(messages|chat/completions|responses)$")
        # Both failures really happened (after the stream started: schemathesis saw a 200 with valid events).
        for account in FAILURE_ACCOUNTS:
            row = admin.get(f"/v2/accounts/{account}").json()
            assert (row["total_successes"], row["total_failures"]) == (0, 1), row
