"""Serving the OpenAPI document and Swagger UI, every asset from the installed package."""

from __future__ import annotations

from flask import Blueprint, Response, abort, send_from_directory

from hello_birthday.services import services

bp = Blueprint("openapi", __name__)

_SWAGGER_FILES = frozenset(
    {
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "index.css",
        "favicon-32x32.png",
        "favicon-16x16.png",
    }
)
_DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Hello Birthday API</title>
  <link rel="stylesheet" href="docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/swagger-ui-bundle.js"></script>
  <script src="docs/swagger-ui-standalone-preset.js"></script>
  <script src="docs/init.js"></script>
</body>
</html>
"""
# Kept out of the page so the page itself needs no inline script.
_DOCS_INIT = """window.ui = SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout"
});
"""


@bp.get("/openapi.json")
def openapi_json() -> Response:
    """The OpenAPI document."""
    return Response(services().openapi_document, mimetype="application/json")


@bp.get("/docs")
def docs_page() -> Response:
    """Swagger UI, with every asset served from the installed package."""
    return Response(_DOCS_PAGE, mimetype="text/html")


@bp.get("/docs/init.js")
def docs_init() -> Response:
    """Points Swagger UI at this service's document."""
    return Response(_DOCS_INIT, mimetype="text/javascript")


@bp.get("/docs/<asset>")
def docs_asset(asset: str) -> Response:
    """A Swagger UI asset from the swagger-ui-bundle-v2 package."""
    if asset not in _SWAGGER_FILES:
        abort(404)
    from swagger_ui_bundle import swagger_ui_path

    return send_from_directory(str(swagger_ui_path), asset, max_age=86400)
