"""The OpenAPI description: `document` builds it; `serving` answers /openapi.json and /docs."""

from __future__ import annotations

from hello_birthday.openapi.document import build_document, encoded_document
from hello_birthday.openapi.serving import bp

__all__ = ["bp", "build_document", "encoded_document"]
