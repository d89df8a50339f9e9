"""The request surface of the installed anthropic SDK, walked from its types (for test_sdk_surface.py).

`SdkSurface(is_served)` walks `anthropic.types.MessageCreateParams` (non-streaming and streaming),
`anthropic.types.beta.MessageCreateParams` and the two `MessageCountTokensParams` by typing introspection
(`get_type_hints`, `get_origin` / `get_args`, `Required`, `Literal`, `Union`, `Iterable`, `Optional`);
`variants("create" | "count_tokens")` is one `Variant` per thing a client can choose:

- every member of a union (`ImageBlockParam.source=URLImageSourceParam`, `request.tools=ToolBash20250124Param`),
- every value of a `Literal` (`request.service_tier=auto`, `OutputConfigParam.effort=max`),
- every optional key, present (`ToolParam.defer_loading`) and, where the type allows it, null (`...=None`).

A variant is named `Owner.key=member`: `Owner` is the TypedDict class name without the `Beta` prefix (the root
request is `request`), `member` a class name, a literal value or a scalar type (`str`, `dict`, `IO`,
`list[str]`). The content blocks of user and assistant messages share one slot, `ContentBlockParam`. Names are
stable across runs and equal for the standard and beta surfaces, so one rule covers both; the standard surface
is walked first and the beta walk adds what only the beta declares.

The walk is breadth-first, `tools` first, then `messages`, then the other top-level keys, so that a class
reachable from the messages (a text block) is varied inside a message. It descends into a TypedDict only
through a variant the caller says is served (`is_served(name)`): the keys of a tool q2api rejects need no rules
of their own. A union of four or more members met again with the same members (the model literals of
`FallbackParam.model`, the `allowed_callers` of every tool) is enumerated once, at its first slot.

`body(variant)` turns a variant into the keyword arguments of the SDK call: the variant's value at the end of
its path, every TypedDict on the way a minimal valid instance (required keys only, filled from the type, with
hand-written values where a value must mean something: real images, a JSON schema, a tool_use id that a
tool_result references), placed realistically in an otherwise minimal request (assistant-only blocks in an
assistant turn, a tool_use answered by a tool_result, a server tool use paired with its result, the last
message a user turn whose simulator markers ask for the reply the variant is about: JSON for a schema,
thinking when thinking is on, a tool call when tool_choice forces one).
"""

from __future__ import annotations

import atexit
import base64
import collections.abc
import copy
import dataclasses
import io
import os
import pathlib
import shutil
import tempfile
import types
import typing
from typing import Any, Callable, Iterator, Literal, Union, get_args, get_origin, get_type_hints

import anthropic.types as std_types
import anthropic.types.beta as beta_types
import pydantic
import typing_extensions

from conftest import MODEL, png_1x1_base64

# ---------------------------------------------------------------------------------------------
# The roots
# ---------------------------------------------------------------------------------------------

Surface = Literal["messages", "beta"]
Endpoint = Literal["create", "count_tokens"]


def roots(endpoint: Endpoint) -> list[tuple[Surface, tuple[type, ...]]]:
    """The TypedDicts a request body is, per surface (standard first)."""
    if endpoint == "create":
        return [
            ("messages", get_args(std_types.MessageCreateParams)),
            ("beta", get_args(beta_types.MessageCreateParams)),
        ]
    return [
        ("messages", (std_types.MessageCountTokensParams,)),
        ("beta", (beta_types.MessageCountTokensParams,)),
    ]


ROOT = "request"

# The element union of user and assistant content is one slot: a block is placed by its kind, not by the
# role whose type listed it (both list the same blocks).
SLOT_ALIASES = {
    ("UserMessageParam", "content"): "ContentBlockParam",
    ("AssistantMessageParam", "content"): "ContentBlockParam",
}

# ---------------------------------------------------------------------------------------------
# Types
# ---------------------------------------------------------------------------------------------

_REQUIRED = {typing_extensions.Required, getattr(typing, "Required", typing_extensions.Required)}
_NOT_REQUIRED = {typing_extensions.NotRequired, getattr(typing, "NotRequired", typing_extensions.NotRequired)}
_ANNOTATED = {typing.Annotated, typing_extensions.Annotated}
_LITERAL = {typing.Literal, typing_extensions.Literal}
_UNION = {Union, types.UnionType}
_LISTS = {list, collections.abc.Iterable, collections.abc.Sequence, collections.abc.MutableSequence, tuple}


# Beta classes whose name differs from the standard one for the same thing.
NAME_ALIASES = {"RequestDocumentBlockParam": "DocumentBlockParam", "CitationsConfigParamParam": "CitationsConfigParam"}


def norm(name: str) -> str:
    """A class name without the beta prefix: `BetaImageBlockParam` -> `ImageBlockParam`."""
    if name.startswith("Beta") and len(name) > 4 and name[4].isupper():
        name = name[4:]
    return NAME_ALIASES.get(name, name)


def is_typeddict(t: object) -> bool:
    return typing_extensions.is_typeddict(t)


def is_model(t: object) -> bool:
    return isinstance(t, type) and issubclass(t, pydantic.BaseModel)


