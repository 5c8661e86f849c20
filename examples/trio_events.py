"""Typed events under trio: queue positions, tokens, and the final message.

python examples/trio_events.py
"""

from __future__ import annotations

import trio
from _local import server_url

from openassistant_sdk import AsyncClient, ErrorEvent, MessageEvent, PendingEvent, TokenEvent


async def main() -> None:
    with server_url() as url:
        async with (
            AsyncClient(base_url=url, api="inference", debug_user="trio", model="_lorem") as client,
            client.chat() as chat,
        ):
            async for event in chat.events("Tell me a story"):
                if isinstance(event, PendingEvent):
                    print(f"[queued: {event.queue_position} of {event.queue_size}]")
                elif isinstance(event, TokenEvent):
                    print(event.text, end="", flush=True)
                elif isinstance(event, MessageEvent):
                    print(f"\n[done: message {event.message.id}]")
                elif isinstance(event, ErrorEvent):
                    print(f"\n[failed: {event.error}]")


if __name__ == "__main__":
    trio.run(main)
