"""A logging hop: an HTTP proxy on 127.0.0.1 that forwards every request to q2api, streams the answer
through as it arrives, and keeps each raw request (method, path with query, headers, body).

Used by scripts/record-clients to record what the real clients send (Tests/Conformance/fixtures/clients/),
and by `normalise()`, which turns a recorded request into a fixture entry that does not change between two
recordings of the same client version. Standard library only.
"""

from __future__ import annotations

import copy
import datetime
import http.client
import http.server
import json
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Callable

# Headers that belong to one connection (RFC 9110 §7.6.1) and are never forwarded either way.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
}


@dataclass
class Recorded:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    status: int | None = None
    response_head: bytes = b""  # the first bytes of the answer, for the recorder's summary


@dataclass
class Hop:
    """`with Hop(upstream) as hop:` serves on `hop.url` and appends each request to `hop.requests`."""

    upstream: str
    requests: list[Recorded] = field(default_factory=list)
    # Optional: (record, body) -> the body to forward instead (the record keeps what the client sent).
    rewrite: Callable[[Recorded, bytes], bytes] | None = None

    def __post_init__(self) -> None:
        parsed = urllib.parse.urlsplit(self.upstream)
        assert parsed.scheme == "http" and parsed.hostname, f"the hop forwards to plain http only: {self.upstream}"
        self._host = parsed.hostname
        self._port = parsed.port or 80
        self._lock = threading.Lock()
        hop = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _body(self) -> bytes:
                if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
                    parts = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            break
                        parts.append(self.rfile.read(size))
                        self.rfile.readline()
                    return b"".join(parts)
                length = int(self.headers.get("content-length") or 0)
                return self.rfile.read(length) if length else b""

            def _forward(self) -> None:
                body = self._body()
                record = Recorded(self.command, self.path, [(k, v) for k, v in self.headers.items()], body)
                with hop._lock:
                    hop.requests.append(record)
                if hop.rewrite is not None and body:
                    body = hop.rewrite(record, body)
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP and k.lower() not in ("host", "content-length")
                }
                headers["Host"] = f"{hop._host}:{hop._port}"
                if body or self.command in ("POST", "PUT", "PATCH"):
                    headers["Content-Length"] = str(len(body))
                upstream = http.client.HTTPConnection(hop._host, hop._port, timeout=300)
                try:
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    response = upstream.getresponse()
                except OSError as error:
                    record.status = 502
                    message = json.dumps({"error": f"hop: upstream unreachable: {error}"}).encode()
                    self.send_response(502)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(message)))
                    self.end_headers()
                    self.wfile.write(message)
                    return
                record.status = response.status
                self.send_response_only(response.status, response.reason)
                chunked = response.getheader("content-length") is None and self.command != "HEAD" and response.status not in (204, 304)
                for name, value in response.getheaders():
                    if name.lower() in HOP_BY_HOP or name.lower() == "content-length":
                        continue
                    self.send_header(name, value)
                if chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                elif response.getheader("content-length") is not None:
                    self.send_header("Content-Length", response.getheader("content-length"))
                self.end_headers()
                try:
                    while True:
                        data = response.read1(65536) if chunked else response.read()
                        if not data:
                            break
                        if len(record.response_head) < 4096:
                            record.response_head += data[: 4096 - len(record.response_head)]
                        if chunked:
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                        else:
                            self.wfile.write(data)
                        self.wfile.flush()
                        if not chunked:
                            break
                    if chunked:
                        self.wfile.write(b"0\r\n\r\n")
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                finally:
                    upstream.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _forward

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "Hop":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def take(self) -> list[Recorded]:
        """The requests recorded since the last `take()`."""
        with self._lock:
            taken, self.requests = self.requests, []
        return taken


# ---------------------------------------------------------------------------------------------
# Normalisation: the same client version recorded twice gives the same fixture
# ---------------------------------------------------------------------------------------------