def _unwrap(hint: object) -> tuple[object, bool | None]:
    """Strips Required / NotRequired / Annotated; returns the type and the explicit required-ness, if any."""
    required: bool | None = None
    while True:
        origin = get_origin(hint)
        if origin in _REQUIRED:
            required, hint = True, get_args(hint)[0]
        elif origin in _NOT_REQUIRED:
            required, hint = False, get_args(hint)[0]
        elif origin in _ANNOTATED:
            hint = get_args(hint)[0]
        else:
            return hint, required


def fields(cls: type) -> dict[str, tuple[object, bool]]:
    """key -> (type, required) of a TypedDict or a pydantic model.

    `__required_keys__` cannot be trusted on its own: the SDK's modules use `from __future__ import annotations`,
    so `Required[...]` is a string when the class is created and only `get_type_hints` sees it."""
    if is_model(cls):
        return {f.alias or name: (f.annotation, f.is_required()) for name, f in cls.model_fields.items()}
    hints = get_type_hints(cls, include_extras=True)
    out = {}
    for key, hint in hints.items():
        t, explicit = _unwrap(hint)
        out[key] = (t, explicit if explicit is not None else key in cls.__required_keys__)
    return out


@dataclasses.dataclass(frozen=True)
class Member:
    """One choice at a key: a TypedDict, a response model, a literal value, a scalar type or null."""

    kind: str  # typeddict | model | literal | scalar | none | unknown
    value: Any  # the class, the literal value, the scalar type
    in_list: bool  # sent as [value]
    name: str

    @property
    def identity(self) -> tuple:
        return (self.kind, self.value if self.kind != "literal" else repr(self.value))


def _scalar_name(t: object) -> str | None:
    if t in (str, int, float, bool, object, bytes):
        return t.__name__  # type: ignore[union-attr]
    if get_origin(t) in (dict, collections.abc.Mapping) or t in (dict, collections.abc.Mapping):
        return "dict"
    if t is typing.IO or get_origin(t) is typing.IO or t is io.IOBase:
        return "IO"
    if t is os.PathLike or get_origin(t) is os.PathLike:
        return "PathLike"
    return None


def members(hint: object) -> list[Member]:
    """The choices a type offers, unions flattened, list elements marked `in_list`."""
    out: list[Member] = []

    def add(t: object, in_list: bool) -> None:
        t, _ = _unwrap(t)
        origin = get_origin(t)
        if origin in _UNION:
            for arg in get_args(t):
                add(arg, in_list)
        elif origin in _LITERAL:
            for value in get_args(t):
                out.append(Member("literal", value, in_list, str(value)))
        elif t is type(None) or t is None:
            out.append(Member("none", None, in_list, "None"))
        elif is_typeddict(t):
            out.append(Member("typeddict", t, in_list, norm(t.__name__)))  # type: ignore[union-attr]
        elif is_model(t):
            out.append(Member("model", t, in_list, norm(t.__name__)))  # type: ignore[union-attr]
        elif (name := _scalar_name(t)) is not None:
            out.append(Member("scalar", t, in_list, name))
        elif origin in _LISTS or (isinstance(origin, type) and origin.__name__ == "SequenceNotStr"):
            (element,) = get_args(t)[:1] or (object,)
            element, _ = _unwrap(element)
            if _scalar_name(element) is not None:
                out.append(Member("scalar", list, in_list, f"list[{_scalar_name(element)}]"))
            else:
                add(element, True)
        else:
            out.append(Member("unknown", t, in_list, repr(t)))

    add(hint, False)
    return out


# ---------------------------------------------------------------------------------------------
# The walk
# ---------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Step:
    owner: str  # normalized owner name ("request" for the root)
    key: str
    member: Member


@dataclasses.dataclass(frozen=True)
class Variant:
    name: str
    surface: Surface
    endpoint: Endpoint
    path: tuple[Step, ...]

    @property
    def id(self) -> str:
        return self.name if self.surface == "messages" else f"beta:{self.name}"


def slot_name(owner: str, key: str, member: Member) -> str:
    if member.in_list and (owner, key) in SLOT_ALIASES:
        return SLOT_ALIASES[(owner, key)]
    return f"{owner}.{key}"


def slot_groups(owner: str, key: str, options: list[Member]) -> dict[str, list[Member]]:
    """The non-null members of a key by slot name, in order (user content: `UserMessageParam.content` for the
    string, `ContentBlockParam` for the blocks)."""
    groups: dict[str, list[Member]] = {}
    for m in options:
        if m.kind != "none":
            groups.setdefault(slot_name(owner, key, m), []).append(m)
    return groups


# A union of at least this many members that was enumerated once is not enumerated again at another slot
# (the model list, the tool union, the thinking configs, the effort levels, `allowed_callers`). Smaller ones
# are, since two of them are usually two features (`display` of enabled and of adaptive thinking).
REUSED_UNION_MIN = 4


def union_identity(group: list[Member]) -> frozenset:
    return frozenset(m.identity for m in group)


