"""The console's Usage card and the accounts' sparklines (issue 18), in headless chromium against the real binary.

- `test_usage_chart_helpers`: the pure helpers of console.js (scales, stacking, series picking, tick and tooltip
  labels, number formatting, sparkline paths), called in the browser through `window.q2apiConsole`;
- `test_usage_view_from_a_fixture`: GET /v2/usage answered by a fixture of the endpoint's shape (the page's
  request intercepted): the SVG has one group per series with one bar per non-zero bucket, the legends name the
  groups, the tooltips give exact numbers, the key meters show value and limit ("no limit" for none), the range
  and grouping switches ask for what they show, more than eight groups fold into "other", the empty range says
  so; in light and in dark, without a CSP violation or a script error;
- `test_usage_view_from_real_requests`: two API keys (one with limits, one a plain string) with a day of usage on
  file send real requests through the real binary, one stream stays open and one request is refused by a limit;
  the page draws the real /v2/usage (the keys' names, their bar values, the throttle, the open stream, the meters,
  the accounts' sparklines). With Q2API_UPDATE_SCREENSHOT=1 it writes docs/console-usage.png (light) and
  docs/console-usage-dark.png (dark).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import threading
import time
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from conftest import MODEL, free_port
from test_console_browser import (  # noqa: F401 - `browser` and `stack` are fixtures
    ADMIN_KEY,
    CSP_LISTENER,
    REPO,
    UI_TIMEOUT_MS,
    VIEWPORT,
    Stack,
    _answers,
    _console_csp_messages,
    _wait_until,
    browser,
    row,
    stack,
)

DOCS_LIGHT = REPO / "docs" / "console-usage.png"
DOCS_DARK = REPO / "docs" / "console-usage-dark.png"
HOUR = 3600
DAY = 86400


# ---------------------------------------------------------------------------------------------
# The fixture: GET /v2/usage's shape (see the issue 18 notes), with known numbers
# ---------------------------------------------------------------------------------------------


def _buckets(count: int, seconds: int) -> list[int]:
    now = int(time.time())
    last = now - now % seconds
    return [last - seconds * (count - 1 - i) for i in range(count)]


def _series(name: str, requests: list[int], scale: int = 1) -> dict:
    return {
        "name": name,
        "requests": requests,
        "failures": [1 if value >= 5 else 0 for value in requests],
        "throttled": [1 if value >= 7 else 0 for value in requests],
        "input_tokens": [value * 100 * scale for value in requests],
        "output_tokens": [value * 20 * scale for value in requests],
    }


def _totals(series: list[dict]) -> dict:
    fields = ("requests", "failures", "throttled", "input_tokens", "output_tokens")
    return {field: sum(sum(s[field]) for s in series) for field in fields}


KEYS = [
    {
        "name": "alice",
        "enabled": True,
        "models": ["claude-sonnet-4.5"],
        "limits": {"requests_per_minute": 60, "concurrent_streams": 4, "tokens_per_day": 1_000_000},
        "current": {"requests_last_minute": 3, "streams": 1, "tokens_today": 12_345},
    },
    {
        "name": "bob",
        "enabled": False,
        "models": None,
        "limits": {"requests_per_minute": None, "concurrent_streams": None, "tokens_per_day": None},
        "current": {"requests_last_minute": 0, "streams": 0, "tokens_today": 42},
    },
]
LAST_HOUR_MAIN = [i % 7 for i in range(60)]
ACCOUNTS = [
    {"id": "main", "label": "Main", "state": "active", "in_flight": 2, "last_hour": LAST_HOUR_MAIN},
    {"id": "spare", "label": "Spare", "state": "active", "in_flight": 0, "last_hour": [0] * 60},
]


def usage_fixture(range_: str, by: str) -> dict:
    """A /v2/usage reply: 24h with two keys (or two models / accounts), 7d with three groups, 30d empty."""
    count, seconds = {"24h": (24, HOUR), "7d": (168, HOUR), "30d": (30, DAY)}[range_]
    if range_ == "24h":
        names = {"key": ["bob", "alice"], "model": ["claude-sonnet-4.5", "claude-haiku-4.5"], "account": ["main", ""]}[by]
        series = [
            _series(names[0], [0] * 20 + [1, 0, 2, 3]),
            _series(names[1], [0] * 18 + [4, 0, 5, 8, 1, 2], scale=10),
        ]
    elif range_ == "7d":
        series = [_series(f"group-{i}", [(j + i) % 3 for j in range(count)]) for i in range(3)]
    else:
        series = [_series("alice", [0] * count)]
    return {
        "range": range_,
        "by": by,
        "bucket_seconds": seconds,
        "buckets": _buckets(count, seconds),
        "series": series,
        "totals": _totals(series),
        "keys": KEYS,
        "accounts": ACCOUNTS,
    }


def many_groups_fixture() -> dict:
    """Ten models in 24 h: the chart shows the seven busiest and "other (3)"."""
    data = usage_fixture("24h", "model")
    data["series"] = [_series(f"model-{i:02d}", [0] * 23 + [i + 1]) for i in range(10)]
    data["totals"] = _totals(data["series"])
    return data


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------


class ConsolePage:
    """A signed-in console page whose GET /v2/usage is answered by `reply(range, by)` (or the real server's when
    None); remembers the queries, the script errors and the CSP violations."""

    def __init__(self, browser, stack: Stack, scheme: str, reply=None):
        self.context = browser.new_context(viewport=VIEWPORT, color_scheme=scheme, locale="en-US", timezone_id="UTC")
        self.context.set_default_timeout(UI_TIMEOUT_MS)
        self.context.add_init_script(CSP_LISTENER)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.queries: list[tuple[str, str]] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.csp_messages = _console_csp_messages(self.page)
        self.reply = reply
        if reply is not None:
            self.page.route("**/v2/usage?*", self._answer)
        self.page.goto(stack.base_url + "/console")
        self.page.fill("#admin-key", ADMIN_KEY)
        self.page.click("#sign-in")

    def _answer(self, route) -> None:
        query = parse_qs(urlparse(route.request.url).query)
        assert route.request.headers.get("authorization") == f"Bearer {ADMIN_KEY}", route.request.headers
        range_, by = query["range"][0], query["by"][0]
        self.queries.append((range_, by))
        route.fulfill(status=200, content_type="application/json", body=json.dumps(self.reply(range_, by)))

    def check_clean(self) -> None:
        violations = self.page.evaluate("window.__cspViolations")
        assert violations == [] and self.csp_messages == [], f"CSP violations: {violations} {self.csp_messages}"
        assert self.errors == [], f"JavaScript errors: {self.errors}"

    def series(self, chart: str) -> dict[str, list[tuple[int, int]]]:
        """Each drawn series of a chart: its name and its bars as (bucket, value)."""
        return self.page.evaluate(
            """(id) => Object.fromEntries(Array.from(document.querySelectorAll('#' + id + ' g.series'), (g) =>
                 [g.dataset.series, Array.from(g.querySelectorAll('rect'), (r) => [Number(r.dataset.bucket), Number(r.dataset.value)])]))""",
            chart,
        )

    def legend(self, chart: str) -> list[str]:
        return self.page.locator(f"#{chart}-legend li").all_text_contents()

    def close(self) -> None:
        self.context.close()


def _bars(values: list[int]) -> list[list[int]]:
    return [[i, v] for i, v in enumerate(values) if v > 0]


def _plus(a: list[int], b: list[int]) -> list[int]:
    return [x + y for x, y in zip(a, b)]


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------


def test_usage_chart_helpers(browser, stack: Stack):
    """The chart helpers of console.js give the right outputs, called in the browser itself."""
    view = ConsolePage(browser, stack, "light", reply=usage_fixture)
    try:
        results = view.page.evaluate(HELPER_CASES)
        assert results["niceScale"] == [
            {"max": 1, "step": 1, "ticks": [0, 1]},  # nothing: still an axis
            {"max": 1, "step": 1, "ticks": [0, 1]},
            {"max": 8, "step": 2, "ticks": [0, 2, 4, 6, 8]},
            {"max": 100, "step": 50, "ticks": [0, 50, 100]},
            {"max": 1500, "step": 500, "ticks": [0, 500, 1000, 1500]},
            {"max": 3, "step": 1, "ticks": [0, 1, 2, 3]},  # counts: no fractional steps
        ], results["niceScale"]
        assert results["stackSeries"] == [[[0, 1], [0, 0], [0, 3]], [[1, 3], [0, 5], [3, 3]]], results["stackSeries"]
        assert results["pickSeries"] == [
            [["a", 1], ["b", 1]],  # few: all, in name order
            [["m1", 1], ["m2", 1], ["m3", 1], ["other (2)", 2]],  # the 3 busiest in name order, the 2 others merged
        ], results["pickSeries"]
        assert results["timeTicks24h"] == [[2, "7 Dec"], [6, "04:00"], [10, "08:00"], [14, "12:00"], [18, "16:00"], [22, "20:00"]], results[
            "timeTicks24h"
        ]
        assert results["timeTicks7d"] == [[23, "Wed 2"], [47, "Thu 3"], [71, "Fri 4"], [95, "Sat 5"], [119, "Sun 6"], [143, "Mon 7"], [167, "Tue 8"]], results[
            "timeTicks7d"
        ]
        assert results["timeTicks30d"] == [[1, "9 Nov"], [8, "16 Nov"], [15, "23 Nov"], [22, "30 Nov"], [29, "7 Dec"]], results["timeTicks30d"]
        assert results["bucketLabel"] == ["Mon 7 Dec 14:00–15:00 UTC", "Mon 7 Dec UTC", "Mon 7 Dec 23:00–00:00 UTC"], results[
            "bucketLabel"
        ]
        assert results["formatCount"] == ["0", "950", "1k", "1.2k", "12.3k", "1M", "3.5M", "2G"], results["formatCount"]
        assert results["sparkPath"] == [
            {"line": "", "area": ""},
            {"line": "M0 21L50 21L100 21", "area": "M0 21L50 21L100 21L100 22L0 22Z"},  # all zero: a flat line
            {"line": "M0 21L50 1L100 11", "area": "M0 21L50 1L100 11L100 22L0 22Z"},
        ], results["sparkPath"]
        view.check_clean()
    finally:
        view.close()


# One page.evaluate: each helper on inputs with known outputs. 2026-12-07 is a Monday.
HELPER_CASES = r"""() => {
  const c = window.q2apiConsole;
  const out = {};
  out.niceScale = [0, 1, 7, 100, 1234, 3].map((m) => c.niceScale(m));
  out.stackSeries = c.stackSeries([[1, 0, 3], [2, 5, 0]]);
  const s = (name, n) => ({name, requests: [n]});
  out.pickSeries = [
    c.pickSeries([s('b', 1), s('a', 2)], 8).map((g) => [g.name, g.members.length]),
    c.pickSeries([s('m3', 5), s('x', 1), s('m1', 9), s('m2', 7), s('y', 0)], 4).map((g) => [g.name, g.members.length]),
  ];
  const start = Date.UTC(2026, 11, 6, 22) / 1000;  // 6 Dec 22:00: 24 hourly buckets to 7 Dec 21:00
  const hours = (from, n) => Array.from({length: n}, (_, i) => from + i * 3600);
  const ticks = (list) => list.map((t) => [t.index, t.label]);
  out.timeTicks24h = ticks(c.timeTicks(hours(start, 24), 3600));
  out.timeTicks7d = ticks(c.timeTicks(hours(Date.UTC(2026, 11, 1, 1) / 1000, 168), 3600));
  out.timeTicks30d = ticks(c.timeTicks(Array.from({length: 30}, (_, i) => Date.UTC(2026, 10, 8 + i) / 1000), 86400));
  out.bucketLabel = [c.bucketLabel(Date.UTC(2026, 11, 7, 14) / 1000, 3600), c.bucketLabel(Date.UTC(2026, 11, 7) / 1000, 86400),
    c.bucketLabel(Date.UTC(2026, 11, 7, 23) / 1000, 3600)];
  out.formatCount = [0, 950, 1000, 1234, 12345, 1e6, 3.456e6, 2e9].map(c.formatCount);
  out.sparkPath = [c.sparkPath([], 100, 22), c.sparkPath([0, 0, 0], 100, 22), c.sparkPath([0, 4, 2], 100, 22)];
  return out;
}"""


def test_usage_view_from_a_fixture(browser, stack: Stack):
    """The Usage card drawn from a /v2/usage fixture: bars per series, legends, exact tooltips, meters, switches,
    "other", the empty range; light and dark; no CSP violation."""
    from playwright.sync_api import expect

    expect.set_options(timeout=UI_TIMEOUT_MS)
    fills = {}
    for scheme in ("light", "dark"):
        view = ConsolePage(browser, stack, scheme, reply=usage_fixture)
        page = view.page
        try:
            expect(page.locator("#app")).to_be_visible()
            expect(page.locator("#usage-requests g.series")).to_have_count(2)
            assert view.queries[0] == ("24h", "key"), view.queries
            data = usage_fixture("24h", "key")
            bob, alice = data["series"]

            # Requests, stacked by key: one group per key (in name order, so colours stay put), one bar per
            # non-zero bucket, the values exact.
            requests = view.series("usage-requests")
            assert list(requests) == ["alice", "bob"], requests
            assert requests["alice"] == _bars(alice["requests"]) and requests["bob"] == _bars(bob["requests"]), requests
            assert view.legend("usage-requests") == ["alice", "bob"]
            tokens = view.series("usage-tokens")
            assert tokens["alice"] == _bars(_plus(alice["input_tokens"], alice["output_tokens"])), tokens
            assert tokens["bob"] == _bars(_plus(bob["input_tokens"], bob["output_tokens"])), tokens
            assert view.legend("usage-tokens") == ["alice", "bob"]
            # Stacked: bob's bar in bucket 22 (2 requests) sits on alice's (1), so its top is higher.
            tops = page.evaluate(
                """() => ['alice', 'bob'].map((n) => Number(document.querySelector(
                     '#usage-requests g.series[data-series="' + n + '"] rect[data-bucket="22"]').getAttribute('y')))"""
            )
            assert tops[1] < tops[0], tops

            # Failures and throttles, side by side, summed over the keys.
            problems = view.series("usage-failures")
            assert list(problems) == ["failed", "throttled by a key limit"], problems
            assert problems["failed"] == _bars(_plus(alice["failures"], bob["failures"])), problems
            assert problems["throttled by a key limit"] == _bars(_plus(alice["throttled"], bob["throttled"])), problems

            # Every hour has a tooltip with the exact numbers; the axis has hour labels.
            title = page.locator('#usage-requests .hits rect[data-bucket="21"] title').text_content()
            assert title.endswith("UTC\nalice: 8\nbob: 0\ntotal: 8"), title
            assert page.locator("#usage-requests .hits rect").count() == 24
            labels = page.locator("#usage-requests .axis text").all_text_contents()
            assert len(labels) == 6 and all(label.endswith(":00") or label[0].isdigit() for label in labels), labels
            summary = page.locator("#usage-summary")
            expect(summary).to_have_text(
                f"{data['totals']['requests']} requests · {data['totals']['failures']} failed · {data['totals']['throttled']} throttled · "
                "20.6k tokens in / 4.1k out"
            )

            # Streams in flight per account, and the key meters.
            streams = page.evaluate(
                "() => Array.from(document.querySelectorAll('#usage-streams rect'), (r) => [r.dataset.row, Number(r.dataset.value)])"
            )
            assert streams == [["Main (main)", 2], ["Spare (spare)", 0]], streams
            alice_row = page.locator('#usage-keys tr[data-key="alice"]')
            for limit, value, maximum in (("requests_per_minute", "3", "60"), ("concurrent_streams", "1", "4"), ("tokens_per_day", "12345", "1000000")):
                meter = alice_row.locator(f'td[data-limit="{limit}"] meter')
                expect(meter).to_have_attribute("value", value)
                expect(meter).to_have_attribute("max", maximum)
            expect(alice_row.locator('td[data-limit="tokens_per_day"]')).to_contain_text("12.3k / 1M")
            bob_row = page.locator('#usage-keys tr[data-key="bob"]')
            expect(bob_row.locator("meter")).to_have_count(0)
            expect(bob_row.locator('td[data-limit="tokens_per_day"]')).to_have_text("42 · no limit")
            expect(bob_row.locator('td[data-col="key"]')).to_contain_text("disabled")

            # The accounts table's sparkline of the last hour.
            spark = row(page, "main").locator('td[data-col="spark"] svg.spark')
            expect(spark).to_be_visible()
            expect(spark.locator("title")).to_have_text(f"{sum(LAST_HOUR_MAIN)} requests in the last hour, at most 6 a minute")
            assert spark.locator("path.line").get_attribute("d").count("L") == 59
            fills[scheme] = page.evaluate(
                """() => [getComputedStyle(document.querySelector('#usage-requests g.series rect')).fill,
                          getComputedStyle(document.querySelector('#usage-requests g.series[data-series="bob"] rect')).fill,
                          getComputedStyle(document.querySelector('#usage-failures g.series rect')).fill,
                          getComputedStyle(document.querySelector('#usage')).backgroundColor]"""
            )
            if scheme == "dark":
                break  # the switches and the empty state once, in light

            # Seven days by model: the switches ask for it and mark it pressed; 168 hours.
            page.click('[data-usage-range="7d"]')
            expect(page.locator("#usage-requests .hits rect")).to_have_count(168)
            assert view.queries[-1] == ("7d", "key"), view.queries
            expect(page.locator('[data-usage-range="7d"]')).to_have_attribute("aria-pressed", "true")
            expect(page.locator('[data-usage-range="24h"]')).to_have_attribute("aria-pressed", "false")
            assert view.legend("usage-requests") == ["group-0", "group-1", "group-2"]
            labels = page.locator("#usage-requests .axis text").all_text_contents()
            assert len(labels) == 7 and all(label[:3] in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun") for label in labels), labels
            page.click('[data-usage-range="24h"]')
            page.click('[data-usage-by="model"]')
            expect(page.locator("#usage-requests-legend li")).to_have_text(["claude-haiku-4.5", "claude-sonnet-4.5"])
            assert view.queries[-1] == ("24h", "model"), view.queries
            page.click('[data-usage-by="account"]')
            expect(page.locator("#usage-requests-legend li")).to_have_text(["(no account)", "main"])

            # An empty range says so, on the charts and in the summary, and draws no bar.
            page.click('[data-usage-range="30d"]')
            expect(page.locator("#usage-summary")).to_have_text("No requests in this range")
            for chart in ("usage-requests", "usage-tokens", "usage-failures"):
                expect(page.locator(f"#{chart}")).to_have_attribute("data-empty", "true")
                expect(page.locator(f"#{chart} .empty-note")).to_have_text("No requests in this range")
                expect(page.locator(f"#{chart} g.series rect")).to_have_count(0)
            expect(page.locator("#usage-requests .hits rect")).to_have_count(30)

            # Ten models: the seven busiest and "other (3)".
            view.reply = lambda range_, by: many_groups_fixture()
            page.click('[data-usage-range="24h"]')
            expect(page.locator("#usage-requests-legend li")).to_have_count(8)
            assert view.legend("usage-requests") == [f"model-{i:02d}" for i in range(3, 10)] + ["other (3)"]
            other = view.series("usage-requests")["other (3)"]
            assert other == [[23, 1 + 2 + 3]], other

            # The page keeps polling (every 3 s) without a layout jump: the card keeps its height.
            height = page.locator("#usage").bounding_box()["height"]
            asked = len(view.queries)
            page.wait_for_timeout(3500)
            assert len(view.queries) > asked, "the usage did not refresh"
            assert page.locator("#usage").bounding_box()["height"] == height
            view.check_clean()
        finally:
            view.close()
    light, dark = fills["light"], fills["dark"]
    assert light[0] == "rgb(37, 99, 235)" and dark[0] == "rgb(96, 165, 250)", fills  # --s0
    assert light[0] != light[1] and dark[0] != dark[1] and light[2] != light[0], fills  # series told apart
    assert light[3] == "rgb(255, 255, 255)" and dark[3] == "rgb(27, 30, 36)", fills  # the card follows the scheme


# ---------------------------------------------------------------------------------------------
# Real requests through the real binary
# ---------------------------------------------------------------------------------------------

# `alice` is written as an object with limits, the other key as a plain string (named key-<8 hex of its SHA-256>).
ALICE_KEY = "sk-usage-alice"
PLAIN_KEY = "sk-usage-plain"
ALICE_LIMITS = {"requests_per_minute": 6, "concurrent_streams": 2, "tokens_per_day": 2_000_000}
# The 23 hours before this one, oldest first: a working day's requests (alice gets three times the plain key's;
# the plain key is throttled at the peak).
HISTORY = [2, 1, 0, 0, 1, 3, 8, 14, 22, 27, 25, 19, 24, 30, 28, 21, 15, 9, 6, 4, 3, 2, 1]


def key_name(key: str) -> str:
    """A key's name: alice's from the YAML; a plain string's `key-` and the first 8 hex digits of its SHA-256."""
    return "alice" if key == ALICE_KEY else "key-" + hashlib.sha256(key.encode()).hexdigest()[:8]


