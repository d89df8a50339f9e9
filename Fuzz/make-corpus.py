#!/usr/bin/env python3
"""Writes the seed corpus in Fuzz/corpus (committed; rerun only to change the seeds).

Each seed is the harness's steering prefix (see Sources/EventStreamFuzz/main.swift) followed by an event-stream body:
the three samples from Tests/EventStreamTests/Samples, a frame with one header of every wire type, and a few edge
cases (empty headers and payload, a truncated frame, a lone prelude).
"""
import pathlib
import struct
import zlib

root = pathlib.Path(__file__).resolve().parent
samples = root.parent / "Tests" / "EventStreamTests" / "Samples"
out = root / "corpus"
out.mkdir(exist_ok=True)


def frame(headers: bytes, payload: bytes) -> bytes:
    total = 16 + len(headers) + len(payload)
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + headers + payload
    return body + struct.pack(">I", zlib.crc32(body))


def header(name: str, type_byte: int, value: bytes = b"") -> bytes:
    encoded = name.encode()
    return bytes([len(encoded)]) + encoded + bytes([type_byte]) + value


def string_header(name: str, value: str) -> bytes:
    encoded = value.encode()
    return header(name, 7, struct.pack(">H", len(encoded)) + encoded)


every_type = (
    header("t", 0)
    + header("f", 1)
    + header("b", 2, b"\x80")
    + header("s", 3, struct.pack(">h", -2))
    + header("i", 4, struct.pack(">i", 70000))
    + header("l", 5, struct.pack(">q", -(2**40)))
    + header("ba", 6, struct.pack(">H", 3) + b"\x00\xff\x7f")
    + string_header(":event-type", "assistantResponseEvent")
    + header("ts", 8, struct.pack(">q", 1_700_000_000_000))
    + header("id", 9, bytes(range(16)))
)
event = (
    string_header(":event-type", "assistantResponseEvent")
    + string_header(":content-type", "application/json")
    + string_header(":message-type", "event")
)
exception = (
    string_header(":exception-type", "ThrottlingException")
    + string_header(":content-type", "application/json")
    + string_header(":message-type", "exception")
)
text = frame(event, '{"content":"Hello! 你好 🙂"}'.encode())

# (name, steering prefix, body). Prefix byte 0: bits 0-2 = number of read-size bytes, bit 3 = reseal CRCs,
# bit 4 = small maximum message length.
seeds = [
    ("every-header-type", b"\x00", frame(every_type, b"{}")),
    ("every-header-type-resealed-1-byte-reads", b"\x09\x00", frame(every_type, b"{}")),
    ("empty-frame", b"\x00", frame(b"", b"")),
    ("text-then-exception", b"\x02\x04\x3f", text + frame(exception, b'{"message":"slow down"}')),
    ("truncated", b"\x00", text[:-3]),
    ("prelude-only", b"\x00", text[:12]),
    ("too-large-for-small-maximum", b"\x10", frame(event, b"x" * 300)),
]
for name in ("text_stream", "tool_use_stream", "exception_stream"):
    body = (samples / f"{name}.bin").read_bytes()
    seeds.append((f"{name}-one-read", b"\x00", body))
    seeds.append((f"{name}-reads-of-1-7-200", b"\x03\x00\x06\xc7", body))

for old in out.glob("*"):
    old.unlink()
for name, prefix, body in seeds:
    (out / name).write_bytes(prefix + body)
print(f"{len(seeds)} seeds in {out}")