def merged_root_fields(classes: tuple[type, ...]) -> dict[str, tuple[object, bool]]:
    """The keys of a union of TypedDicts (MessageCreateParamsNonStreaming | ...Streaming) as one TypedDict:
    a key's type is the union of its types, and it is required when every member requires it."""
    per_class = [fields(cls) for cls in classes]
    merged: dict[str, tuple[list[object], bool]] = {}
    for class_fields in per_class:
        for key, (t, required) in class_fields.items():
            ts, req = merged.get(key, ([], True))
            if t not in ts:
                ts.append(t)
            merged[key] = (ts, req and required)
    out: dict[str, tuple[object, bool]] = {}
    for key, (ts, req) in merged.items():
        t = ts[0] if len(ts) == 1 else Union[tuple(ts)]  # type: ignore[misc]
        out[key] = (t, req and all(key in f for f in per_class))
    return out


FIRST_KEYS = ["tools", "messages"]


class Walker:
    """One walk (create or count_tokens) over the standard then the beta surface."""

    def __init__(self, endpoint: Endpoint, is_served: Callable[[str], bool]) -> None:
        self.endpoint = endpoint
        self.is_served = is_served
        self.variants: dict[str, Variant] = {}
        self.unions: dict[frozenset, str] = {}  # member identities -> the slot that enumerated them
        self.descended: set[Any] = set()
        for surface, classes in roots(endpoint):
            root_fields = merged_root_fields(classes)
            # Breadth-first, `tools` first, then `messages`, then the other top-level keys together: the tool
            # union is enumerated at `request.tools` (not inside a beta tool_addition block), and a class
            # reachable from the messages (a text block) is varied inside a message, where clients put it.
            firsts = [[key] for key in FIRST_KEYS if key in root_fields]
            rest = [key for key in root_fields if key not in FIRST_KEYS]
            for keys in [*firsts, rest]:
                queue: collections.deque = collections.deque()
                for key in keys:
                    queue.extend(self._key(surface, ROOT, key, *root_fields[key], ()))
                while queue:
                    owner, owner_fields, path = queue.popleft()
                    for key, (t, required) in owner_fields.items():
                        queue.extend(self._key(surface, owner, key, t, required, path))

    def canonical_slot(self, slot: str, group: list[Member]) -> str:
        """Where a group of members was enumerated: `slot` itself, or the first slot of a reused union."""
        if len(group) >= REUSED_UNION_MIN:
            return self.unions.get(union_identity(group), slot)
        return slot

    def _emit(self, surface: Surface, name: str, path: tuple[Step, ...]) -> None:
        if name not in self.variants:
            self.variants[name] = Variant(name, surface, self.endpoint, path)

    def _descend(self, member: Member, path: tuple[Step, ...]) -> Iterator[tuple]:
        if member.kind == "typeddict" and member.value not in self.descended:
            self.descended.add(member.value)
            yield (member.name, fields(member.value), path)

    def _key(
        self, surface: Surface, owner: str, key: str, t: object, required: bool, path: tuple[Step, ...]
    ) -> Iterator[tuple]:
        """Emits the variants of one key; yields the TypedDicts to walk next."""
        options = members(t)
        real = [m for m in options if m.kind != "none"]
        if len(real) >= 2:
            for slot, group in slot_groups(owner, key, options).items():
                if len(group) >= REUSED_UNION_MIN and self.unions.setdefault(union_identity(group), slot) != slot:
                    continue  # a reused union: enumerated at its first slot
                for m in group:
                    name = f"{slot}={m.name}"
                    step_path = path + (Step(owner, key, m),)
                    self._emit(surface, name, step_path)
                    if self.is_served(name):
                        yield from self._descend(m, step_path)
        elif len(real) == 1:
            m = real[0]
            step_path = path + (Step(owner, key, m),)
            if not required:
                name = f"{owner}.{key}"
                self._emit(surface, name, step_path)
                if self.is_served(name):
                    yield from self._descend(m, step_path)
            else:
                yield from self._descend(m, step_path)
        for m in options:
            if m.kind == "none":
                self._emit(surface, f"{owner}.{key}=None", path + (Step(owner, key, m),))
                break


# ---------------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------------

TOOL_USE_ID = "toolu_01SdkSurface0000000000001"
SERVER_TOOL_USE_ID = "srvtoolu_01SdkSurface000000001"
MCP_TOOL_USE_ID = "mcptoolu_01SdkSurface00000001"
FILE_ID = "file_011CSdkSurface00000000001"

# The simulator answers the last user message; this reply is valid JSON for ANSWER_SCHEMA, so that structured
# output variants get a reply that satisfies their schema.
PROMPT_TEXT = "Answer in one short line."
PROMPT_REPLY = '[[sim:text:{"answer": "ok"}]]'
PROMPT = f"{PROMPT_TEXT} {PROMPT_REPLY}"

WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"location": {"type": "string", "description": "City name"}},
    "required": ["location"],
}
ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
    "additionalProperties": False,
}
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Get the current weather for a location.",
    "input_schema": WEATHER_SCHEMA,
}
# A deferred tool, loaded by a tool_reference (tool search); and one more tool that is not deferred, since a
# request whose tools are all deferred offers the model nothing.
DEFERRED_TOOL = {
    "name": "get_time",
    "description": "Get the current time in a time zone.",
    "input_schema": {"type": "object", "properties": {"zone": {"type": "string"}}, "required": ["zone"]},
    "defer_loading": True,
}
SEARCH_TOOL = {
    "name": "search_tools",
    "description": "Find more tools by keyword.",
    "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
}

