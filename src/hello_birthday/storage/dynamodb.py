"""DynamoDB engine: production storage."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from hello_birthday.storage.port import StorageUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

KEY_ATTRIBUTE = "username"
DATE_ATTRIBUTE = "dateOfBirth"


class DynamoDBRepository:
    """Strongly consistent reads and plain puts against one table keyed by username."""

    engine = "dynamodb"

    def __init__(self, *, table: str, region: str | None, timeout: float) -> None:
        self._table = table
        session = boto3.session.Session()
        self._client = _client(session, region, timeout, attempts=3)
        # Readiness asks once, quickly: a probe that retries would hold the health check past
        # the load balancer's own timeout, and the next probe comes within a second anyway.
        self._probe = _client(session, region, min(timeout, 1.0), attempts=1)

    def save(self, key: str, born: date) -> None:
        try:
            self._client.put_item(
                TableName=self._table,
                Item={KEY_ATTRIBUTE: {"S": key}, DATE_ATTRIBUTE: {"S": born.isoformat()}},
            )
        except (BotoCoreError, ClientError) as error:
            raise StorageUnavailable(f"dynamodb put_item: {_describe(error)}") from error

    def get(self, key: str) -> date | None:
        try:
            reply = self._client.get_item(
                TableName=self._table,
                Key={KEY_ATTRIBUTE: {"S": key}},
                ConsistentRead=True,
                ProjectionExpression="#d",
                ExpressionAttributeNames={"#d": DATE_ATTRIBUTE},
            )
        except (BotoCoreError, ClientError) as error:
            raise StorageUnavailable(f"dynamodb get_item: {_describe(error)}") from error
        item = reply.get("Item")
        if item is None:
            return None
        return date.fromisoformat(item[DATE_ATTRIBUTE]["S"])

    def check(self) -> None:
        try:
            reply = self._probe.describe_table(TableName=self._table)
        except (BotoCoreError, ClientError) as error:
            raise StorageUnavailable(f"dynamodb describe_table: {_describe(error)}") from error
        status = reply["Table"].get("TableStatus")
        if status not in ("ACTIVE", "UPDATING"):
            raise StorageUnavailable(f"dynamodb table {self._table} is {status}")

    def close(self) -> None:
        self._client.close()
        self._probe.close()


def _client(
    session: boto3.session.Session, region: str | None, timeout: float, *, attempts: int
) -> DynamoDBClient:
    # The endpoint comes from AWS_ENDPOINT_URL_DYNAMODB when set, as boto3 does by itself.
    return session.client(
        "dynamodb",
        region_name=region,
        config=Config(
            connect_timeout=timeout,
            read_timeout=timeout,
            retries={"mode": "standard", "total_max_attempts": attempts},
            max_pool_connections=64,
        ),
    )


def _describe(error: BotoCoreError | ClientError) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "ClientError"))
    return type(error).__name__


def create_table(client: DynamoDBClient, table: str) -> None:
    """Create the table in the shape Terraform gives it (modules/dynamodb), for local runs."""
    client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": KEY_ATTRIBUTE, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": KEY_ATTRIBUTE, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
