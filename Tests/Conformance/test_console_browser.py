"""The web console in a real browser (headless Debian chromium driven by Playwright), against the real
binary: its own `q2api simulate` and `q2api serve` (two YAML accounts, a state directory, an admin key).

One user session, step by step, each checking what the user sees:

1. sign in: a wrong admin key is refused on the form; the right one shows both YAML accounts;
2. disable `spare` (confirming the dialog) and enable it again, checked in the table and through the API;
3. a device login to completion: the link opens the simulator's approval page, the user approves there,
   the console reports the new account and the table shows it with source `state`;
4. a streamed chat reply pinned to that new account: the text grows while the stream is open;
5. the playground's OpenAI Responses choice: a streamed reply with instructions (growing, with usage and its
   `resp_` id), "Continue" (`previous_response_id`) streamed with a reasoning summary and then whole, a new
   whole reply with a reasoning summary; then a whole (unstreamed) Claude reply with a system prompt;
6. a rejected reload: a broken q2api.yaml shows its `file:line:column` error; the fixed file clears it.

All of it under the page's CSP (`script-src 'self'; style-src 'self'`, no `'unsafe-inline'`): the session must
raise no `securitypolicyviolation`. Two more tests: the page loads its script and styles from /console/ and the
CSP really blocks what is inline (`test_console_csp`), and the script's helpers give the right outputs, called in
the browser itself through `window.q2apiConsole` (`test_console_helpers`).

Screenshots go to $Q2API_SCREENSHOTS (else pytest's tmp dir); with Q2API_UPDATE_SCREENSHOT=1 the accounts
view is also written to docs/console.png for the README. Chromium is Debian's (`apt-get install chromium`),
never Playwright's download: without it the test is skipped, except under CI, where it fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from conftest import MODEL, free_port
from responses_stream import THINKING_ANSWER, THOUGHT

ADMIN_KEY = "admin-browser-key"
API_KEY = "sk-browser"
REPO = Path(__file__).resolve().parents[2]
DOCS_SCREENSHOT = REPO / "docs" / "console.png"
VIEWPORT = {"width": 1280, "height": 800}
UI_TIMEOUT_MS = 10_000
# ~600 characters in 50 frames 25 ms apart: about 1.3 s of visible streaming.
CHAT_PROMPT = "Tell me a story. [[sim:delay:25]][[sim:long:600]]"
CHAT_LENGTH = 600
BROKEN_YAML = "balancing: {strategy: fastest}\n"
# The Responses playground: the first reply streams like the chat's; "Continue" chains on it.
RESPONSES_PROMPT = "The code word is PELICAN-77. [[sim:delay:25]][[sim:long:600]]"
INSTRUCTIONS = "Answer in Latin. SYS-ALPHA"
THINKING_PROMPT = "Six times seven? [[sim:thinking]]"
RECALL_PROMPT = "Which code word? [[sim:recall:PELICAN-77]]"
DONE_META = re.compile(r"done · (\S+) · (\d+) in / (\d+) out tokens · (\S+)")


def _unavailable(reason: str):
    """Skips the test on a developer machine; under CI the browser test must run, so it fails instead."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run the browser test: scripts/test installs chromium and playwright)")
    pytest.skip(reason)


# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------


def _wait_until(condition, what: str, timeout: float, processes: list[tuple[subprocess.Popen, Path]]):
    deadline = time.monotonic() + timeout
    while True:
        for process, log in processes:
            if process.poll() is not None:
                pytest.fail(f"{log.stem} exited ({process.returncode}) while waiting until {what}:\n{log.read_text(errors='replace')}")
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting until {what}")
        time.sleep(0.05)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1, trust_env=False).status_code == 200
    except httpx.HTTPError:
        return False


class Stack:
    """The simulator and the server of this test, and the config file the server reads."""

    def __init__(self, directory: Path, sim_url: str, base_url: str, config: Path):
        self.directory = directory
        self.sim_url = sim_url
        self.base_url = base_url
        self.config = config
        self.admin = httpx.Client(
            base_url=base_url, headers={"authorization": f"Bearer {ADMIN_KEY}"}, timeout=10, trust_env=False
        )

    def account(self, account_id: str) -> dict:
        response = self.admin.get(f"/v2/accounts/{account_id}")
        assert response.status_code == 200, f"GET /v2/accounts/{account_id}: {response.status_code} {response.text}"
        return response.json()

    def write_config(self, text: str) -> None:
        """Replaces q2api.yaml atomically, so that the server's file poller never reads half of it."""
        temporary = self.config.with_suffix(".tmp")
        temporary.write_text(text)
        os.replace(temporary, self.config)


