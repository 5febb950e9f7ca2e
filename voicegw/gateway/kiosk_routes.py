"""The kiosk page (``/kiosk?store=ID``) and the menu board it reads (``GET /v1/menu?store=ID``).

The page is three files inside the package (``voicegw/web``), served as they are: no CDN, no build
step. It holds no key: a kiosk's key (role ``kiosk``) is given once in the page address's fragment
(``/kiosk?store=ID#key=vgw_...``), which browsers never send to a server, and kept in the
browser's storage; in development mode it needs none.
"""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from voicegw.gateway.inputs import valid_id
from voicegw.gateway.services import SERVICES
from voicegw.nlu.menu import Menu

_CONTENT_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
_WEB = resources.files("voicegw") / "web"
#: Same-origin only: the page talks to the gateway that served it (its WebSocket included).
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; connect-src 'self'; media-src 'self' blob:; "
                               "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def _asset(name: str) -> web.Response:
    suffix = name[name.rfind("."):]
    if "/" in name or suffix not in _CONTENT_TYPES or not (_WEB / name).is_file():
        raise web.HTTPNotFound()
    return web.Response(body=(_WEB / name).read_bytes(), content_type=_CONTENT_TYPES[suffix], charset="utf-8",
                        headers=_PAGE_HEADERS)


async def kiosk_page(request: web.Request) -> web.Response:
    pipeline = request.app[SERVICES].pipeline
    assert pipeline is not None
    pipeline.menu_for(valid_id(request.query.get("store"), "store"))  # an unknown store: 404, not a broken page
    return _asset("kiosk.html")


async def kiosk_asset(request: web.Request) -> web.Response:
    return _asset(request.match_info["name"])


def menu_board(menu: Menu) -> dict:
    """What a customer sees of a menu: items by category with prices, and the options' names."""
    def names(aliases: dict[str, list[str]]) -> dict[str, str]:
        return {lang: words[0] for lang, words in aliases.items()}

    return {
        "store": menu.id,
        "language": menu.language,
        "currency": menu.currency,
        "items": [
            {"id": item.id, "name": names(item.names), "category": item.category, "price": item.price,
             "available": item.available, "option_groups": item.option_groups}
            for item in menu.items
        ],
        "option_groups": [
            {"id": group.id, "name": names(group.names),
             "values": [{"id": v.id, "name": names(v.names), "price": v.price} for v in group.values]}
            for group in menu.option_groups
        ],
    }


async def menu(request: web.Request) -> web.Response:
    pipeline = request.app[SERVICES].pipeline
    assert pipeline is not None
    return web.json_response(menu_board(pipeline.menu_for(valid_id(request.query.get("store"), "store"))))


def add_kiosk_routes(app: web.Application) -> None:
    app.router.add_get("/kiosk", kiosk_page)
    app.router.add_get("/kiosk/{name}", kiosk_asset)
    app.router.add_get("/v1/menu", menu)
