"""The backend bridge: tokens per second through the local server against the backend itself.

An OpenAI-compatible fake (`tests.openai_fake`, in its own process, as a model server would
be) streams 1,000 tokens at about 1,000 tokens per second. Two ways to read them, in the same
rounds: straight from the fake with httpx and a minimal SSE loop, and through
`openassistant serve --backend` (a `LocalServer` in this process) with `Client.stream`, i.e.
five protocol requests, the backend request made by the server's worker, and the token
events relayed to the client. The ratio is the bridge's throughput over the direct read's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

from openassistant_sdk import Client
from openassistant_sdk.testing import LocalServer

from ._harness import Row, interleave, rows_for

__all__ = ["run"]

DIRECT = "fake backend read directly (httpx)"
BRIDGED = "through the bridge (Client.stream)"
_TARGET = (">= 0.90x direct (<= 10% cost)", lambda ratio: ratio >= 0.90)
_INTERVAL = 0.001  # seconds between the fake's content chunks: about 1,000 tokens/s


def _direct(http: httpx.Client, url: str, tokens: int) -> float:
    body = {"model": "tiny-chat", "messages": [{"role": "user", "content": "go"}], "stream": True}
    start = time.perf_counter()
    count = 0
    with http.stream("POST", url + "/chat/completions", json=body) as response:
        for line in response.iter_lines():
            if not line.startswith("data:") or line == "data: [DONE]":
                continue
            for choice in json.loads(line[5:]).get("choices") or ():
                if (choice.get("delta") or {}).get("content"):
                    count += 1
    elapsed = time.perf_counter() - start
    if count != tokens:
        raise AssertionError(f"read {count} tokens directly, expected {tokens}")
    return tokens / elapsed


def _bridged(client: Client, tokens: int) -> float:
    start = time.perf_counter()
    text = "".join(client.stream([{"role": "user", "content": "go"}]))
    elapsed = time.perf_counter() - start
    if len(text) != tokens:
        raise AssertionError(f"read {len(text)} characters through the bridge, expected {tokens}")
    return tokens / elapsed


def run(*, quick: bool) -> list[Row]:
    """Measure both reads of a 1,000-token reply (200 with ``quick``) in interleaved rounds."""
    tokens = 200 if quick else 1_000
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.openai_fake", str(_INTERVAL), str(tokens)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,  # where `tests` is importable
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        # Every reply is `tokens` tokens of one character (`x`), whichever way it is read.
        server = LocalServer(backend=url, rate_limit=None, pending_interval=0.05)
        with server, httpx.Client(timeout=60, trust_env=False) as http:
            client = Client(base_url=server.url, api="inference", debug_user="bench")
            with client:
                variants = {
                    DIRECT: lambda: _direct(http, url, tokens),
                    BRIDGED: lambda: _bridged(client, tokens),
                }
                samples = interleave(
                    variants, repeats=3 if quick else 7, label=f"bridge, {tokens} tokens"
                )
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=10)
    return rows_for(
        f"backend bridge, {tokens} tokens at ~1k tokens/s",
        samples,
        unit="tok/s",
        baseline=DIRECT,
        targets={BRIDGED: _TARGET},
    )
