"""Business rules: who may be greeted, which dates count, and how far away a birthday is."""

from __future__ import annotations

import calendar
import functools
import itertools
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

USERNAME_MAX_LENGTH = 64


def _class_of(categories: tuple[str, ...]) -> str:
    """Every code point in these general categories, as ranges for a regex character class."""
    ranges: list[tuple[int, int]] = []
    # Scanning all of Unicode took a quarter of a second; only these planes have marks and
    # numbers (a test checks the whole range).
    for point in itertools.chain(range(0x20000), range(0xE0000, 0xE1000)):
        if unicodedata.category(chr(point)) in categories:
            if ranges and ranges[-1][1] == point - 1:
                ranges[-1] = (ranges[-1][0], point)
            else:
                ranges.append((point, point))
    return "".join(
        re.escape(chr(low)) if low == high else f"{re.escape(chr(low))}-{re.escape(chr(high))}"
        for low, high in ranges
    )


@functools.cache
def username_pattern() -> str:
    """The username rule as a regex, for the OpenAPI document (parse_username is the rule).

    Python's `re` has no \\p{L} or \\p{M}. A letter is a word character that is no digit,
    underscore or other number (\\w also takes Nl and No, such as Ⅻ and ²); the marks are
    listed. A letter, then letters or marks; the length (after NFC) is maxLength's. Built on
    first use: listing the classes takes tens of milliseconds.
    """
    numbers = _class_of(("Nl", "No"))
    marks = _class_of(("Mn", "Mc", "Me"))
    letter = rf"[^\W\d_{numbers}]"
    return rf"^{letter}(?:{letter}|[{marks}])*$"


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
    """A validated username: the spelling the client used and the storage key it maps to.

    `legacy_key` is the key the same name had before keys folded width (NFC casefold, not
    NFKC), when that differs: rows stored under it are still found (decision 0001).
    """

    display: str
    key: str
    legacy_key: str | None = None


def parse_username(raw: str) -> Username:
    """Validate a username (letters, each optionally followed by combining marks) and key it."""
    normalised = unicodedata.normalize("NFC", raw)
    if not 1 <= len(normalised) <= USERNAME_MAX_LENGTH:
        raise ValidationError(
            "username", f"must be 1 to {USERNAME_MAX_LENGTH} letters, got {len(normalised)}"
        )
    if not normalised[0].isalpha():
        raise ValidationError("username", "must start with a letter")
    if not all(ch.isalpha() or unicodedata.category(ch)[0] == "M" for ch in normalised):
        raise ValidationError("username", "must contain only letters and their combining marks")
    key = identity_key(normalised)
    legacy = normalised.casefold()
    # Only a name the old all-letters rule accepted can have a row under the old key.
    stored_before = legacy != key and normalised.isalpha()
    return Username(display=raw, key=key, legacy_key=legacy if stored_before else None)


def identity_key(name: str) -> str:
    """NFKC casefold: one key for every spelling that differs only in case or width.

    Normalised again after casefolding, which can leave a string that is not in NFKC
    (Unicode's NFKC_Casefold is defined the same way), so the key is stable.
    """
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


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
