"""The aiohttp gateway: app factory, routes, the turn pipeline."""
