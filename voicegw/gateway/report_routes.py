"""``GET /v1/admin/report`` (scope ``reports``): the chat-log report over HTTP, the same JSON as
``voicegw report --json`` (or its HTML with ``format=html``)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from voicegw.analytics.command import parse_moment
from voicegw.analytics.records import CHANNELS, window
from voicegw.analytics.render_html import render_html
from voicegw.analytics.report import build_report
from voicegw.errors import RequestError
from voicegw.gateway.admin_routes import PRIVACY
from voicegw.gateway.inputs import valid_id
from voicegw.gateway.services import SERVICES

#: The report clusters and plots on a worker thread; one at a time keeps the turns flowing.
_ONE_REPORT = web.AppKey("one_report", asyncio.Semaphore)


def add_report_routes(app: web.Application) -> None:
    app[_ONE_REPORT] = asyncio.Semaphore(1)
    app.router.add_get("/v1/admin/report", report, allow_head=False)


async def report(request: web.Request) -> web.Response:
    services, state = request.app[SERVICES], request.app[PRIVACY]
    if state.store is None:
        raise RequestError("privacy_unavailable", "the database is not open yet; retry shortly", http_status=503)
    q = request.query
    store = valid_id(q.get("store"), "store", required=False)
    if store is not None and store not in services.menus:
        raise RequestError("unknown_store", f"no menu for store {store!r}", http_status=404)
    channel = q.get("channel")
    if channel is not None and channel not in CHANNELS:
        raise RequestError("bad_channel", f"channel must be one of {', '.join(CHANNELS)}")
    output = q.get("format", "json")
    if output not in ("json", "html"):
        raise RequestError("bad_format", "format must be json or html")
    w = window(services.settings.privacy.retention.transcripts_days, parse_moment(q.get("since")),
               parse_moment(q.get("until"), end_of_day=True), store, channel)
    async with request.app[_ONE_REPORT]:
        built = await asyncio.to_thread(build_report, state.store, w, services.menus, services.experiments)
        if output == "html":
            page = await asyncio.to_thread(render_html, built)
            return web.Response(text=page, content_type="text/html", headers={"Cache-Control": "no-store"})
    return web.json_response(built, headers={"Cache-Control": "no-store"})
