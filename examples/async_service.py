"""An asyncio service answering many users at once over one connection pool.

Each user gets a client of their own from ``with_options()`` (the server cancels a user's other
pending replies, so concurrent replies need distinct users); all share one pool.

    python examples/async_service.py
"""

from __future__ import annotations

import asyncio

from _local import server_url

from openassistant_sdk import AsyncClient, GenerationError, OpenAssistantError


async def answer(base: AsyncClient, user: str, question: str) -> str:
    client = base.with_options(debug_user=user)
    try:
        return await client.complete([{"role": "user", "content": question}], stall_timeout=30)
    except GenerationError as err:  # the server reported a failed generation
        return f"(generation failed: {err.error})"
    except OpenAssistantError as err:  # anything else: typed, never a raw httpx error
        return f"(request failed: {err})"


async def main() -> None:
    with server_url() as url:
        async with AsyncClient(
            base_url=url, api="inference", debug_user="service", model="_lorem"
        ) as base:
            questions = {f"user-{i}": f"Question number {i}" for i in range(20)}
            answers = await asyncio.gather(*(answer(base, u, q) for u, q in questions.items()))
            for user, text in zip(questions, answers, strict=True):
                print(f"{user}: {text[:60]}...")


if __name__ == "__main__":
    asyncio.run(main())