@pytest.fixture
def stack(env, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Stack]:
    if not env.bin:
        pytest.skip("Q2API_BIN is not set: the browser test starts its own q2api simulate and q2api serve")
    processes: list[tuple[subprocess.Popen, Path]] = []

    def start(name: str, *arguments: str) -> subprocess.Popen:
        log = tmp_path / f"{name}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [env.bin, *arguments], cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
            )
        processes.append((process, log))
        return process

    try:
        sim_port = free_port()
        sim_url = f"http://127.0.0.1:{sim_port}"
        # No --refresh-token: the simulator accepts any, so the YAML accounts need no real credentials.
        start("simulate", "simulate", "--port", str(sim_port), "--device-interval", "1")
        _wait_until(lambda: _answers(sim_url + "/__sim/state"), "the simulator answers", 20, processes)

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
            "  - {id: main, label: Main, client_id: main-client, client_secret: main-secret, refresh_token: main-refresh}\n"
            "  - {id: spare, label: Spare, client_id: spare-client, client_secret: spare-secret, refresh_token: spare-refresh}\n"
        )
        start("serve", "serve", "-c", str(config))
        base_url = f"http://127.0.0.1:{port}"
        _wait_until(lambda: _answers(base_url + "/healthz"), "the server answers /healthz", 20, processes)

        the_stack = Stack(tmp_path, sim_url, base_url, config)
        yield the_stack
        the_stack.admin.close()
    finally:
        for process, _ in reversed(processes):
            process.terminate()
        for process, _ in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        call_report = getattr(request.node, "report_call", None)
        if call_report is not None and call_report.failed:
            for _, log in processes:
                print(f"----- {log.name} -----\n{log.read_text(errors='replace')}")


# ---------------------------------------------------------------------------------------------
# Browser
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def browser(env):
    if not env.bin:
        pytest.skip("Q2API_BIN is not set: the browser test starts its own q2api simulate and q2api serve")
    executable = shutil.which("chromium")
    if executable is None:
        _unavailable("no chromium on PATH (Debian: apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright Python package is not installed (pip install playwright)")
    arguments = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        # Debian's chromium, never a browser Playwright would download.
        launched = playwright.chromium.launch(executable_path=executable, headless=True, args=arguments, timeout=30_000)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    directory = Path(os.environ["Q2API_SCREENSHOTS"]) if os.environ.get("Q2API_SCREENSHOTS") else tmp_path / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


# ---------------------------------------------------------------------------------------------
# The scenario
# ---------------------------------------------------------------------------------------------


def test_console_in_a_browser(browser, stack: Stack, screenshots: Path):
    from playwright.sync_api import expect

    expect.set_options(timeout=UI_TIMEOUT_MS)
    context = browser.new_context(viewport=VIEWPORT, color_scheme="light", locale="en-US", timezone_id="UTC")
    context.set_default_timeout(UI_TIMEOUT_MS)
    context.set_default_navigation_timeout(UI_TIMEOUT_MS)
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page_errors: list[str] = []
    dialogs: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    csp_messages = _console_csp_messages(page)

    def on_dialog(dialog):
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", on_dialog)
    try:
        sign_in(page, stack, screenshots)
        disable_and_enable(page, stack, dialogs)
        new_id = device_login(page, context, stack, screenshots)
        stream_chat(page, stack, new_id, screenshots)
        responses_playground(page, stack, screenshots)
        reload_error(page, stack, screenshots)
        assert page_errors == [], f"JavaScript errors on the console page: {page_errors}"
        violations = page.evaluate("window.__cspViolations")
        assert violations == [] and csp_messages == [], f"CSP violations: {violations} {csp_messages}"
    except BaseException:
        try:
            page.screenshot(path=str(screenshots / "failure.png"), full_page=True)
            print(f"screenshot of the failure: {screenshots / 'failure.png'}")
        except Exception:  # noqa: BLE001 - the original failure matters more
            pass
        raise
    finally:
        context.close()


def row(page, account_id: str):
    return page.locator(f'#accounts-table tr[data-account-id="{account_id}"]')


def dismiss_status_line(page) -> None:
    """Clicks away the toast of the last action (it hides by itself after 6 s), so it covers no screenshot."""
    from playwright.sync_api import Error as PlaywrightError

    line = page.locator("#status-line")
    if line.is_visible():
        try:
            line.click(timeout=2_000)
        except PlaywrightError:
            pass  # it went away by itself meanwhile


