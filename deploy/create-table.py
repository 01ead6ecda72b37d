"""Create the service's DynamoDB table on a local DynamoDB, waiting until it answers.

The one-shot job of compose.yaml, run in the service's own image (which has boto3 and the
service's package, whose DynamoDB adapter defines the table's shape). Exits 0 when
the table exists (created now or already there) and 1 when DynamoDB never answered.
"""

from __future__ import annotations

import os
import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from hello_birthday.storage.dynamodb import create_table


def main() -> int:
    """Create the table named by HELLO_DYNAMODB_TABLE at AWS_ENDPOINT_URL_DYNAMODB."""
    table = os.environ.get("HELLO_DYNAMODB_TABLE", "hello-birthday")
    wait_seconds = float(os.environ.get("CREATE_TABLE_WAIT_SECONDS", "60"))
    client = boto3.client(
        "dynamodb",
        # As the service reads it: botocore alone knows only AWS_DEFAULT_REGION.
        region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        config=Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1}),
    )
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            create_table(client, table)
            client.get_waiter("table_exists").wait(
                TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
            )
            print(f"created table {table}")
            return 0
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceInUseException":
                raise
            print(f"table {table} already exists")
            return 0
        except BotoCoreError as error:
            # DynamoDB Local takes a few seconds to listen after its container starts.
            if time.monotonic() > deadline:
                print(f"DynamoDB did not answer in {wait_seconds:g}s: {error}", file=sys.stderr)
                return 1
            time.sleep(1)


if __name__ == "__main__":
    sys.exit(main())