# Small real images, one per media type the SDK lists: conftest's 1x1 PNG, the 16x16 JPEG of CPython's test
# data (Lib/test/test_email/data/python.jpg), a 1x1 GIF and a 1x1 lossless WebP.
JPEG_BASE64 = (
    "/9j/4AAQSkZJRgABAQEAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJDRENDg8Q"
    "EBEQCgwSExIQEw8QEBD/2wBDAQMDAwQDBAgEBAgQCwkLEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ"
    "EBAQEBAQEBD/wAARCAAQABADASIAAhEBAxEB/8QAFgABAQEAAAAAAAAAAAAAAAAABwQF/8QAJBAAAQQBBAICAwAAAAAAAAAAAQID"
    "BAYFBwgSExEiABQJMTL/xAAVAQEBAAAAAAAAAAAAAAAAAAAABv/EACMRAAECBQMFAAAAAAAAAAAAAAECEQMEBQYhABIxFRZhgeH/"
    "2gAMAwEAAhEDEQA/ABSm0mobc8HmExLUlRzzEWPkJWW+ulrsaUVAseUgslSlH9LKuPryIKuWPZdskzXmm3fX5m2nF4GlVxx/HOpx"
    "4ks51+MiU/Iaad7UcUo4tILoS4kqcWkezS0hO/HvuRp0rO6hWnWO1UisZVuFi4GFeyEpmGepa5S5SWVPuciFKRFLgSrwetnyPIB+"
    "Vb4N9mKhQMzo5po9XLdDs9d6ZVix2VEhiL9kuNPxw2gEKcDQ/rs8AuA8VAe0vdl7VOYn+27flGAUgmITjbhSmCg3BYlyeWDkMolv"
    "w4KOp1KM6iCNvngZHwetf//Z"
)
GIF_BASE64 = "R0lGODlhAQABAIAAAP8AAAAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw=="
WEBP_BASE64 = "UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA=="


def _pdf(text: str) -> bytes:
    """A minimal valid one-page PDF showing `text` (for the base64 PDF source)."""
    stream = f"BT /F1 18 Tf 36 96 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


PDF_BASE64 = base64.b64encode(_pdf("Hello from a PDF")).decode("ascii")

IMAGES = {
    "image/png": png_1x1_base64(),
    "image/jpeg": JPEG_BASE64,
    "image/gif": GIF_BASE64,
    "image/webp": WEBP_BASE64,
}