def history_records(key: str, share: int, now: float) -> list[dict]:
    """The usage file lines (issue 18's format) of `key` for the 23 hours before this one: `requests * share / 3`
    an hour, split over both accounts and two models, with a few failures and throttles."""
    this_hour = int(now) - int(now) % HOUR
    records = []
    for back, requests in zip(range(len(HISTORY), 0, -1), HISTORY):
        hour = time.strftime("%Y-%m-%dT%H:00:00Z", time.gmtime(this_hour - back * HOUR))
        total = requests * share // 3
        for account, model, part in (("main", MODEL, total - total // 3), ("spare", "claude-haiku-4.5", total // 3)):
            if part == 0:
                continue
            records.append({
                "hour": hour, "key": key_name(key), "account": account, "model": model, "requests": part,
                "failures": 1 if requests in (22, 28) and account == "main" else 0,
                "throttled": 2 if share == 1 and requests >= 25 and account == "main" else 0,
                "input_tokens": part * 1_450, "output_tokens": part * 380,
            })
    return records


def write_history(state_dir: Path, now: float) -> dict[str, int]:
    """Writes the keys' usage files before the server starts; returns the requests each key has in them."""
    folder = state_dir / "usage"
    folder.mkdir(parents=True)
    seeded = {}
    for key, share in ((ALICE_KEY, 3), (PLAIN_KEY, 1)):
        records = history_records(key, share, now)
        (folder / f"{key_name(key)}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
        seeded[key_name(key)] = sum(r["requests"] for r in records)
    return seeded


class UsageStack(Stack):
    """A Stack whose keys have usage on file: `seeded` is the requests on file by key name."""

    seeded: dict[str, int] = {}


@pytest.fixture
def usage_stack(env, tmp_path: Path) -> Iterator[UsageStack]:
    """The simulator and a server with two API keys and two accounts, and 23 hours of the keys' usage in its
    state directory (the server reads them at startup)."""
    if not env.bin:
        pytest.skip("Q2API_BIN is not set: the usage test starts its own q2api simulate and q2api serve")
    processes: list[tuple[subprocess.Popen, Path]] = []

    def start(name: str, *arguments: str) -> None:
        log = tmp_path / f"{name}.log"
        with open(log, "wb") as out:
            processes.append(
                (subprocess.Popen([env.bin, *arguments], cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT), log)
            )

    try:
        sim_port = free_port()
        sim_url = f"http://127.0.0.1:{sim_port}"
        start("simulate", "simulate", "--port", str(sim_port))
        _wait_until(lambda: _answers(sim_url + "/__sim/state"), "the simulator answers", 20, processes)
        port = free_port()
        config = tmp_path / "q2api.yaml"
        limits = ", ".join(f"{name}: {value}" for name, value in ALICE_LIMITS.items())
        config.write_text(
            "version: 1\n"
            f"listeners: [{{address: '127.0.0.1:{port}'}}]\n"
            "api_keys:\n"
            f"  - {{name: alice, key: {ALICE_KEY}, limits: {{{limits}}}}}\n"
            f"  - {PLAIN_KEY}\n"
            f'admin_keys: ["{ADMIN_KEY}"]\n'
            f"upstream: {{endpoint: '{sim_url}/', oidc_endpoint: '{sim_url}'}}\n"
            "state_dir: ./state\n"
            "accounts:\n"
            "  - {id: main, label: Main, client_id: main-client, client_secret: main-secret, refresh_token: main-refresh}\n"
            "  - {id: spare, label: Spare, client_id: spare-client, client_secret: spare-secret, refresh_token: spare-refresh}\n"
        )
        # The checks compare this hour's bucket with the history's: not across an hour's turn (at most 30 s).
        left = HOUR - time.time() % HOUR
        if left < 30:
            time.sleep(left + 1)
        seeded = write_history(tmp_path / "state", time.time())
        start("serve", "serve", "-c", str(config))
        base_url = f"http://127.0.0.1:{port}"
        _wait_until(lambda: _answers(base_url + "/healthz"), "the server answers /healthz", 20, processes)
        the_stack = UsageStack(tmp_path, sim_url, base_url, config)
        the_stack.seeded = seeded
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


def _send(base_url: str, key: str, text: str, stream: bool) -> int:
    """A Claude request with `key`; returns the status."""
    body = {"model": MODEL, "max_tokens": 64, "stream": stream, "messages": [{"role": "user", "content": text}]}
    headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    return httpx.post(base_url + "/v1/messages", json=body, headers=headers, timeout=30, trust_env=False).status_code


def _held_stream(base_url: str, key: str, started: threading.Event) -> None:
    """A streamed request the simulator holds open until POST /__sim/release."""
    body = {"model": MODEL, "max_tokens": 64, "stream": True, "messages": [{"role": "user", "content": "Wait [[sim:hold]]"}]}
    headers = {"x-api-key": key, "anthropic-version": "2023-06-01"}
    with httpx.stream("POST", base_url + "/v1/messages", json=body, headers=headers, timeout=30, trust_env=False) as reply:
        assert reply.status_code == 200, reply.read()
        started.set()
        for _ in reply.iter_bytes():
            pass


def test_usage_view_from_real_requests(browser, usage_stack: UsageStack):
    """Two keys with a day of usage on file send real requests through the real binary (streamed and whole, over
    both accounts); alice keeps one stream open and goes over her 6 requests a minute. The console draws the real
    /v2/usage: the keys' names in the legend, their requests as bars (the history's and this hour's), the refused
    request as a throttle, the open stream on its account's bar and on alice's streams meter, her meters against
    her limits, "no limit" for the plain key, the accounts' last-hour sparklines."""
    base = usage_stack.base_url
    alice, plain = key_name(ALICE_KEY), key_name(PLAIN_KEY)
    for i in range(5):
        assert _send(base, ALICE_KEY, f"Hello number {i}, tell me a short story.", stream=i % 2 == 0) == 200
    for i in range(3):
        assert _send(base, PLAIN_KEY, f"Hello number {i}.", stream=i % 2 == 1) == 200
    started = threading.Event()
    held = threading.Thread(target=_held_stream, args=(base, ALICE_KEY, started), daemon=True)
    held.start()
    try:
        assert started.wait(10), "the held stream did not start"
        # Alice's 7th request in a minute (the held stream is her 6th) is refused by her limit.
        assert _send(base, ALICE_KEY, "One too many.", stream=False) == 429
        _check_real_usage(browser, usage_stack, {alice: 5, plain: 3})
    finally:
        httpx.post(usage_stack.sim_url + "/__sim/release", timeout=10, trust_env=False)
        held.join(10)


def _check_real_usage(browser, usage_stack: UsageStack, answered: dict[str, int]) -> None:
    from playwright.sync_api import expect

    expect.set_options(timeout=UI_TIMEOUT_MS)
    names = sorted(answered)
    plain = key_name(PLAIN_KEY)

    def counted() -> dict | None:
        reply = usage_stack.admin.get("/v2/usage", params={"range": "24h", "by": "key"})
        assert reply.status_code == 200, reply.text
        data = reply.json()
        requests = {s["name"]: sum(s["requests"]) for s in data["series"]}
        streams = sum(a["in_flight"] for a in data["accounts"])
        done = all(requests.get(name, 0) >= n + usage_stack.seeded[name] for name, n in answered.items())
        return data if streams == 1 and done and data["totals"]["throttled"] > 0 else None

    data = _wait_until(counted, "/v2/usage counts every request", 10, [])
    by_name = {s["name"]: s for s in data["series"]}
    assert sum(by_name["alice"]["throttled"]) >= 1, by_name["alice"]
    update = os.environ.get("Q2API_UPDATE_SCREENSHOT") == "1"
    for scheme, path in (("light", DOCS_LIGHT), ("dark", DOCS_DARK)):
        view = ConsolePage(browser, usage_stack, scheme)
        page = view.page
        try:
            expect(page.locator("#usage-requests-legend li")).to_have_text(names)
            requests = view.series("usage-requests")
            last = len(data["buckets"]) - 1
            for name, n in answered.items():
                assert requests[name] == _bars(by_name[name]["requests"]), (name, requests)
                assert requests[name][-1][0] == last and requests[name][-1][1] >= n, requests  # this hour's requests
                assert sum(v for _, v in requests[name]) >= n + usage_stack.seeded[name], requests  # and the history's
            tokens = view.series("usage-tokens")
            for name, s in by_name.items():
                assert tokens[name] == _bars(_plus(s["input_tokens"], s["output_tokens"])), (name, tokens)
            problems = view.series("usage-failures")
            assert problems["failed"] == _bars([sum(s["failures"][i] for s in data["series"]) for i in range(last + 1)]), problems
            throttles = problems["throttled by a key limit"]
            assert throttles[-1][0] == last and sum(v for _, v in throttles) == data["totals"]["throttled"], throttles

            # The held stream: one bar of 1 on the streams chart, and on alice's streams meter.
            streams = page.locator("#usage-streams rect").evaluate_all("bars => bars.map((b) => Number(b.dataset.value))")
            assert sorted(streams) == [0, 1], streams
            alice_row = page.locator('#usage-keys tr[data-key="alice"]')
            current = next(k for k in data["keys"] if k["name"] == "alice")["current"]
            assert current["streams"] == 1 and current["requests_last_minute"] == 6, current
            for limit, value in (
                ("requests_per_minute", "6"),
                ("concurrent_streams", "1"),
                ("tokens_per_day", str(current["tokens_today"])),
            ):
                meter = alice_row.locator(f'td[data-limit="{limit}"] meter')
                expect(meter).to_have_attribute("max", str(ALICE_LIMITS[limit]))
                expect(meter).to_have_attribute("value", value)
            expect(page.locator(f'#usage-keys tr[data-key="{plain}"] td.limit')).to_have_text([re.compile(r"\d+ · no limit")] * 3)

            # The accounts that answered have a sparkline whose title counts their requests of the last hour.
            for account in data["accounts"]:
                total = sum(account["last_hour"])
                expect(row(page, account["id"]).locator('td[data-col="spark"] title')).to_contain_text(f"{total} requests in the last hour")
            assert sum(sum(a["last_hour"]) for a in data["accounts"]) >= sum(answered.values()), data["accounts"]
            if update:
                # The accounts (with their sparklines) and the Usage card, without the pointer over a chart.
                page.mouse.move(0, 0)
                top = page.locator("#accounts").bounding_box()
                bottom = page.locator("#usage").bounding_box()
                scroll = page.evaluate("window.scrollY")
                margin = 10
                clip = {
                    "x": top["x"] - margin,
                    "y": top["y"] + scroll - margin,
                    "width": top["width"] + 2 * margin,
                    "height": bottom["y"] + bottom["height"] - top["y"] + 2 * margin,
                }
                page.screenshot(path=str(path), clip=clip, full_page=True)
            view.check_clean()
        finally:
            view.close()
