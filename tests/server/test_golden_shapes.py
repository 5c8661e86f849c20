"""Whole bodies compared with the golden transcripts, once ids, times, seeds and text vary.

The recorded bodies are normalised the same way as ours: every UUID, timestamp, seed and
generated text becomes a placeholder; what remains (keys, order, separators, values)
must be identical.
"""

from __future__ import annotations

import re
import threading
import time

from openassistant_sdk.testing import LocalServer

from .helpers import Api, golden_body, read_stream

_PATTERNS = [
    (re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), b"<id>"),
    (re.compile(rb"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?"), b"<time>"),
    (re.compile(rb'("seed": ?)\d+'), rb"\1<seed>"),
    (re.compile(rb'("(?:content|text)": ?)"[^"]*"'), rb'\1"<text>"'),
]


def normalise(data: bytes) -> bytes:
    for pattern, replacement in _PATTERNS:
        data = pattern.sub(replacement, data)
    return data


def data_events(body: bytes) -> list[bytes]:
    return [block + b"\r\n\r\n" for block in body.split(b"\r\n\r\n") if block.startswith(b"data: ")]


def golden_events(name: str, number: int) -> list[bytes]:
    return data_events(golden_body(name, number))


LOREM_SAMPLING = {
    "top_k": 50,
    "top_p": 0.95,
    "typical_p": None,
    "temperature": 0.75,
    "repetition_penalty": 1.2,
    "max_new_tokens": 20,
}


def test_full_flow_bodies_match_golden_01(make_server) -> None:
    server: LocalServer = make_server(workers=1, token_delay=0.005)
    api = Api(server, "alice")
    try:
        chat = api.client.post("/chats", json={})
        assert normalise(chat.content) == normalise(golden_body("01_full_flow.txt", 4))
        chat_id = chat.json()["id"]
        prompt = api.client.post(
            f"/chats/{chat_id}/prompter_message",
            json={"parent_id": None, "content": "Hello, who are you?"},
        )
        assert normalise(prompt.content) == normalise(golden_body("01_full_flow.txt", 7))
        server.pause_workers()
        reply = api.client.post(
            f"/chats/{chat_id}/assistant_message",
            json={
                "parent_id": prompt.json()["id"],
                "model_config_name": "_lorem",
                "sampling_parameters": LOREM_SAMPLING,
                "plugins": [],
            },
        )
        assert normalise(reply.content) == normalise(golden_body("01_full_flow.txt", 8))
        message_id = reply.json()["id"]
        _, chunks = read_stream(
            api.client, api.events_url(chat_id, message_id), on_open=server.resume_workers
        )
        ours = data_events(b"".join(c for _, c in chunks))
        recorded = golden_events("01_full_flow.txt", 9)
        assert normalise(ours[0]) == normalise(recorded[0])  # a token
        assert normalise(ours[-1]) == normalise(recorded[-1])  # the message event

        message = api.client.get(f"/chats/{chat_id}/messages/{message_id}")
        assert normalise(message.content) == normalise(golden_body("01_full_flow.txt", 11))
        whole = api.client.get(f"/chats/{chat_id}")
        recorded_chat = normalise(golden_body("01_full_flow.txt", 14))
        assert normalise(whole.content) == recorded_chat
    finally:
        api.close()


def test_pending_and_timeout_events_match_golden_04(make_server) -> None:
    server: LocalServer = make_server(workers=1, assistant_message_timeout=0.2)
    api = Api(server, "gina")
    try:
        server.pause_workers()
        chat_id = api.new_chat()
        prompt = api.prompt(chat_id, "Anyone there?")
        reply = api.client.post(
            f"/chats/{chat_id}/assistant_message",
            json={
                "parent_id": prompt["id"],
                "model_config_name": "_lorem",
                "sampling_parameters": LOREM_SAMPLING,
                "plugins": [],
            },
        ).json()
        time.sleep(0.25)
        resumer = threading.Timer(0.25, server.resume_workers)
        resumer.start()
        try:
            _, chunks = read_stream(api.client, api.events_url(chat_id, reply["id"]))
        finally:
            resumer.join()
        ours = data_events(b"".join(c for _, c in chunks))
        # One message waiting alone: pending 1 of 1, as 04 #6; then 04 #12's Timeout event.
        assert ours[0] == golden_events("04_pings_pending_timeout_abort.txt", 6)[0]
        recorded = golden_events("04_pings_pending_timeout_abort.txt", 12)
        assert normalise(ours[-1]) == normalise(recorded[-1])
    finally:
        api.close()
