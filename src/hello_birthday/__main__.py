"""Command line: `hello-birthday serve` and `hello-birthday healthcheck`."""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request

from hello_birthday.settings import Settings, SettingsError


def healthcheck(settings: Settings) -> int:
    """Exit 0 when /healthz answers 200 on this host; for container health checks."""
    url = f"http://127.0.0.1:{settings.port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:  # nosec B310 - fixed http URL
            return 0 if reply.status == 200 else 1
    except (urllib.error.URLError, OSError):
        return 1


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and settings, then run the command."""
    parser = argparse.ArgumentParser(prog="hello-birthday", description=__doc__)
    parser.add_argument("command", choices=("serve", "healthcheck"), nargs="?", default="serve")
    arguments = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"hello-birthday: configuration error: {error}", file=sys.stderr)
        return 2
    if arguments.command == "healthcheck":
        return healthcheck(settings)
    from hello_birthday.server import serve

    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