# Headers left out of a fixture: connection-level, set by whoever replays it, or describing the machine
# (interpreter and OS versions) rather than the client.
DROPPED_HEADERS = HOP_BY_HOP | {
    "host",
    "content-length",
    "accept-encoding",
    "x-stainless-os",
    "x-stainless-arch",
    "x-stainless-runtime",
    "x-stainless-runtime-version",
    "x-stainless-read-timeout",
    "x-stainless-timeout",
}
# Headers whose value is a secret: kept as a placeholder, which the replay replaces with its own key.
SECRET_HEADERS = {"x-api-key": "<api-key>", "authorization": "Bearer <api-key>", "api-key": "<api-key>"}
# Headers whose value changes on every run.
VOLATILE_HEADERS = {"x-claude-code-session-id", "x-client-request-id", "x-request-id", "idempotency-key", "traceparent"}

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b")
# Tool-call ids minted by q2api/the simulator or by a client, replaced by stable ones (kept consistent
# within one request, so tool_use ↔ tool_result pairs still match when replayed).
_TOOL_ID = re.compile(r"\b(?:tooluse_[A-Za-z0-9]{22}|(?:toolu|call|fc)_[A-Za-z0-9]{20,})\b")
# Claude Code's attribution line in its first system block ("cch=<hash>" changes with the prompt).
_CCH = re.compile(r"\bcch=[0-9a-fA-F]+")
_KERNEL = re.compile(r"\b(Linux[- ])\d+\.\d+[\w.+-]*")


def _replacer(paths: dict[str, str], header: bool = False):
    ordered = sorted(paths.items(), key=lambda item: -len(item[0]))
    # Only the dates of the run ("Current date: ...") are volatile; other dates in a prompt are content.
    now = datetime.datetime.now(datetime.timezone.utc)
    run_dates = {(now + datetime.timedelta(days=d)).date().isoformat() for d in (-1, 0, 1)}
    tool_ids: dict[str, str] = {}

    def text(value: str) -> str:
        for path, placeholder in ordered:
            if path:
                value = value.replace(path, placeholder)
        value = _UUID.sub("<uuid>", value)
        if header:  # dated names such as interleaved-thinking-2025-05-14 are not dates of the run
            return value
        value = _CCH.sub("cch=<hash>", value)
        value = _DATE.sub(lambda m: "<date>" if m.group(1) in run_dates else m.group(0), value)
        value = _KERNEL.sub(r"\1<kernel>", value)

        def tool_id(match: re.Match) -> str:
            original = match.group(0)
            if original not in tool_ids:
                prefix = original.split("_", 1)[0]  # toolu_fixture01 etc.: still the client's id shape
                tool_ids[original] = f"{prefix}_fixture{len(tool_ids) + 1:02d}"
            return tool_ids[original]

        return _TOOL_ID.sub(tool_id, value)

    return text


def _walk(value: Any, text) -> Any:
    if isinstance(value, str):
        return text(value)
    if isinstance(value, list):
        return [_walk(item, text) for item in value]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "user_id" and isinstance(item, str):
                out[key] = "<user-id>"
            else:
                out[key] = _walk(item, text)
        return out
    return value


def normalise(record: Recorded, paths: dict[str, str]) -> dict:
    """A fixture entry for one recorded request. `paths` maps absolute paths of the run (scratch
    directories, the throw-away HOME) to placeholders such as `<cwd>`."""
    text = _replacer(paths)
    text_header = _replacer(paths, header=True)
    split = urllib.parse.urlsplit(record.path)
    headers: dict[str, str] = {}
    for name, value in record.headers:
        lower = name.lower()
        if lower in DROPPED_HEADERS:
            continue
        if lower in SECRET_HEADERS:
            headers[lower] = SECRET_HEADERS[lower]
        elif lower in VOLATILE_HEADERS:
            headers[lower] = f"<{lower}>"
        else:
            headers[lower] = text_header(value)
    entry: dict[str, Any] = {
        "method": record.method,
        "path": split.path + (f"?{split.query}" if split.query else ""),
        "headers": dict(sorted(headers.items())),
    }
    if record.body:
        try:
            body = json.loads(record.body)
        except ValueError:
            entry["body_text"] = text(record.body.decode("utf-8", "replace"))
        else:
            entry["body"] = _walk(copy.deepcopy(body), text)
    return entry


def fixture_request_headers(entry: dict, api_key: str) -> dict[str, str]:
    """The headers to replay a fixture entry with: the placeholders replaced by `api_key`, volatile ones
    given fresh (valid) values."""
    headers = {}
    for name, value in entry["headers"].items():
        if name in SECRET_HEADERS:
            value = value.replace("<api-key>", api_key)
        elif value == f"<{name}>":
            value = "00000000-0000-4000-8000-000000000000"
        headers[name] = value
    return headers
