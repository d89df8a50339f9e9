"""Checks a stream of the OpenAI Responses API event by event, for test_openai_responses.py and
test_codex_fixtures.py.

`check_stream(events)` takes the events' JSON (as sent, or the SDK's events dumped) and enforces what the API
promises and clients rely on: `response.created` then `response.in_progress` first, strictly increasing
`sequence_number`s, exactly one terminal event (`response.completed`, `response.incomplete` or
`response.failed`) and it last, output items opened with `response.output_item.added` at consecutive
`output_index`es before any event about them and closed with `response.output_item.done` (except after
`response.failed`), content parts opened before their text deltas, `.done` events and final items whose text and
arguments are the concatenation of the deltas, and a final response whose `output` is exactly the items closed.
"""

from __future__ import annotations

import pytest

THOUGHT = "I should answer briefly."  # what [[sim:thinking]] thinks ...
THINKING_ANSWER = "The answer is 42."  # ... and answers

TERMINAL = ("response.completed", "response.incomplete", "response.failed")


def check_stream(events: list[dict]) -> dict:
    """Checks the invariants of a Responses stream (on the events' JSON) and returns what it carried:
    `terminal` (the last event), `items` (the output_item.done items in order), `text` per output index, ..."""
    assert events, "an empty stream"
    types = [e["type"] for e in events]
    assert types[0] == "response.created", types
    assert types[1] == "response.in_progress", types
    numbers = [e.get("sequence_number") for e in events]
    assert all(isinstance(n, int) and n >= 0 for n in numbers), f"an event without an integer sequence_number: {numbers}"
    assert all(a < b for a, b in zip(numbers, numbers[1:])), f"sequence_numbers do not strictly increase: {numbers}"
    terminals = [i for i, t in enumerate(types) if t in TERMINAL or t == "error"]
    assert terminals == [len(events) - 1], f"one terminal event, last: {types}"
    assert types[-1] in TERMINAL, types

    created = events[0]["response"]
    assert created["object"] == "response" and created["id"].startswith("resp_"), created
    assert created["status"] == "in_progress" and created["output"] == [], created
    for lifecycle in (e for e in events if e["type"] in ("response.in_progress", *TERMINAL)):
        assert lifecycle["response"]["id"] == created["id"], "the response id changed during the stream"

    open_items: dict[int, dict] = {}
    done_items: dict[int, dict] = {}
    text: dict[tuple[int, int], str] = {}
    arguments: dict[int, str] = {}
    summary: dict[tuple[int, int], str] = {}
    parts_open: set[tuple[int, int]] = set()
    next_index = 0
    for event in events[1:-1]:
        kind = event["type"]
        if kind == "response.in_progress":
            continue
        index = event.get("output_index")
        assert isinstance(index, int), event
        if kind == "response.output_item.added":
            assert index == next_index, f"output_index {index} where {next_index} comes next: {types}"
            next_index += 1
            item = event["item"]
            assert item.get("type") in ("message", "function_call", "reasoning", "custom_tool_call"), item
            assert item.get("id"), item
            if item["type"] in ("function_call", "custom_tool_call"):
                assert item.get("call_id") and item.get("name"), item
                arguments[index] = ""
            open_items[index] = item
            continue
        assert index in open_items, f"{kind} for output index {index}, which is not open: {types}"
        item_id = open_items[index]["id"]
        if kind == "response.output_item.done":
            done = event["item"]
            assert done["id"] == item_id and done["type"] == open_items[index]["type"], (open_items[index], done)
            done_items[index] = done
            del open_items[index]
            continue
        assert event.get("item_id") == item_id, f"{kind} names item {event.get('item_id')}, the open item is {item_id}"
        if kind == "response.content_part.added":
            key = (index, event["content_index"])
            assert key not in parts_open and key not in text, event
            assert event["part"]["type"] == "output_text" and event["part"]["text"] == "", event
            parts_open.add(key)
            text[key] = ""
        elif kind == "response.output_text.delta":
            key = (index, event["content_index"])
            assert key in parts_open, f"a text delta outside an open content part: {event}"
            assert isinstance(event["delta"], str), event
            text[key] += event["delta"]
        elif kind == "response.output_text.done":
            key = (index, event["content_index"])
            assert key in parts_open and event["text"] == text[key], (event, text.get(key))
        elif kind == "response.content_part.done":
            key = (index, event["content_index"])
            assert key in parts_open, event
            assert event["part"]["type"] == "output_text" and event["part"]["text"] == text[key], (event, text[key])
            parts_open.discard(key)
        elif kind == "response.function_call_arguments.delta":
            arguments[index] += event["delta"]
        elif kind == "response.function_call_arguments.done":
            assert event["arguments"] == arguments[index], (event, arguments[index])
        elif kind == "response.custom_tool_call_input.delta":
            arguments[index] += event["delta"]
        elif kind == "response.custom_tool_call_input.done":
            assert event["input"] == arguments[index], (event, arguments[index])
        elif kind == "response.reasoning_summary_part.added":
            key = (index, event["summary_index"])
            assert key not in summary, event
            summary[key] = ""
        elif kind == "response.reasoning_summary_text.delta":
            summary[(index, event["summary_index"])] += event["delta"]
        elif kind == "response.reasoning_summary_text.done":
            assert event["text"] == summary[(index, event["summary_index"])], event
        elif kind == "response.reasoning_summary_part.done":
            assert event["part"]["text"] == summary[(index, event["summary_index"])], event
        elif kind.startswith("response.reasoning_text.") or kind.startswith("response.refusal."):
            pass
        else:
            pytest.fail(f"unexpected event {kind}: {event}")

    terminal = events[-1]
    final = terminal["response"]
    if terminal["type"] != "response.failed":
        assert not open_items, f"items never closed: {open_items}"
        assert not parts_open, f"content parts never closed: {parts_open}"
        # Every closed item is in the final response, as output_item.done carried it, in order.
        assert [i["id"] for i in final["output"]] == [done_items[k]["id"] for k in sorted(done_items)], (final["output"], done_items)
        for index, item in done_items.items():
            if item["type"] == "message":
                for content_index, part in enumerate(item["content"]):
                    assert part["text"] == text[(index, content_index)], (item, text)
            elif item["type"] == "function_call":
                assert item["arguments"] == arguments[index], (item, arguments[index])
            elif item["type"] == "custom_tool_call":
                assert item["input"] == arguments[index], (item, arguments[index])
            elif item["type"] == "reasoning":
                for summary_index, part in enumerate(item.get("summary") or []):
                    assert part["text"] == summary.get((index, summary_index)), (item, summary)
        assert final["output"] == [done_items[k] for k in sorted(done_items)], "the final output differs from the items streamed"
    expected_status = {"response.completed": "completed", "response.incomplete": "incomplete", "response.failed": "failed"}
    assert final["status"] == expected_status[terminal["type"]], final
    return {
        "types": types,
        "created": created,
        "terminal": terminal,
        "final": final,
        "items": [done_items[k] for k in sorted(done_items)],
        "text": "".join(text[k] for k in sorted(text)),
        "arguments": arguments,
        "summary": "".join(summary[k] for k in sorted(summary)),
    }