def sign_in(page, stack: Stack, screenshots: Path) -> None:
    from playwright.sync_api import expect

    # The console itself needs no key; every /v2 call does.
    response = page.goto(stack.base_url + "/")
    assert response is not None and response.status == 200, response and response.status
    assert "text/html" in response.headers.get("content-type", ""), response.headers
    unauthorized = httpx.get(stack.base_url + "/v2/accounts", timeout=10, trust_env=False)
    assert unauthorized.status_code == 401, unauthorized.text
    assert unauthorized.json()["error"]["type"] == "authentication_error", unauthorized.text

    expect(page.locator("#admin-key")).to_be_visible()
    expect(page.locator("#app")).to_be_hidden()

    page.fill("#admin-key", "not-the-admin-key")
    page.click("#sign-in")
    expect(page.locator("#sign-in-error")).to_be_visible()
    expect(page.locator("#sign-in-error")).not_to_have_text("")
    expect(page.locator("#app")).to_be_hidden()
    expect(page.locator("#admin-key")).to_be_visible()

    page.fill("#admin-key", ADMIN_KEY)
    page.click("#sign-in")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#sign-in-error")).to_be_hidden()
    for account_id, label in (("main", "Main"), ("spare", "Spare")):
        expect(row(page, account_id)).to_be_visible()
        expect(row(page, account_id).locator('td[data-col="source"]')).to_have_text("yaml")
        expect(row(page, account_id).locator('td[data-col="label"]')).to_have_text(label)
        expect(row(page, account_id).locator('td[data-col="state"] .pill')).to_have_text("active")
        # A YAML account cannot be deleted from the console.
        expect(row(page, account_id).locator('[data-action="delete"]')).to_be_disabled()
    expect(page.locator("#accounts-body tr")).to_have_count(2)
    # The config card loaded too.
    expect(page.locator("#config-last-error")).to_have_text("none")
    expect(page.locator("#config-source-path")).to_contain_text("q2api.yaml")
    page.screenshot(path=str(screenshots / "1-accounts.png"))


def disable_and_enable(page, stack: Stack, dialogs: list[str]) -> None:
    from playwright.sync_api import expect

    spare = row(page, "spare")
    state = spare.locator('td[data-col="state"] .pill')
    toggle = spare.locator('[data-action="toggle"]')

    expect(toggle).to_have_text("Disable")
    toggle.click()
    expect(state).to_have_text("disabled")
    expect(toggle).to_have_text("Enable")
    assert any("spare" in message for message in dialogs), f"disabling asked for no confirmation: {dialogs}"
    disabled = stack.account("spare")
    assert disabled["state"] == "disabled" and disabled["enabled"] is False, disabled
    # The other account is untouched.
    expect(row(page, "main").locator('td[data-col="state"] .pill')).to_have_text("active")

    toggle.click()
    expect(state).to_have_text("active")
    expect(toggle).to_have_text("Disable")
    enabled = stack.account("spare")
    assert enabled["state"] == "active" and enabled["enabled"] is True, enabled


def device_login(page, context, stack: Stack, screenshots: Path) -> str:
    """Runs a device login as a user would; returns the id of the account it added."""
    from playwright.sync_api import expect

    label = "Browser login"
    before = {account["id"] for account in stack.admin.get("/v2/accounts").json()["accounts"]}
    page.fill("#device-label", label)
    page.click("#device-start")
    expect(page.locator("#device-flow")).to_be_visible()
    expect(page.locator("#device-status")).to_have_attribute("data-status", "pending")
    code = page.locator("#device-code").text_content().strip()
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code), f"device code {code!r}"
    link = page.locator("#device-link")
    href = link.get_attribute("href")
    assert href and href.startswith(stack.sim_url + "/") and f"user_code={code}" in href, href
    expect(link).to_have_attribute("target", "_blank")

    # The user follows the link (a new tab), checks the code and approves.
    with context.expect_page() as opened:
        link.click()
    approval = opened.value
    approval.wait_for_load_state()
    expect(approval.locator("body")).to_contain_text(code)
    approval.get_by_role("button", name="Approve").click()
    expect(approval.locator("body")).to_contain_text("approved")
    approval.close()

    # The console polls every `interval` (1 s from the simulator) and reports the new account.
    status = page.locator("#device-status")
    expect(status).to_have_attribute("data-status", "completed", timeout=20_000)
    match = re.fullmatch(r"Account (\S+) added", status.text_content().strip())
    assert match, f"device status: {status.text_content()!r}"
    new_id = match.group(1)
    after = {account["id"] for account in stack.admin.get("/v2/accounts").json()["accounts"]}
    assert after - before == {new_id}, f"accounts before the login {sorted(before)}, after {sorted(after)}"
    new_row = row(page, new_id)
    expect(new_row).to_be_visible()
    expect(new_row.locator('td[data-col="source"]')).to_have_text("state")
    expect(new_row.locator('td[data-col="label"]')).to_have_text(label)
    expect(new_row.locator('[data-action="delete"]')).to_be_enabled()
    expect(page.locator("#accounts-body tr")).to_have_count(3)
    account = stack.account(new_id)
    assert account["source"] == "state" and account["label"] == label, account

    dismiss_status_line(page)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshots / "3-device-login.png"))
    if os.environ.get("Q2API_UPDATE_SCREENSHOT") == "1":
        DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_SCREENSHOT))
    return new_id


