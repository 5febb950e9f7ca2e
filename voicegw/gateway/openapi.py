"""``GET /openapi.json``: the gateway's routes as an OpenAPI 3.1 document.

Schemas come from the pydantic models the routes use, so the document cannot drift from the wire;
every route of ``ROUTE_SCOPES`` must have an entry in ``ROUTES`` (a unit test checks), and its
security follows the scope it needs. The WebSocket protocol of ``/v1/voice/stream`` is beyond
OpenAPI: its entry describes the upgrade and points to docs/api.md, "Streaming".
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aiohttp import web
from pydantic import BaseModel

from voicegw import __version__
from voicegw.asr.wire import ReadingsAnswer, ReadingsOptions
from voicegw.gateway.admin_routes import ConsentBody, ContactBody, WithdrawBody
from voicegw.gateway.routes import FaqUpload, TextOrder
from voicegw.gateway.scopes import ROUTE_SCOPES
from voicegw.turn import TurnResult

STORE = {"name": "store", "in": "query", "required": True, "schema": {"type": "string"}, "description": "the store's menu id"}
SESSION = {"name": "session", "in": "query", "schema": {"type": "string"}, "description": "the customer's session (a new one is named if absent)"}
LANG = {"name": "lang", "in": "query", "schema": {"type": "string"}, "description": "ko, en, or auto (detect); default: the store's language"}
AUDIO_TYPES = ("audio/wav", "audio/flac", "audio/ogg", "audio/mp4", "audio/mpeg", "audio/webm", "application/octet-stream")


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _ok(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, **(_json(schema) if schema else {})}


TURN = _ok("the turn result", _ref(TurnResult))
ANY_JSON = {"type": "object"}

#: (method, path) -> summary, parameters, request body, the 2xx answer.
ROUTES: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/healthz"): {"summary": "liveness", "responses": {"200": _ok("alive", ANY_JSON)}},
    ("GET", "/readyz"): {"summary": "ready once the speech model is loaded",
                         "responses": {"200": _ok("ready", ANY_JSON), "503": _ok("loading or failed", ANY_JSON)}},
    ("GET", "/metrics"): {"summary": "Prometheus metrics",
                          "responses": {"200": {"description": "Prometheus text", "content": {"text/plain": {"schema": {"type": "string"}}}}}},
    ("GET", "/openapi.json"): {"summary": "this document", "responses": {"200": _ok("OpenAPI 3.1", ANY_JSON)}},
    ("POST", "/v1/voice/orders"): {
        "summary": "a spoken turn: a clip of audio (raw, or multipart with file `audio` and fields store, session, lang)",
        "parameters": [STORE, SESSION, LANG, {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in AUDIO_TYPES}},
        "responses": {"200": TURN},
    },
    ("POST", "/v1/text/orders"): {"summary": "a typed turn", "requestBody": {"required": True, **_json(_ref(TextOrder))},
                                  "responses": {"200": TURN}},
    ("GET", "/v1/voice/stream"): {
        "summary": "WebSocket: live audio in, a turn per utterance out (docs/api.md, \"Streaming\")",
        "parameters": [STORE, SESSION, LANG,
                       {"name": "format", "in": "query", "schema": {"enum": ["pcm16", "webm", "ogg"]}},
                       {"name": "rate", "in": "query", "schema": {"enum": [16000, 24000, 48000]}},
                       {"name": "partials", "in": "query", "schema": {"type": "boolean"}},
                       {"name": "token", "in": "query", "schema": {"type": "string"},
                        "description": "a stream token (POST /v1/voice/stream/token), for browsers"}],
        "responses": {"101": {"description": "switched to the WebSocket protocol"}},
    },
    ("POST", "/v1/voice/stream/token"): {"summary": "a single-use token to open the stream from a browser", "parameters": [STORE],
                                         "responses": {"200": _ok("the token", ANY_JSON)}},
    ("GET", "/v1/menu"): {"summary": "the store's menu board", "parameters": [STORE], "responses": {"200": _ok("items, prices, options", ANY_JSON)}},
    ("GET", "/kiosk"): {"summary": "the kiosk ordering page", "parameters": [STORE],
                        "responses": {"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}}},
    ("GET", "/kiosk/{name}"): {"summary": "a file of the kiosk page",
                               "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
                               "responses": {"200": {"description": "JavaScript or CSS"}}},
    ("POST", "/kakao/skill"): {"summary": "text chat from Kakao i Open Builder (a skill request)", "parameters": [STORE],
                               "requestBody": {"required": True, **_json(ANY_JSON)},
                               "responses": {"200": _ok("a skill response, version 2.0; data holds the turn result", ANY_JSON)}},
    ("POST", "/v1/audio/transcriptions"): {
        "summary": "OpenAI-compatible transcription (multipart: file, language, prompt, response_format)",
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {"type": "object"}}}},
        "responses": {"200": _ok("{text}, or verbose_json", ANY_JSON)},
    },
    ("POST", "/v1/asr/readings"): {
        "summary": "this gateway's recogniser for other gateways (asr.url): every reading of a clip, the N-best and "
                   "menu-grammar ones included (docs/api.md, \"Remote recognition\")",
        "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["audio"],
            "properties": {"audio": {"type": "string", "format": "binary",
                                     "description": "16 kHz mono 16-bit PCM WAV, at most audio.max_duration_s"},
                           "options": _ref(ReadingsOptions)}},
            "encoding": {"audio": {"contentType": "audio/wav"}, "options": {"contentType": "application/json"}}}}},
        "responses": {"200": _ok("the transcript after the guards, with its alternatives", _ref(ReadingsAnswer)),
                      "503": _ok("the model is loading, or the recogniser is saturated (Retry-After)",
                                 {"$ref": "#/components/schemas/Error"})},
    },
    ("GET", "/v1/faq"): {"summary": "the store's FAQ", "parameters": [STORE], "responses": {"200": _ok("entries", ANY_JSON)}},
    ("PUT", "/v1/faq"): {"summary": "replace the store's FAQ", "parameters": [STORE],
                         "requestBody": {"required": True, **_json(_ref(FaqUpload))}, "responses": {"200": _ok("stored", ANY_JSON)}},
    ("POST", "/v1/consents"): {"summary": "record a customer's consent", "requestBody": {"required": True, **_json(_ref(ConsentBody))},
                               "responses": {"200": _ok("the consent", ANY_JSON)}},
    ("DELETE", "/v1/consents"): {"summary": "withdraw a consent (what was kept under it is deleted)",
                                 "requestBody": {"required": True, **_json(_ref(WithdrawBody))},
                                 "responses": {"200": _ok("withdrawn", ANY_JSON)}},
    ("POST", "/v1/contacts"): {"summary": "a delivery contact, stored encrypted under its consent",
                               "requestBody": {"required": True, **_json(_ref(ContactBody))},
                               "responses": {"200": _ok("stored", ANY_JSON)}},
    ("GET", "/v1/admin/users/{user}"): {"summary": "export everything about a customer (audited)", "responses": {"200": _ok("the export", ANY_JSON)}},
    ("DELETE", "/v1/admin/users/{user}"): {"summary": "delete everything about a customer (audited)", "responses": {"200": _ok("what was deleted", ANY_JSON)}},
    ("GET", "/v1/admin/contacts/{order_id}"): {"summary": "reveal an order's delivery contact (audited)", "responses": {"200": _ok("the contact", ANY_JSON)}},
    ("GET", "/v1/admin/report"): {
        "summary": "the chat-log report and the A/B tests (docs/report.md): what `voicegw report --json` prints",
        "parameters": [{"name": "store", "in": "query", "schema": {"type": "string"}},
                       {"name": "since", "in": "query", "schema": {"type": "string"}, "description": "ISO 8601 date or moment"},
                       {"name": "until", "in": "query", "schema": {"type": "string"}, "description": "ISO 8601 date or moment"},
                       {"name": "channel", "in": "query", "schema": {"enum": ["voice", "text", "kakao"]}},
                       {"name": "format", "in": "query", "schema": {"enum": ["json", "html"]}}],
        "responses": {"200": {"description": "report.json, or report.html with format=html",
                              "content": {"application/json": {"schema": ANY_JSON}, "text/html": {"schema": {"type": "string"}}}}},
    },
}

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}}


def _path_parameters(path: str) -> list[dict[str, Any]]:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
    return [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in names]


@cache
def openapi_document() -> dict[str, Any]:
    models = (TurnResult, TextOrder, FaqUpload, ConsentBody, WithdrawBody, ContactBody, ReadingsOptions, ReadingsAnswer)
    schemas: dict[str, Any] = {"Error": ERROR}
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    paths: dict[str, dict[str, Any]] = {}
    for (method, path), route in ROUTES.items():
        operation = {**route, "responses": {**route["responses"], "4XX": _ok("an error", {"$ref": "#/components/schemas/Error"})}}
        if not any(p.get("in") == "path" for p in operation.get("parameters", [])) and _path_parameters(path):
            operation["parameters"] = [*operation.get("parameters", []), *_path_parameters(path)]
        scope = ROUTE_SCOPES.get((method, path))
        operation["security"] = [{"apiKey": []}, {"bearer": []}] if scope else []
        if scope:
            operation["description"] = f"Needs an API key with the `{scope}` scope."
        paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "voicegw", "version": __version__,
                 "description": "Voice-ordering gateway: the contracts of docs/api.md."},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer vgw_..."},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
    }


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(openapi_document())
