"""Schemathesis hooks: keep generated data inside what the schema cannot say."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import schemathesis


@schemathesis.hook
def filter_body(context: schemathesis.HookContext, body: Any) -> bool:
    """Skip bodies whose date is today or later.

    "Strictly before today" moves every midnight, so JSON Schema cannot state it; the API
    answers such dates with a documented 400, which the positive-data check would flag.
    """
    if not isinstance(body, dict):
        return True
    born = body.get("dateOfBirth")
    if not isinstance(born, str) or len(born) != 10:
        return True
    # A day of margin either side of UTC covers any HELLO_TIMEZONE.
    latest_today = (datetime.now(UTC) + timedelta(days=1)).date()
    try:
        return date.fromisoformat(born) < latest_today - timedelta(days=1)
    except ValueError:
        return True