def stream_chat(page, stack: Stack, account_id: str, screenshots: Path) -> None:
    from playwright.sync_api import expect

    models = page.locator("#chat-model option").evaluate_all("options => options.map(o => o.value)")
    assert models and all(models), f"the model list: {models}"
    page.select_option("#chat-model", MODEL if MODEL in models else models[0])
    # The new account serves it: the admin key pins it with x-q2api-account.
    page.select_option("#chat-account", account_id)
    before = stack.account(account_id)["successes"]
    page.fill("#chat-input", CHAT_PROMPT)

    output = page.locator("#chat-output")
    page.click("#chat-send")
    final = watch_stream(page)
    assert len(final) == CHAT_LENGTH and final.startswith("Lorem ipsum"), final
    expect(page.locator("#chat-meta")).to_contain_text("done")
    expect(page.locator('#chat-output [data-testid="chat-error"]')).to_have_count(0)
    dismiss_status_line(page)
    page.locator("#playground").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "4-chat.png"))

    deadline = time.monotonic() + 10
    while stack.account(account_id)["successes"] <= before:
        assert time.monotonic() < deadline, f"the pinned account {account_id} counted no success: {stack.account(account_id)}"
        time.sleep(0.2)


def watch_stream(page) -> str:
    """Samples the reply's length while the stream is open: it must be seen growing, not arrive at once.
    Returns the final text."""
    from playwright.sync_api import expect

    output = page.locator("#chat-output")
    samples: list[int] = []
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        state, length = output.evaluate("o => [o.dataset.state, o.textContent.length]")
        if state != "streaming":
            break
        if length > 0 and (not samples or length != samples[-1]):
            samples.append(length)
        time.sleep(0.03)
    expect(output).to_have_attribute("data-state", "done", timeout=20_000)
    final = output.text_content()
    assert len([s for s in samples if 0 < s < len(final)]) >= 2 and samples == sorted(samples), (
        f"the reply did not stream (lengths seen while streaming: {samples}, final {len(final)})"
    )
    return final


def send_from_playground(page, button: str, path: str) -> dict:
    """Clicks Send or Continue and returns the JSON body the page posted to `path`."""
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith(path)) as sent:
        page.click(button)
    return sent.value.post_data_json


def finished_reply(page) -> tuple[str, int, int, str]:
    """Waits for the reply to end well; returns its summary line's (reason, input tokens, output tokens, id)."""
    from playwright.sync_api import expect

    expect(page.locator("#chat-output")).to_have_attribute("data-state", "done", timeout=20_000)
    expect(page.locator('#chat-output [data-testid="chat-error"]')).to_have_count(0)
    meta = page.locator("#chat-meta").text_content()
    match = DONE_META.fullmatch(meta.strip())
    assert match, f"the summary line {meta!r}"
    return match.group(1), int(match.group(2)), int(match.group(3)), match.group(4)