# Plausible strings by key, then by (owner, key). Anything else: "example".
STRINGS: dict[str, str] = {
    "text": "The quick brown fox jumps over the lazy dog.",
    "thinking": "The user greets me; a short friendly answer will do.",
    "signature": "EqQBCkYIBxgCKkBSdkSurfaceSignatureForTheConformanceTest0000000000000000000000000000000000000",
    "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB0URj",
    "name": "get_weather",
    "tool_name": "get_time",
    "url": "https://example.com/",
    "file_id": FILE_ID,
    "title": "Example Domain",
    "source": "https://example.com/search?q=fox",
    "cited_text": "The quick brown fox",
    "document_title": "Example Domain",
    "encrypted_content": "RW5jcnlwdGVkU2RrU3VyZmFjZQ==",
    "encrypted_index": "RW5jcnlwdGVkSW5kZXg=",
    "encrypted_stdout": "RW5jcnlwdGVkU3Rkb3V0",
    "stdout": "hello\n",
    "stderr": "",
    "content": "Example content.",
    "context": "Fetched for the conformance test.",
    "tool_use_id": TOOL_USE_ID,
    "server_name": "example-mcp",
    "mcp_server_name": "example-mcp",
    "previous_message_id": "msg_01SdkSurface0000000000001",
    "user_id": "user-sdk-surface",
    "inference_geo": "us",
    "user_profile_id": "uprof_01SdkSurface000000001",
    "workspace_id": "wrkspc_01SdkSurface00000001",
    "instructions": "Keep the summary short.",
    "skill_id": "pdf",
    "version": "latest",
    "token": "fct_01SdkSurface000000000001",
    "tab_id": "tab-1",
    "download_id": "download-1",
    "path": "/tmp/report.csv",
    "error": "network error",
    "error_message": "file not found",
    "retrieved_at": "2026-01-01T00:00:00Z",
    "page_age": "2 days ago",
    "city": "Paris",
    "region": "Ile-de-France",
    "country": "FR",
    "timezone": "Europe/Paris",
    "description": "Get the current weather for a location.",
    "authorization_token": "mcp-token",
    "id": "example-id",
    "model": MODEL,
    "toolset_name": "computer",
    "tool_id": SERVER_TOOL_USE_ID,
    "stop_reason": "end_turn",
    "betas": "q2api-unknown-beta-2099-01-01",
    "container": "container_01SdkSurface0000001",
    "fallback_credit_token": "fct_01SdkSurface000000000001",
    "system": "You are a concise assistant.",
}
STRINGS_BY_OWNER: dict[tuple[str, str], str] = {
    ("ToolUseBlockParam", "id"): TOOL_USE_ID,
    ("ToolUseBlock", "id"): TOOL_USE_ID,
    ("ServerToolUseBlockParam", "id"): SERVER_TOOL_USE_ID,
    ("ServerToolUseBlock", "id"): SERVER_TOOL_USE_ID,
    ("MCPToolUseBlockParam", "id"): MCP_TOOL_USE_ID,
    ("MCPToolUseBlock", "id"): MCP_TOOL_USE_ID,
    ("MCPToolUseBlockParam", "name"): "search_docs",
    ("MCPToolUseBlock", "name"): "search_docs",
    ("RequestMCPToolResultBlockParam", "tool_use_id"): MCP_TOOL_USE_ID,
    ("MCPToolResultBlock", "tool_use_id"): MCP_TOOL_USE_ID,
    ("ToolResultBlockParam", "tool_use_id"): TOOL_USE_ID,
    ("URLImageSourceParam", "url"): "https://example.com/cat.png",
    ("URLPDFSourceParam", "url"): "https://example.com/paper.pdf",
    ("ToolChangeToolReferenceParam", "name"): "get_time",
    ("ToolChangeMCPToolReferenceParam", "name"): "search_docs",
    ("MCPToolParamParam", "name"): "search_docs",
    ("MCPToolParam", "name"): "search_docs",
    ("RequestMCPServerURLDefinitionParam", "name"): "example-mcp",
    ("RequestMCPServerURLDefinitionParam", "url"): "https://mcp.example.com/sse",
    ("MCPToolsetParam", "mcp_server_name"): "example-mcp",
    ("TextEditorCodeExecutionViewResultBlockParam", "content"): "print('hello')\n",
    ("PlainTextSourceParam", "data"): "The grass is green. The sky is blue.",
    ("ContentBlockSourceParam", "content"): "The grass is green. The sky is blue.",
    ("SystemMessageParam", "content"): "The user's working directory is /home/user/project.",
    ("CompactionBlockParam", "content"): "Summary: the user asked about the weather in Paris; it is sunny.",
    ("CompactionBlock", "content"): "Summary: the user asked about the weather in Paris; it is sunny.",
    ("AdvisorResultBlockParam", "text"): "Consider checking the forecast first.",
    ("ThinkingBlockParam", "thinking"): "The user greets me; a short friendly answer will do.",
    ("ThinkingBlock", "thinking"): "The user greets me; a short friendly answer will do.",
}
INTS: dict[str, int] = {
    "max_tokens": 256,
    "budget_tokens": 1024,
    "display_height_px": 768,
    "display_width_px": 1024,
    "display_number": 1,
    "value": 1,
    "total": 20000,
    "remaining": 10000,
    "return_code": 0,
    "start_char_index": 0,
    "end_char_index": 19,
    "start_page_number": 1,
    "end_page_number": 2,
    "start_block_index": 0,
    "end_block_index": 1,
    "document_index": 0,
    "search_result_index": 0,
    "max_uses": 5,
    "max_content_tokens": 10000,
    "max_characters": 10000,
    "size_bytes": 1024,
}
DICTS: dict[str, Callable[[], dict]] = {
    "input_schema": lambda: copy.deepcopy(WEATHER_SCHEMA),
    "schema": lambda: copy.deepcopy(ANSWER_SCHEMA),
    "input": lambda: {"location": "Paris"},
    "properties": lambda: copy.deepcopy(WEATHER_SCHEMA["properties"]),
    "input_examples": lambda: {"location": "Paris"},
    "trigger": lambda: {"type": "refusal"},
}
LISTS_OF_STR: dict[str, list[str]] = {
    "stop_sequences": ["\n\nHuman:"],
    "required": ["location"],
    "allowed_domains": ["example.com"],
    "blocked_domains": ["example.org"],
    "clear_tool_inputs": ["get_weather"],
    "exclude_tools": ["get_time"],
    "allowed_tools": ["search_docs"],
    "lines": ["print('hello')"],
}
SERVER_INPUTS = {
    "web_search": {"query": "weather in Paris"},
    "web_fetch": {"url": "https://example.com/"},
    "code_execution": {"code": "print('hello')"},
    "bash_code_execution": {"command": "echo hello"},
    "text_editor_code_execution": {"command": "view", "path": "/tmp/a.py"},
    "tool_search_tool_regex": {"pattern": "weather"},
    "tool_search_tool_bm25": {"query": "weather"},
    "advisor": {},
}
# Which server tool a result block answers.
RESULT_OF_SERVER_TOOL = {
    "web_search": "web_search_tool_result",
    "web_fetch": "web_fetch_tool_result",
    "code_execution": "code_execution_tool_result",
    "bash_code_execution": "bash_code_execution_tool_result",
    "text_editor_code_execution": "text_editor_code_execution_tool_result",
    "tool_search_tool_regex": "tool_search_tool_result",
    "tool_search_tool_bm25": "tool_search_tool_result",
    "advisor": "advisor_tool_result",
}
SERVER_TOOL_OF_RESULT = {result: tool for tool, result in reversed(list(RESULT_OF_SERVER_TOOL.items()))}

# Blocks that only the model writes: they go in an assistant turn.
ASSISTANT_BLOCKS = {
    "thinking",
    "redacted_thinking",
    "tool_use",
    "server_tool_use",
    "mcp_tool_use",
    "mcp_tool_result",
    "compaction",
    "fallback",
    "mcp_tool_listing",
    *RESULT_OF_SERVER_TOOL.values(),
}

