"""The FastAPI application: routes only; each page's logic lives in its own module.

GET  /                  the play page (static/play.html); /compare, /generate likewise
GET  /static/{name}     a shipped page file, by name from a fixed table
GET  /api/model         the model summary (actions, keys, start clip, ...)
WS   /ws/play           play (play_socket.py)
GET  /api/results       the results folder's listing (when the server was given one)
GET  /results/{name}    one listed results file; anything else 404
POST /api/generate      continue the start clip -> GIF / MP4 (generate_route.py)
"""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, WebSocket
from fastapi.responses import FileResponse, Response

from arvideo.serve.files import RESULT_TYPES, STATIC, static_file
from arvideo.serve.play_socket import play_socket
from arvideo.serve.state import ServeState

PAGES = {"/": "play.html", "/play": "play.html", "/compare": "compare.html"}
PAGES["/generate"] = "generate.html"


def create_app(state: ServeState) -> FastAPI:
    app = FastAPI(title="arvideo", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.arvideo = state

    for route, name in PAGES.items():
        app.add_api_route(route, _page(name), methods=["GET"], include_in_schema=False)

    @app.get("/static/{name}")
    def static(name: str) -> Response:
        return _static_response(name)

    @app.get("/api/model")
    def model() -> dict:
        return state.model_summary()

    @app.websocket("/ws/play")
    async def play(websocket: WebSocket) -> None:
        await play_socket(websocket, state)

    @app.get("/api/results")
    def results() -> dict:
        if state.results is None:
            return {"folder": None, "files": []}
        return {"folder": state.results.root.name, "files": state.results.files()}

    @app.get("/results/{name:path}")
    def result_file(name: str) -> FileResponse:
        path = None if state.results is None else state.results.resolve(name)
        if path is None:
            raise HTTPException(404, f"no results file {name!r}")
        return FileResponse(path, media_type=RESULT_TYPES[path.suffix])

    from arvideo.serve.generate_route import add_generate_route

    add_generate_route(app, state)
    return app


def _page(name: str):
    def page() -> Response:
        return _static_response(name)

    return page


def _static_response(name: str) -> Response:
    body = static_file(name)
    if body is None:
        raise HTTPException(404, f"no page file {name!r}")
    headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    return Response(body, media_type=STATIC[name], headers=headers)