def responses_playground(page, stack: Stack, screenshots: Path) -> None:
    from playwright.sync_api import expect

    api = httpx.Client(base_url=stack.base_url, headers={"authorization": f"Bearer {API_KEY}"}, timeout=10, trust_env=False)
    output = page.locator("#chat-output")
    thinking = output.locator('[data-testid="chat-thinking"]')
    text = output.locator('[data-testid="chat-text"]')

    def stored(response_id: str) -> dict:
        response = api.get(f"/v1/responses/{response_id}")
        assert response.status_code == 200, f"GET /v1/responses/{response_id}: {response.status_code} {response.text}"
        return response.json()

    def output_text(response: dict) -> str:
        return "".join(c["text"] for item in response["output"] if item["type"] == "message" for c in item["content"])

    # The Responses-only controls appear with their API; nothing to continue yet.
    expect(page.locator("#chat-continue")).to_be_hidden()
    page.select_option("#chat-api", "responses")
    expect(page.locator("#chat-continue")).to_be_visible()
    expect(page.locator("#chat-continue")).to_be_disabled()
    expect(page.locator("#chat-reasoning")).to_be_visible()
    page.select_option("#chat-account", "")
    expect(page.locator("#chat-stream")).to_be_checked()

    # 1. Streamed, with instructions: the text grows; usage and the stored response's id are shown.
    page.fill("#chat-system", INSTRUCTIONS)
    page.fill("#chat-input", RESPONSES_PROMPT)
    sent = send_from_playground(page, "#chat-send", "/v1/responses")
    assert sent["stream"] is True and sent["input"] == RESPONSES_PROMPT and sent["instructions"] == INSTRUCTIONS, sent
    assert "previous_response_id" not in sent and "reasoning" not in sent, sent
    final = watch_stream(page)
    assert len(final) == CHAT_LENGTH and final.startswith("Lorem ipsum"), final
    expect(thinking).to_have_count(0)
    status, tokens_in, tokens_out, first_id = finished_reply(page)
    assert status == "completed" and first_id.startswith("resp_"), (status, first_id)
    first = stored(first_id)
    assert first["status"] == "completed" and first["instructions"] == INSTRUCTIONS, first
    assert output_text(first) == final, first
    assert (first["usage"]["input_tokens"], first["usage"]["output_tokens"]) == (tokens_in, tokens_out), first["usage"]
    assert tokens_in > 0 and tokens_out > 0, first["usage"]
    expect(page.locator("#chat-continue")).to_be_enabled()
    dismiss_status_line(page)
    page.locator("#playground").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "5-responses.png"))

    # 2. Continue, streamed, with a reasoning summary: the summary and the answer in their own blocks.
    page.fill("#chat-system", "")
    page.check("#chat-reasoning")
    page.fill("#chat-input", THINKING_PROMPT)
    sent = send_from_playground(page, "#chat-continue", "/v1/responses")
    assert sent["previous_response_id"] == first_id and sent["stream"] is True, sent
    assert sent["reasoning"] == {"summary": "auto"} and "instructions" not in sent, sent
    expect(thinking).to_have_text(THOUGHT)
    expect(text).to_have_text(THINKING_ANSWER)
    status, _, _, second_id = finished_reply(page)
    assert status == "completed" and second_id.startswith("resp_") and second_id != first_id, (status, second_id)
    second = stored(second_id)
    assert second["previous_response_id"] == first_id, second
    assert [item["type"] for item in second["output"]] == ["reasoning", "message"], second["output"]
    page.screenshot(path=str(screenshots / "6-responses-reasoning.png"))

    # 3. Continue again, whole (not streamed): the model got the first request's input through the chain of two.
    page.uncheck("#chat-stream")
    page.uncheck("#chat-reasoning")
    page.fill("#chat-input", RECALL_PROMPT)
    sent = send_from_playground(page, "#chat-continue", "/v1/responses")
    assert sent["previous_response_id"] == second_id and sent["stream"] is False and "reasoning" not in sent, sent
    expect(text).to_have_text("Recalled from the history: PELICAN-77")
    expect(thinking).to_have_count(0)
    status, _, _, third_id = finished_reply(page)
    assert status == "completed" and third_id not in (first_id, second_id), (status, third_id)
    assert stored(third_id)["previous_response_id"] == second_id

    # 4. Send (not Continue), whole, with a reasoning summary: a new conversation, rendered from the body.
    page.check("#chat-reasoning")
    page.fill("#chat-input", THINKING_PROMPT)
    sent = send_from_playground(page, "#chat-send", "/v1/responses")
    assert "previous_response_id" not in sent and sent["stream"] is False, sent
    expect(thinking).to_have_text(THOUGHT)
    expect(text).to_have_text(THINKING_ANSWER)
    _, _, _, fourth_id = finished_reply(page)
    assert stored(fourth_id)["previous_response_id"] is None

    # Back to Claude Messages: the Responses-only controls go; Stream and the system prompt apply to it too.
    page.select_option("#chat-api", "messages")
    expect(page.locator("#chat-continue")).to_be_hidden()
    expect(page.locator("#chat-reasoning")).to_be_hidden()
    page.fill("#chat-system", "You are terse.")
    page.fill("#chat-input", "Hi [[sim:text:A whole message.]]")
    sent = send_from_playground(page, "#chat-send", "/v1/messages")
    assert sent["stream"] is False and sent["system"] == "You are terse.", sent
    expect(text).to_have_text("A whole message.")
    status, _, _, message_id = finished_reply(page)
    assert status == "end_turn" and message_id.startswith("msg_"), (status, message_id)
    page.check("#chat-stream")
    page.fill("#chat-system", "")
    api.close()