# Headers a real client sends with a field (cosmetic: q2api accepts any beta).
BETA_FOR_KEY = {
    "context_management": "context-management-2025-06-27",
    "mcp_servers": "mcp-client-2025-11-20",
    "compaction": "compact-2026-09-04",
    "thread": "message-threads-2026-08-12",
    "fallbacks": "server-side-fallback-2026-07-01",
}


class Builder:
    """Builds the request of a variant; `walker` (of the variant's endpoint) says which member of a required
    union to use: the first one whose variant is served."""

    def __init__(self, walker: Walker, files: pathlib.Path) -> None:
        self.walker = walker
        self.files = files

    # -- scalars ----------------------------------------------------------------------------

    def scalar(self, owner: str, key: str, member: Member, required: bool = False) -> Any:
        name = member.name
        if name == "str":
            return STRINGS_BY_OWNER.get((owner, key), STRINGS.get(key, "example"))
        if name == "int":
            return INTS.get(key, 1)
        if name == "float":
            return 0.5
        if name == "bool":
            # present as a variant: true (the feature on); required: false unless it must be true to mean anything
            return key in ("enabled", "active") if required else True
        if name in ("dict", "object"):
            return DICTS.get(key, dict)()
        if name == "list[dict]":
            return [DICTS.get(key, dict)()]
        if name == "list[int]":
            return [INTS.get(key, 1)]
        if name.startswith("list["):
            return list(LISTS_OF_STR.get(key, ["example"]))
        if name == "IO":
            return io.BytesIO(base64.b64decode(png_1x1_base64()))
        if name == "PathLike":
            path = self.files / "sdk-surface-1x1.png"
            path.write_bytes(base64.b64decode(png_1x1_base64()))
            return path
        raise TypeError(f"the walker cannot build a value of {member.value!r} for {owner}.{key}: a new kind of type")

    # -- members ----------------------------------------------------------------------------

    def leaf(self, owner: str, key: str, member: Member, required: bool = False) -> Any:
        if member.kind == "typeddict":
            return self.minimal(member.value)
        if member.kind == "model":
            return self.model(member.value)
        if member.kind == "literal":
            return member.value
        if member.kind == "none":
            return None
        if member.kind == "scalar":
            return self.scalar(owner, key, member, required)
        raise TypeError(f"the walker cannot build {member.value!r} (at {owner}.{key}): new kind of type in the SDK")

    def default_member(self, owner: str, key: str, t: object) -> Member:
        """The member a required key gets when the variant is elsewhere: the first served one."""
        options = members(t)
        real = [m for m in options if m.kind != "none"]
        if not real:
            return options[0]
        if len(real) >= 2:
            for slot, group in slot_groups(owner, key, options).items():
                canonical = self.walker.canonical_slot(slot, group)
                for m in group:
                    if self.walker.is_served(f"{canonical}={m.name}"):
                        return m
        return real[0]

    def fill(self, owner: str, key: str, t: object) -> Any:
        """The value of a required key that is not on the variant's path."""
        if key in DICTS:
            return DICTS[key]()
        if key == "model":
            return MODEL  # not the first literal of ModelParam
        m = self.default_member(owner, key, t)
        value = self.leaf(owner, key, m, required=True)
        return [value] if m.in_list else value

    # -- objects ----------------------------------------------------------------------------

    def minimal(self, cls: type, overrides: dict[str, Any] | None = None) -> dict:
        owner = norm(cls.__name__)
        overrides = overrides or {}
        always = ALWAYS_KEYS.get(owner, ())
        out: dict[str, Any] = {}
        for key, (t, required) in fields(cls).items():
            if key in overrides:
                out[key] = overrides[key]
            elif required or key in always:
                out[key] = self.fill(owner, key, t)
        return finish(owner, out)

    def model(self, cls: type) -> Any:
        """A response block as the SDK hands it back (`message.content`), to be sent again as is."""
        data = self.model_dict(cls)
        try:
            return cls.model_validate(data)
        except pydantic.ValidationError:
            return cls.construct(**data)

    def model_dict(self, cls: type) -> dict:
        owner = norm(cls.__name__)
        out: dict[str, Any] = {}
        always = ALWAYS_KEYS.get(owner, ())
        for key, (t, required) in fields(cls).items():
            if not required and key not in always:
                continue
            if key in DICTS or key == "model":
                out[key] = self.fill(owner, key, t)
                continue
            m = self.default_member(owner, key, t)
            value = self.model_dict(m.value) if m.kind == "model" else self.leaf(owner, key, m, required=True)
            out[key] = [value] if m.in_list else value
        return finish(owner, out)

    # -- the variant ------------------------------------------------------------------------

    def body(self, variant: Variant) -> dict:
        """The request (SDK keyword arguments) of a variant: its value at the end of its path, minimal
        objects on the way, in a minimal realistic request."""
        steps = variant.path
        last = steps[-1]
        value = self.leaf(last.owner, last.key, last.member)
        if last.member.in_list:
            value = [value]
        for i in range(len(steps) - 2, -1, -1):
            step, below = steps[i], steps[i + 1]
            value = self.minimal(step.member.value, {below.key: value})
            if step.member.in_list:
                value = [value]
        top = steps[0]
        body: dict[str, Any] = {"model": MODEL}
        if variant.endpoint == "create":
            body["max_tokens"] = 2048
        body["messages"] = [{"role": "user", "content": PROMPT}]
        body[top.key] = value
        if top.key == "messages":
            (message,) = value
            body["messages"] = conversation(message)
        fixups(body)
        script_reply(body)
        return body


