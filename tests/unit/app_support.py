"""A test client of the gateway app that is ready to serve (its scripted model warmed up)."""

from __future__ import annotations

import asyncio

from aiohttp import web


async def ready_client(aiohttp_client, app: web.Application):
    """``aiohttp_client(app)``, once ``/readyz`` answers 200 (2 s at most)."""
    client = await aiohttp_client(app)
    for _ in range(100):
        if (await client.get("/readyz")).status == 200:
            break
        await asyncio.sleep(0.02)
    return client
