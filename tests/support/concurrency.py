"""One function run in several threads at once."""

from __future__ import annotations

import threading
from collections.abc import Callable


def errors_from_threads(target: Callable[[int], None], count: int) -> list[BaseException]:
    """Run target(0), ..., target(count - 1) each in a thread of its own; what they raised."""
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            target(index)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