def reload_error(page, stack: Stack, screenshots: Path) -> None:
    from playwright.sync_api import expect

    good = stack.config.read_text()
    stack.write_config(good + BROKEN_YAML)
    page.click("#reload-button")
    result = page.locator("#reload-result")
    last_error = page.locator("#config-last-error")
    expect(result).to_have_attribute("data-kind", "error")
    for shown in (result, last_error):
        expect(shown).to_contain_text("q2api.yaml:")
        expect(shown).to_contain_text("balancing.strategy")
        expect(shown).to_contain_text("fastest")
    expect(last_error).to_have_class("errbox")
    dismiss_status_line(page)
    page.locator("#config").scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots / "7-reload-error.png"))
    rejected = stack.admin.post("/v2/reload")
    assert rejected.status_code == 422 and rejected.json()["error"]["type"] == "invalid_config", rejected.text

    # The old config kept serving: the accounts are all still there.
    expect(page.locator("#accounts-body tr")).to_have_count(3)

    stack.write_config(good)
    page.click("#reload-button")
    expect(result).to_have_attribute("data-kind", "ok")
    expect(result).to_contain_text("Reloaded")
    expect(last_error).to_have_text("none")
    config = stack.admin.get("/v2/config").json()
    assert config["last_error"] is None, config


# ---------------------------------------------------------------------------------------------
# The CSP, and the script's helpers
# ---------------------------------------------------------------------------------------------

# Runs before the page's own script: records every CSP violation the page raises.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.effectiveDirective + ' ' + (e.blockedURI || 'inline'));
});
"""


def _console_csp_messages(page) -> list[str]:
    """Chromium's console errors about the CSP ("Refused to execute inline script ..."), as they come."""
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text) if "Content Security Policy" in message.text else None)
    return messages


