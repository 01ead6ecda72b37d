"""Business rules: who may be greeted, which dates count, and how far away a birthday is."""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

USERNAME_MAX_LENGTH = 64
# Python's `re` has no \p{L}; "not a non-word, digit or underscore" is exactly the Unicode
# letters (general category L*), which is what str.isalpha() tests.
USERNAME_PATTERN = r"^[^\W\d_]{1,64}$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
# date.fromisoformat also takes 19900101 and 1990-W01-1; this pins the one accepted spelling.
_STRICT_DATE = re.compile(DATE_PATTERN, re.ASCII)


class ValidationError(ValueError):
    """A client supplied a value the rules do not allow."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field = field
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Username:
    """A validated username: the spelling the client used and the storage key it maps to."""

    display: str
    key: str


def parse_username(raw: str) -> Username:
    """Validate a username and derive its case-insensitive key."""
    normalised = unicodedata.normalize("NFC", raw)
    if not 1 <= len(normalised) <= USERNAME_MAX_LENGTH:
        raise ValidationError(
            "username", f"must be 1 to {USERNAME_MAX_LENGTH} letters, got {len(normalised)}"
        )
    if not normalised.isalpha():
        raise ValidationError("username", "must contain only letters")
    return Username(display=raw, key=normalised.casefold())


def parse_date_of_birth(value: object, today: date) -> date:
    """Validate a dateOfBirth value from a request body."""
    if not isinstance(value, str):
        raise ValidationError("dateOfBirth", "must be a string in YYYY-MM-DD form")
    if not _STRICT_DATE.fullmatch(value):
        raise ValidationError("dateOfBirth", "must be in YYYY-MM-DD form")
    try:
        born = date.fromisoformat(value)
    except ValueError:
        raise ValidationError("dateOfBirth", "is not a real calendar date") from None
    if born >= today:
        raise ValidationError("dateOfBirth", "must be a date before today")
    return born


def birthday_in(year: int, born: date) -> date:
    """The day the birthday is celebrated in a year; Feb 29 falls on Mar 1 in common years."""
    if born.month == 2 and born.day == 29 and not calendar.isleap(year):
        return date(year, 3, 1)
    return born.replace(year=year)


def days_until_birthday(born: date, today: date) -> int:
    """Whole days from today to the next birthday; 0 when it is today."""
    upcoming = birthday_in(today.year, born)
    if upcoming < today:
        upcoming = birthday_in(today.year + 1, born)
    return (upcoming - today).days


def greeting(username: str, born: date, today: date) -> str:
    """The message for a user, byte for byte as the API promises."""
    days = days_until_birthday(born, today)
    if days == 0:
        return f"Hello, {username}! Happy birthday!"
    return f"Hello, {username}! Your birthday is in {days} day(s)"
