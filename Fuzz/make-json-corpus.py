#!/usr/bin/env python3
"""Writes the JSON parser's seed corpus in Fuzz/corpus-json (committed; rerun only to change the seeds).

Each seed is a JSON text as it is, valid or not (the JSONParserFuzz harness takes no steering prefix): the shapes of
real requests, every escape, surrogate pairs and lone surrogates, numbers at the edges of Int, Double and beyond,
nesting at and over the default limit of 256, raw UTF-8 (valid, overlong, surrogate-encoded, past U+10FFFF), and
the classic invalid documents.
"""
import pathlib

out = pathlib.Path(__file__).resolve().parent / "corpus-json"
out.mkdir(exist_ok=True)

seeds = {
    # Shapes
    "scalars": b'[null,true,false,0,"",[],{}]',
    "whitespace": b' \t\r\n{ "a" :\t[ 1 ,\r\n2 ] }\n ',
    "duplicate-keys": b'{"a":1,"a":2,"":3,"a":{"a":[]}}',
    "request": (
        b'{"model":"claude-sonnet-4-5","max_tokens":1024,"stream":true,"system":[{"type":"text","text":"Be brief."}],'
        b'"messages":[{"role":"user","content":[{"type":"text","text":"Hi \\"there\\"\\n"},'
        b'{"type":"tool_result","tool_use_id":"toolu_01","content":"ok","is_error":false}]}],'
        b'"tools":[{"name":"get_weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},'
        b'"required":["city"]}}],"temperature":0.7,"metadata":{"user_id":null}}'
    ),
    "top-level-string": b'"just a string"',
    "top-level-number": b"-12.5e-3",
    # Strings and escapes
    "escapes": b'"\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0000 \\u001f \\u007F \\u00e9 \\u4F60"',
    "surrogate-pair": b'"\\uD83D\\uDE00 \\ud834\\udd1e \\uDBFF\\uDFFF \\uD800\\uDC00"',
    "raw-utf8": '"你好 🙂 é e\u0301 \u00a0 \u2028 \uffff \U0010ffff"'.encode(),
    "raw-del-and-high-ascii": b'"\x7f ~"',
    "lone-high-surrogate": b'"\\uD800"',
    "lone-low-surrogate": b'"\\uDC00"',
    "high-then-letter": b'"\\uD800\\u0041"',
    "high-then-text": b'"\\uD800x"',
    "high-then-high": b'"\\uD800\\uD800"',
    "bad-escape": b'"\\x"',
    "short-unicode-escape": b'"\\u12"',
    "non-hex-escape": b'"\\u12G4"',
    "unterminated-string": b'"abc',
    "unterminated-escape": b'"\\',
    "raw-control-character": b'"a\tb"',
    "raw-newline": b'"a\nb"',
    "overlong-nul": b'"\xc0\x80"',
    "overlong-slash": b'"\xe0\x80\xaf"',
    "utf8-surrogate": b'"\xed\xa0\x80"',
    "past-10ffff": b'"\xf4\x90\x80\x80"',
    "lone-continuation": b'"\x80"',
    "truncated-sequence": b'"\xe4\xbd"',
    "utf8-outside-string": "{\"a\":1}é".encode(),
    "byte-order-mark": b"\xef\xbb\xbf{}",
    "key-not-string": b"{1:2}",
    # Numbers
    "numbers": (
        b"[0,-0,1,-1,0.5,-0.0,1e0,1E+2,1e-2,0e0,-0E-0,123.456e789,"
        b"9007199254740991,9007199254740993,9223372036854775807,-9223372036854775808,9223372036854775808,"
        b"18446744073709551616,123456789012345678901234567890,"
        b"1.7976931348623157e308,1.7976931348623159e308,1e309,-1e309,4.9e-324,2.4e-324,1e-400,"
        b"0.1,0.30000000000000004,3.0,1e15,9e15,8999999999999999.0]"
    ),
    "leading-zero": b"01",
    "minus-zero-leading": b"-01",
    "trailing-dot": b"1.",
    "leading-dot": b".5",
    "plus-sign": b"+1",
    "double-minus": b"--1",
    "bare-exponent": b"1e",
    "exponent-sign-only": b"1e+",
    "minus-only": b"-",
    "nan": b"NaN",
    "infinity": b"[Infinity,-Infinity]",
    "hex-number": b"0x10",
    # Structure errors
    "trailing-comma-array": b"[1,]",
    "trailing-comma-object": b'{"a":1,}',
    "missing-comma": b"[1 2]",
    "missing-colon": b'{"a" 1}',
    "unclosed-array": b"[1,2",
    "unclosed-object": b'{"a":1',
    "extra-close": b"[]]",
    "two-values": b"{} {}",
    "trailing-garbage": b"[] x",
    "literal-typos": b"[tru, nul, fals]",
    "capitalised-literal": b"True",
    "single-quotes": b"{'a':1}",
    "comment": b"[1 /* no */]",
    "empty": b"",
    "only-whitespace": b" \n\t ",
    # Nesting at the limit (256) and over it
    "arrays-256-deep": b"[" * 256 + b"]" * 256,
    "arrays-257-deep": b"[" * 257 + b"]" * 257,
    "objects-256-deep": b'{"a":' * 255 + b"{}" + b"}" * 255,
    "objects-257-deep": b'{"a":' * 256 + b"{}" + b"}" * 256,
    "mixed-deep": b'[{"a":' * 128 + b"null" + b"}]" * 128,
    "deep-unclosed": b"[" * 1000,
    "deep-at-small-limit": b'[{"a":[1]}]',
}

for old in out.glob("*"):
    old.unlink()
for name, body in seeds.items():
    (out / name).write_bytes(body)
print(f"{len(seeds)} seeds in {out}")