def _open_console(browser, stack: Stack):
    """A fresh page on the console with the CSP listener; returns (context, page, responses by path, page errors,
    CSP console messages)."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-US", timezone_id="UTC")
    context.set_default_timeout(UI_TIMEOUT_MS)
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    responses: dict[str, object] = {}
    page.on("response", lambda response: responses.__setitem__(response.url.removeprefix(stack.base_url), response))
    page_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    csp_messages = _console_csp_messages(page)
    response = page.goto(stack.base_url + "/console")
    assert response is not None and response.status == 200, response and response.status
    page.wait_for_load_state("load")
    return context, page, responses, page_errors, csp_messages


def test_console_csp(browser, stack: Stack):
    """The page loads its script and styles from /console/ and runs under `script-src 'self'; style-src 'self'`
    without a violation; the CSP is really in force: inline script, style attributes and handlers are blocked."""
    from playwright.sync_api import expect

    expect.set_options(timeout=UI_TIMEOUT_MS)
    context, page, responses, page_errors, csp_messages = _open_console(browser, stack)
    try:
        csp = responses["/console"].headers["content-security-policy"]
        assert csp == "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:", csp
        for path, content_type in (("/console/console.js", "text/javascript"), ("/console/console.css", "text/css")):
            assert path in responses, f"the page did not load {path}: {sorted(responses)}"
            assert responses[path].status == 200, (path, responses[path].status)
            assert responses[path].headers["content-type"].startswith(content_type), responses[path].headers
            assert responses[path].headers["cache-control"] == "no-cache", responses[path].headers

        # The script ran (it shows the sign-in form, hidden in the markup) and the styles apply.
        expect(page.locator("#admin-key")).to_be_visible()
        assert page.evaluate("getComputedStyle(document.querySelector('.topbar')).position") == "sticky"
        assert page.evaluate("getComputedStyle(document.querySelector('#app')).display") == "none"  # [hidden] rule
        assert page.evaluate("typeof window.q2apiConsole") == "object"

        # Signed in, it fetches, renders and styles the accounts (fetch, DOM building, classes) without a violation.
        page.fill("#admin-key", ADMIN_KEY)
        page.click("#sign-in")
        expect(page.locator("#app")).to_be_visible()
        expect(row(page, "main").locator('td[data-col="state"] .pill')).to_have_text("active")
        assert page.evaluate("getComputedStyle(document.querySelector('.pill')).fontWeight") == "600"
        page.select_option("#chat-api", "responses")
        expect(page.locator("#chat-continue")).to_be_visible()
        assert page.evaluate("window.__cspViolations") == [], "a CSP violation while the console worked"
        assert csp_messages == [] and page_errors == [], (csp_messages, page_errors)

        # What the CSP is for: markup that gets in anyway does not run and is not styled.
        page.evaluate(
            """() => {
                window.__injected = 0;
                const s = document.createElement('script');
                s.textContent = 'window.__injected = 1';
                document.body.append(s);
                const d = document.createElement('div');
                d.id = 'injected';
                d.setAttribute('style', 'display: none');
                d.setAttribute('onclick', 'window.__injected = 2');
                d.textContent = 'x';
                document.body.append(d);
                d.click();
            }"""
        )
        assert page.evaluate("window.__injected") == 0, "an injected inline script or handler ran"
        assert page.evaluate("getComputedStyle(document.getElementById('injected')).display") != "none", "an inline style applied"
        blocked = page.evaluate("window.__cspViolations")
        assert any(v.startswith("script-src") for v in blocked), blocked
        assert any(v.startswith("style-src") for v in blocked), blocked
    finally:
        context.close()


def test_console_helpers(browser, stack: Stack):
    """The helpers of console.js, called in the browser through `window.q2apiConsole`, give the right outputs."""
    context, page, _, page_errors, _ = _open_console(browser, stack)
    try:
        results = page.evaluate(HELPER_CASES)
        assert results["errorMessage"] == [
            "model is required",  # Claude's {"type":"error","error":{...}}
            "Invalid value for temperature",  # OpenAI's {"error":{...}}
            "a plain string error",  # {"error": "..."}
            "top-level message",  # {"message": "..."}
            "upstream timed out",  # a short text body
            "HTTP 502 Bad Gateway",  # an HTML page is not shown
            "HTTP 500",  # too long to show, and no status text
        ], results["errorMessage"]
        assert results["parseJSON"] == [None, None, {"a": [1, 2]}], results["parseJSON"]
        assert results["parseTime"] == [None, None, None, 1_700_000_000_000, 1_700_000_000_123, 1_704_164_645_000, None], results["parseTime"]
        assert results["relative"] == ["just now", "in 30 s", "1 min ago", "in 2 h", "3 d ago"], results["relative"]
        assert results["countdown"] == ["expired", "0:09", "1:05", "10:00"], results["countdown"]
        assert results["summaryLine"] == [
            "done · end_turn · 10 in / 20 out tokens · msg_1",
            "done · completed · ? in / 5 out tokens",
            "done",
        ], results["summaryLine"]
        assert results["normalize"] == [
            {
                "id": "a1", "label": "One", "source": "state", "state": "cooling", "reason": "throttled", "since": 1_700_000_000_000,
                "until": 1_704_164_645_000, "lastError": "429", "successes": 3, "failures": 1, "tokenExpires": 1_700_000_600_000,
                "inFlight": 2, "enabled": True,
            },
            {
                "id": "b2", "label": "", "source": "", "state": "disabled", "reason": "", "since": None, "until": None,
                "lastError": "", "successes": 7, "failures": 0, "tokenExpires": 1_704_164_645_000, "inFlight": 1, "enabled": False,
            },
        ], results["normalize"]
        assert results["extractList"] == [[1], [2], [3], [4], []], results["extractList"]
        assert results["safeUrl"] == [
            "https://view.awsapps.com/start/#/device?user_code=ABCD-EFGH",
            stack.base_url + "/relative",
            None,
            None,
        ], results["safeUrl"]
        assert results["endpoints"] == ["/v2/accounts/a%2Fb%20c/disable", "/v2/auth/status/x%3Fy"], results["endpoints"]
        # Lines and a multi-byte character split across chunks, CRLF, comments, multi-line data, a last event
        # without its blank line.
        assert results["readSSE"] == [
            ["message_start", '{"n":1}'],
            ["message", "line one\nline two"],
            ["ping", "é"],
            ["message", "tail"],
        ], results["readSSE"]
        assert results["messagesReader"] == [
            "meta streaming from claude-test…",
            "block 0 thinking",
            "append 0 thinking hm",
            "append 1 text ",  # the block's start, empty: the real view ignores it
            "append 1 text Hel",
            "append 1 text lo",
            "append 2 tool [tool call get_weather] ",
            'append 2 tool {"city":',
            "done tool_use 12 34 msg_9",
        ], results["messagesReader"]
        assert page_errors == [], page_errors
    finally:
        context.close()


# One page.evaluate: every helper on inputs with known outputs (a raw string: the escapes are JavaScript's).
HELPER_CASES = r"""async () => {
  const c = window.q2apiConsole;
  const now = Date.now();
  const long = 'x'.repeat(301);
  const out = {};
  out.errorMessage = [
    c.errorMessage(400, 'Bad Request', '', {type: 'error', error: {type: 'invalid_request_error', message: 'model is required'}}),
    c.errorMessage(400, 'Bad Request', '', {error: {message: 'Invalid value for temperature', type: 'invalid_request_error'}}),
    c.errorMessage(400, 'Bad Request', '', {error: 'a plain string error'}),
    c.errorMessage(404, 'Not Found', '', {message: 'top-level message'}),
    c.errorMessage(504, 'Gateway Timeout', '  upstream timed out\n', null),
    c.errorMessage(502, 'Bad Gateway', '<html><body>Bad Gateway</body></html>', null),
    c.errorMessage(500, '', long, null),
  ];
  out.parseJSON = [c.parseJSON(''), c.parseJSON('{'), c.parseJSON('{"a":[1,2]}')];
  out.parseTime = [c.parseTime(null), c.parseTime(undefined), c.parseTime(''), c.parseTime(1700000000),
    c.parseTime(1700000000123), c.parseTime('2024-01-02T03:04:05Z'), c.parseTime('not a time')];
  out.relative = [c.relative(now), c.relative(now + 30000), c.relative(now - 90000), c.relative(now + 2 * 3600000 + 5000),
    c.relative(now - 3 * 86400000 - 5000)];
  out.countdown = [c.countdown(0), c.countdown(9), c.countdown(65), c.countdown(600)];
  out.summaryLine = [c.summaryLine('end_turn', 10, 20, 'msg_1'), c.summaryLine('completed', null, 5, ''),
    c.summaryLine(undefined, undefined, undefined, undefined)];
  out.normalize = [
    c.normalize({id: 'a1', label: 'One', source: 'state', state: 'cooling', reason: 'throttled', since: 1700000000,
      until: '2024-01-02T03:04:05Z', last_error: '429', successes: 3, failures: 1, token_expires_at: 1700000600,
      in_flight: 2, enabled: true}),
    c.normalize({id: 'b2', status: 'disabled', counters: {successes: '7', failures: 'n/a'}, tokenExpiresAt: '2024-01-02T03:04:05Z',
      inFlight: 1}),
  ];
  out.extractList = [c.extractList([1]), c.extractList({accounts: [2]}), c.extractList({data: [3]}), c.extractList({items: [4]}),
    c.extractList({accounts: 'no'})];
  out.safeUrl = [c.safeUrl('https://view.awsapps.com/start/#/device?user_code=ABCD-EFGH'), c.safeUrl('/relative'),
    c.safeUrl('javascript:alert(1)'), c.safeUrl('data:text/html,hi')];
  out.endpoints = [c.endpoints.accountAction('a/b c', 'disable'), c.endpoints.authStatus('x?y')];

  const bytes = new TextEncoder().encode(
    ': a comment\r\nevent: message_start\r\ndata: {"n":1}\r\n\r\ndata: line one\ndata: line two\n\nevent: ping\ndata: é\n\ndata: tail');
  const cut = [0, 5, 23, 34, 40, 61, 79, 102, bytes.length];  // 33|34 splits a CR from its LF, 101|102 the bytes of é
  const stream = new ReadableStream({
    start(controller) {
      for (let i = 0; i + 1 < cut.length; i++) controller.enqueue(bytes.slice(cut[i], cut[i + 1]));
      controller.close();
    },
  });
  out.readSSE = [];
  await c.readSSE(stream, (name, data) => out.readSSE.push([name, data]));

  const calls = [];
  const view = {
    meta: {set textContent(v) { calls.push('meta ' + v); }},
    block(i, kind) { calls.push('block ' + i + ' ' + kind); },
    append(i, kind, text) { calls.push('append ' + i + ' ' + kind + ' ' + text); },
    done(reason, input, output, id) { calls.push(['done', reason, input, output, id].join(' ')); },
    fail(message) { calls.push('fail ' + message); },
  };
  const reader = c.messagesReader(view, 'fallback-model');
  for (const [type, d] of [
    ['message_start', {message: {id: 'msg_9', model: 'claude-test', usage: {input_tokens: 12}}}],
    ['content_block_start', {index: 0, content_block: {type: 'thinking', thinking: ''}}],
    ['content_block_delta', {index: 0, delta: {type: 'thinking_delta', thinking: 'hm'}}],
    ['content_block_start', {index: 1, content_block: {type: 'text', text: ''}}],
    ['content_block_delta', {index: 1, delta: {type: 'text_delta', text: 'Hel'}}],
    ['content_block_delta', {index: 1, delta: {type: 'text_delta', text: 'lo'}}],
    ['content_block_start', {index: 2, content_block: {type: 'tool_use', name: 'get_weather'}}],
    ['content_block_delta', {index: 2, delta: {type: 'input_json_delta', partial_json: '{"city":'}}],
    ['message_delta', {delta: {stop_reason: 'tool_use'}, usage: {output_tokens: 34}}],
    ['message_stop', {}],
  ]) reader.event(type, d);
  out.messagesReader = calls;
  return out;
}"""
