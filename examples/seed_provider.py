"""The seed's provider, unchanged calls: only the import is new.

python examples/seed_provider.py
"""

from __future__ import annotations

import asyncio

from _local import server_url

from openassistant_sdk.compat import OpenAssistant


async def main() -> None:
    with server_url() as url:
        # The seed sent cookies from the browser; here any session works on the local server.
        cookies = {"next-auth.session-token": "example-session"}
        async for text in OpenAssistant.create_async_generator(
            model="_lorem", messages=[{"role": "user", "content": "Hello"}], cookies=cookies, base_url=url,
            max_new_tokens=500,
        ):  # fmt: skip
            print(text, end="", flush=True)
        print()
        print(
            await OpenAssistant.create_async(
                "_lorem", [{"role": "user", "content": "Hi"}], cookies=cookies, base_url=url
            )
        )


if __name__ == "__main__":
    asyncio.run(main())
