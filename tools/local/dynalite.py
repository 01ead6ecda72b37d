"""dynalite, a DynamoDB implementation on LevelDB, run as a child process on loopback."""

from __future__ import annotations

import argparse
import signal
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from hello_birthday.storage.dynamodb import create_table
from tools.local.ports import free_port

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / "node_modules" / ".bin" / "dynalite"
# dynalite checks no credentials, but botocore refuses to sign without some.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_REGION": "us-east-1",
}


class Dynalite:
    """A dynalite server; in memory unless given a directory to keep its LevelDB in."""

    def __init__(self, port: int | None = None, data_dir: Path | None = None) -> None:
        self.port = port or free_port()
        self.data_dir = data_dir
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """The URL to give AWS_ENDPOINT_URL_DYNAMODB."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Dynalite:
        """Start the server and wait until it answers."""
        if not BINARY.exists():
            raise RuntimeError(f"{BINARY} is missing: run `npm ci` (make setup does)")
        command = [str(BINARY), "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0"]
        if self.data_dir is not None:
            command += ["--path", str(self.data_dir)]
        self._process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while True:
            try:
                self.client().list_tables()
                return self
            except (BotoCoreError, ClientError):
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("dynalite did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server; a later start() on the same data_dir sees the same data."""
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def client(self) -> DynamoDBClient:
        """A boto3 DynamoDB client for this server with short timeouts."""
        return boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint,
            region_name=FAKE_CREDENTIALS["AWS_REGION"],
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1}),
        )

    def create_table(self, name: str) -> None:
        """Create the service's table, shaped as the Terraform shapes it."""
        create_table(self.client(), name)

    def environment(self, table: str) -> dict[str, str]:
        """The variables that point the service at this server."""
        return {
            **FAKE_CREDENTIALS,
            "HELLO_STORAGE": "dynamodb",
            "HELLO_DYNAMODB_TABLE": table,
            "AWS_ENDPOINT_URL_DYNAMODB": self.endpoint,
        }


def main() -> None:
    """Run dynalite in the foreground with the service's table, for `make dynamodb-local`."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--table", default="hello-birthday")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "var" / "dynalite")
    arguments = parser.parse_args()
    arguments.data_dir.mkdir(parents=True, exist_ok=True)
    server = Dynalite(arguments.port, arguments.data_dir).start()
    try:
        try:
            server.create_table(arguments.table)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceInUseException":
                raise
        for name, value in server.environment(arguments.table).items():
            print(f"export {name}={value}")
        print("# dynalite is running; Ctrl+C stops it", flush=True)
        stop_signals = {signal.SIGINT, signal.SIGTERM}
        signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
        signal.sigwait(stop_signals)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
