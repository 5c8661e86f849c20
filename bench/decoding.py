"""Event decoding: ``EventDecoder`` against the minimal loop and httpx-sse, on the same bytes.

A pre-rendered stream (queue updates, tokens with pings between them, the final message) is
fed in 4 KiB chunks and whole. Every variant must produce the same token texts (checked once,
before timing); each run reads all the events and touches every token's text.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable

from openassistant_sdk import EventDecoder, TokenEvent

from . import _stream
from ._flows import minimal_texts
from ._harness import Row, interleave, rows_for, timed

__all__ = ["run"]


def sdk_texts(chunks: list[bytes]) -> list[str]:
    """Token texts with the SDK's decoder."""
    decoder = EventDecoder()
    texts = []
    for chunk in chunks:
        for event in decoder.feed(chunk):
            if type(event) is TokenEvent:
                texts.append(event.text)
    decoder.flush()
    return texts


def httpx_sse_texts(chunks: list[bytes]) -> list[str]:
    """Token texts with httpx-sse's decoders (what ``EventSource.iter_sse`` runs) + json."""
    from httpx_sse._decoders import SSEDecoder, SSELineDecoder

    text_decoder = codecs.getincrementaldecoder("utf-8")()  # as httpx's iter_text
    lines = SSELineDecoder()
    events = SSEDecoder()
    texts = []
    for chunk in chunks:
        for line in lines.decode(text_decoder.decode(chunk)):
            sse = events.decode(line)
            if sse is not None:
                data = json.loads(sse.data)
                if data["event_type"] == "token":
                    texts.append(data["text"])
    return texts


def minimal_list(chunks: list[bytes]) -> list[str]:
    """Token texts with the minimal loop."""
    return list(minimal_texts(chunks))


VARIANTS: dict[str, Callable[[list[bytes]], list[str]]] = {
    "openassistant_sdk EventDecoder": sdk_texts,
    "minimal loop (split, startswith, json.loads)": minimal_list,
    "httpx-sse SSEDecoder + json.loads": httpx_sse_texts,
}
_SDK, _MINIMAL, _HTTPX_SSE = VARIANTS


def run(*, quick: bool) -> list[Row]:
    """Decode 200k events (20k with ``quick``) in 4 KiB chunks and whole."""
    tokens = 20_000 if quick else 200_000
    repeats = 3 if quick else 9
    body = _stream.render_stream(tokens)
    expected = _stream.token_texts(tokens)
    rows: list[Row] = []
    for label, size in (("4 KiB chunks", 4096), ("whole", None)):
        chunks = _stream.chunked(body, size)
        for name, decode in VARIANTS.items():
            if decode(chunks) != expected:
                raise AssertionError(f"{name} decoded other texts than were sent")
        variants = {
            name: (lambda decode=decode, chunks=chunks: timed(lambda: decode(chunks)))
            for name, decode in VARIANTS.items()
        }
        bench = f"decode {tokens // 1000}k events, {label}"
        samples = interleave(variants, repeats=repeats, label=bench)
        rows += rows_for(
            bench,
            samples,
            unit="s",
            baseline=_MINIMAL,
            targets={
                _SDK: ("<= 1.25x minimal, < httpx-sse", lambda r: r <= 1.25),
            },
        )
        sdk = next(r for r in rows[-3:] if r.variant == _SDK)
        sse = next(r for r in rows[-3:] if r.variant == _HTTPX_SSE)
        sdk.met = bool(sdk.met) and sdk.median < sse.median
    return rows