# Optional keys filled anyway: a system message of the beta surface may leave out `content`, but one with
# neither content nor output_config is rejected.
# And a compaction block as the API returns it carries its summary (without, it is a failed compaction).
ALWAYS_KEYS = {
    "SystemMessageParam": ("content",),
    "CompactionBlockParam": ("content",),
    "CompactionBlock": ("content",),
}


def finish(owner: str, out: dict) -> dict:
    """Fix-ups where one field's value depends on another's."""
    kind = out.get("type")
    if owner == "Base64ImageSourceParam":
        if isinstance(out.get("data"), str):
            out["data"] = IMAGES[out.get("media_type", "image/png")]
        else:
            out["media_type"] = "image/png"  # a file object or path: the PNG
    if owner == "Base64PDFSourceParam" and isinstance(out.get("data"), str):
        out["data"] = PDF_BASE64
    if kind == "server_tool_use" and isinstance(out.get("name"), str):
        out["input"] = dict(SERVER_INPUTS.get(out["name"], {}))
    if kind in SERVER_TOOL_OF_RESULT and "tool_use_id" in out:
        out["tool_use_id"] = SERVER_TOOL_USE_ID
    return out


class SdkSurface:
    """Both walks of the installed SDK and the builder of their requests."""

    def __init__(self, is_served: Callable[[str], bool], files: pathlib.Path | None = None) -> None:
        if files is None:  # where the PathLike variant's image file goes
            files = pathlib.Path(tempfile.mkdtemp(prefix="sdk-surface-"))
            atexit.register(shutil.rmtree, files, ignore_errors=True)
        self.walkers = {endpoint: Walker(endpoint, is_served) for endpoint in ("create", "count_tokens")}
        self.builders = {endpoint: Builder(walker, files) for endpoint, walker in self.walkers.items()}

    def variants(self, endpoint: Endpoint) -> list[Variant]:
        return list(self.walkers[endpoint].variants.values())

    def body(self, variant: Variant) -> dict:
        return self.builders[variant.endpoint].body(variant)


# ---------------------------------------------------------------------------------------------
# Placement
# ---------------------------------------------------------------------------------------------


def kind_of(block: Any) -> str | None:
    if isinstance(block, dict):
        return block.get("type")
    return getattr(block, "type", None)


def _get(block: Any, key: str) -> Any:
    return block.get(key) if isinstance(block, dict) else getattr(block, key, None)


def text(value: str) -> dict:
    return {"type": "text", "text": value}


def user_turn(*blocks: Any) -> dict:
    return {"role": "user", "content": list(blocks)}


WEATHER_RESULT = {"type": "tool_result", "tool_use_id": TOOL_USE_ID, "content": "Sunny, 21 degrees."}


def greeting() -> dict:
    return {"role": "user", "content": "Hello"}


def last_turn() -> dict:
    return {"role": "user", "content": PROMPT}


