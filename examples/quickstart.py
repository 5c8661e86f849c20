"""A multi-turn chat with the sync client: stream one reply, wait for another, delete the chat.

python examples/quickstart.py
"""

from __future__ import annotations

import os

from _local import server_url

from openassistant_sdk import Client, SamplingParameters


def main() -> None:
    with (
        server_url() as url,
        Client(
            base_url=url,
            api="inference",
            debug_user=os.environ.get("OPENASSISTANT_DEBUG_USER", "example"),
            model=os.environ.get("OPENASSISTANT_MODEL", "_lorem"),
            sampling=SamplingParameters.preset("k50-Precise"),
        ) as client,
        client.chat() as chat,
    ):  # created here, deleted at the end of the block
        stream = chat.stream("What is the capital of France?", max_new_tokens=100)
        for text in stream:
            print(text, end="", flush=True)
        print()
        assert stream.message is not None
        print(f"[{stream.message.state}, {len(stream.message.content or '')} characters]")
        reply = chat.send("And of Italy?")  # continues the thread
        print(reply.content)


if __name__ == "__main__":
    main()
