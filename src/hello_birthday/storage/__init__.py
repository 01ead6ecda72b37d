"""The storage port and the factory that picks an engine from settings."""

from __future__ import annotations

from hello_birthday.settings import Settings
from hello_birthday.storage.port import Repository, StorageUnavailable

__all__ = ["Repository", "StorageUnavailable", "open_repository", "prepare_storage"]


def open_repository(settings: Settings) -> Repository:
    """Open the engine the settings name."""
    if settings.storage == "dynamodb":
        # Imported here so the SQLite default never pays for loading boto3.
        from hello_birthday.storage.dynamodb import DynamoDBRepository

        return DynamoDBRepository(
            table=settings.dynamodb_table,
            region=settings.aws_region,
            timeout=settings.storage_timeout,
        )
    from hello_birthday.storage.sqlite import SQLiteRepository

    return SQLiteRepository(settings.sqlite_path, timeout=settings.storage_timeout)


def prepare_storage(settings: Settings) -> None:
    """Do once, before the workers start, what they must not race for; StorageUnavailable."""
    if settings.storage == "sqlite":
        # Workers start together, and turning a new SQLite file to WAL needs it to oneself: a
        # worker that lost that race died with "database is locked".
        open_repository(settings).close()