def text_document(data: str) -> dict:
    return {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": data}}


def server_result(tool: str) -> dict:
    """A result block answering the server tool `tool` (called with SERVER_TOOL_USE_ID)."""
    kind = RESULT_OF_SERVER_TOOL[tool]
    url = "https://example.com/"
    run = {"stdout": "hello\n", "stderr": "", "return_code": 0, "content": []}
    content = {
        "web_search_tool_result": [
            {"type": "web_search_result", "url": url, "title": "Example Domain", "encrypted_content": "RW5j"}
        ],
        "web_fetch_tool_result": {"type": "web_fetch_result", "url": url, "content": text_document("Example Domain")},
        "code_execution_tool_result": {"type": "code_execution_result", **run},
        "bash_code_execution_tool_result": {"type": "bash_code_execution_result", **run},
        "text_editor_code_execution_tool_result": {
            "type": "text_editor_code_execution_view_result",
            "file_type": "text",
            "content": "print('hello')\n",
        },
        "tool_search_tool_result": {
            "type": "tool_search_tool_search_result",
            "tool_references": [{"type": "tool_reference", "tool_name": "get_time"}],
        },
        "advisor_tool_result": {"type": "advisor_result", "text": "Consider checking the forecast first."},
    }[kind]
    return {"type": kind, "tool_use_id": SERVER_TOOL_USE_ID, "content": content}


def conversation(message: dict) -> list[dict]:
    """A minimal conversation carrying `message`, or its one block, where a real client puts it; the last
    message is a user turn."""
    role, content = message["role"], message["content"]
    if role == "system":
        return [greeting(), {"role": "assistant", "content": "Hi! How can I help?"}, message, last_turn()]
    if isinstance(content, str):
        if role == "assistant":
            return [greeting(), message, last_turn()]
        return [{"role": "user", "content": f"{content} {PROMPT}"}]
    (block,) = content
    kind = kind_of(block)
    if kind == "text" and _get(block, "citations"):
        # citations are the model's, on a text block that quotes a document of an earlier user turn
        question = user_turn(text_document("The grass is green."), text("What colour is the grass?"))
        return [question, {"role": "assistant", "content": [block]}, last_turn()]
    if kind == "tool_use":
        return [greeting(), {"role": "assistant", "content": [block]}, user_turn(dict(WEATHER_RESULT), text(PROMPT))]
    if kind == "tool_result":
        call = {"type": "tool_use", "id": TOOL_USE_ID, "name": "get_weather", "input": {"location": "Paris"}}
        return [greeting(), {"role": "assistant", "content": [call]}, user_turn(block, text(PROMPT))]
    if kind == "server_tool_use":
        pair = [block, server_result(_get(block, "name"))]
    elif kind in SERVER_TOOL_OF_RESULT:
        tool = SERVER_TOOL_OF_RESULT[kind]
        call = {"type": "server_tool_use", "id": SERVER_TOOL_USE_ID, "name": tool, "input": dict(SERVER_INPUTS[tool])}
        pair = [call, block]
    elif kind == "mcp_tool_use":
        pair = [block, {"type": "mcp_tool_result", "tool_use_id": MCP_TOOL_USE_ID, "content": "No results."}]
    elif kind == "mcp_tool_result":
        call = {"type": "mcp_tool_use", "id": MCP_TOOL_USE_ID, "name": "search_docs", "server_name": "example-mcp"}
        pair = [{**call, "input": {"query": "fox"}}, block]
    elif kind in ASSISTANT_BLOCKS:
        pair = [block]
    else:
        return [user_turn(block, text(PROMPT))]
    return [greeting(), {"role": "assistant", "content": [*pair, text("Hi! How can I help?")]}, last_turn()]


def blocks_in(value: Any) -> Iterator[Any]:
    """Every object with a `type` inside a request value (dicts, lists, SDK models)."""
    if isinstance(value, dict):
        if "type" in value:
            yield value
        for item in value.values():
            yield from blocks_in(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from blocks_in(item)
    elif isinstance(value, pydantic.BaseModel):
        yield value
        for name in type(value).model_fields:
            yield from blocks_in(getattr(value, name, None))


def fixups(body: dict) -> None:
    """What a real request carries along with the variant: the tools that its history and tool_choice name, a
    history for context-management edits to work on (and thinking for clear_thinking), a tool that is not
    deferred when every tool is."""
    if body.get("context_management"):
        body["messages"] = [
            {"role": "user", "content": "What is the weather in Paris?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": STRINGS["thinking"], "signature": STRINGS["signature"]},
                    {"type": "tool_use", "id": TOOL_USE_ID, "name": "get_weather", "input": {"location": "Paris"}},
                ],
            },
            user_turn(dict(WEATHER_RESULT), text(PROMPT)),
        ]
        edits = _get(body["context_management"], "edits") or []
        if any(str(kind_of(e)).startswith("clear_thinking") for e in edits) and "thinking" not in body:
            body["thinking"] = {"type": "adaptive"}

    found = list(blocks_in(body["messages"]))
    kinds = {kind_of(b) for b in found}
    wanted: list[dict] = []
    if kinds & {"tool_use", "tool_result"} or "tool_choice" in body:
        wanted.append(WEATHER_TOOL)
    changes = [b for b in found if kind_of(b) in ("tool_addition", "tool_removal")]
    referenced = any(kind_of(_get(change, "tool")) == "tool_reference" for change in changes)
    if kinds & {"tool_reference", "tool_search_tool_search_result"} or referenced:
        wanted += [SEARCH_TOOL, DEFERRED_TOOL]
    tools = body.get("tools")
    if isinstance(tools, list) and any(str(_get(t, "type") or "").startswith("tool_search_tool_") for t in tools):
        wanted.append(DEFERRED_TOOL)  # something for the tool search to find
    if wanted:
        present = {_get(t, "name") for t in tools} if isinstance(tools, list) else set()
        body["tools"] = list(tools or []) + [copy.deepcopy(t) for t in wanted if t["name"] not in present]
    tools = body.get("tools")
    if isinstance(tools, list) and tools and all(isinstance(t, dict) and t.get("defer_loading") for t in tools):
        body["tools"] = [copy.deepcopy(SEARCH_TOOL), *tools]


def script_reply(body: dict) -> None:
    """Asks the simulator for the reply the variant is about: thinking when thinking is on, a tool call when
    tool_choice forces one (the prompt's markers, in the last user message)."""
    markers = []
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive", "between_tools"):
        markers.append("[[sim:thinking]]")
    markers.append(PROMPT_REPLY)
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in ("any", "tool"):
        markers.append('[[sim:tool:get_weather:{"location": "Paris"}]]')
    prompt = f"{PROMPT_TEXT} {' '.join(markers)}"
    last = body["messages"][-1]
    if isinstance(last.get("content"), str):
        last["content"] = last["content"].replace(PROMPT, prompt)
    else:
        for block in last["content"]:
            if isinstance(block, dict) and block.get("type") == "text":
                block["text"] = block["text"].replace(PROMPT, prompt)


def betas_for(body: dict) -> list[str]:
    """The beta headers a real client sends along with these fields (q2api must accept any)."""
    return [beta for key, beta in BETA_FOR_KEY.items() if key in body]


def has_format(body: dict) -> bool:
    config = body.get("output_config")
    return (isinstance(config, dict) and isinstance(config.get("format"), dict)) or "output_format" in body
