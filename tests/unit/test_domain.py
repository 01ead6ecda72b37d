"""The business rules, with an explicit 'today' and never the real date."""

from __future__ import annotations

import unicodedata
from datetime import date, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from hello_birthday.domain import (
    USERNAME_MAX_LENGTH,
    ValidationError,
    birthday_in,
    days_until_birthday,
    greeting,
    identity_key,
    parse_date_of_birth,
    parse_username,
)

TODAY = date(2026, 11, 28)
dates = st.dates(min_value=date(1, 1, 1), max_value=date(9998, 12, 31))


@pytest.mark.parametrize(
    ("born", "today", "days"),
    [
        (date(1990, 11, 28), date(2026, 11, 28), 0),
        (date(1990, 11, 29), date(2026, 11, 28), 1),
        (date(1990, 11, 27), date(2026, 11, 28), 364),
        (date(1990, 1, 1), date(2026, 12, 31), 1),
        (date(1990, 12, 31), date(2027, 1, 1), 364),
        (date(1990, 3, 1), date(2028, 2, 28), 2),  # 2028 is a leap year
        (date(1990, 2, 28), date(2028, 2, 29), 365),  # next: 2029-02-28
        # Feb 29 birthdays fall on Mar 1 in common years.
        (date(2000, 2, 29), date(2027, 2, 28), 1),
        (date(2000, 2, 29), date(2027, 3, 1), 0),
        (date(2000, 2, 29), date(2028, 2, 29), 0),
        (date(2000, 2, 29), date(2028, 2, 28), 1),
        (date(2000, 2, 29), date(2028, 3, 1), 365),  # next: 2029-03-01
        (date(2000, 2, 29), date(2027, 3, 2), 364),  # next: 2028-02-29
        (date(2000, 2, 29), date(2026, 11, 28), 93),  # next: 2027-03-01
    ],
)
def test_days_until_birthday_examples(born: date, today: date, days: int) -> None:
    assert days_until_birthday(born, today) == days


@given(born=dates, today=dates)
def test_days_are_between_0_and_365(born: date, today: date) -> None:
    assume(born < today)
    assert 0 <= days_until_birthday(born, today) <= 365


@given(born=dates, today=dates)
def test_zero_exactly_on_the_birthday(born: date, today: date) -> None:
    assume(born < today)
    is_birthday = today == birthday_in(today.year, born)
    assert (days_until_birthday(born, today) == 0) == is_birthday


@given(born=dates, today=dates)
def test_counting_down_one_day_at_a_time(born: date, today: date) -> None:
    assume(born < today and days_until_birthday(born, today) > 0)
    tomorrow = today + timedelta(days=1)
    assert days_until_birthday(born, tomorrow) == days_until_birthday(born, today) - 1


@given(born=dates, year=st.integers(min_value=2, max_value=9997))
def test_day_after_a_birthday_gives_364_or_365(born: date, year: int) -> None:
    celebrated = birthday_in(year, born)
    assume(born < celebrated)
    days = days_until_birthday(born, celebrated + timedelta(days=1))
    assert days in (364, 365)
    assert celebrated + timedelta(days=1 + days) == birthday_in(year + 1, born)


@given(year=st.integers(min_value=1, max_value=9999))
def test_feb_29_is_celebrated_on_feb_29_or_mar_1(year: int) -> None:
    celebrated = birthday_in(year, date(2000, 2, 29))
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    assert celebrated == (date(year, 2, 29) if leap else date(year, 3, 1))


def test_greeting_wording_is_exact() -> None:
    assert greeting("Alice", date(1990, 11, 28), TODAY) == "Hello, Alice! Happy birthday!"
    assert greeting("Alice", date(1990, 11, 29), TODAY) == (
        "Hello, Alice! Your birthday is in 1 day(s)"
    )
    assert greeting("Alice", date(1990, 12, 3), TODAY) == (
        "Hello, Alice! Your birthday is in 5 day(s)"
    )


@pytest.mark.parametrize(
    "name",
    ["a", "Alice", "Zoë", "Σωκράτης", "李小龙", "x" * 64, "ǅemal", "राम", "مُحَمَّد", "Nguyễn"],
)
def test_valid_usernames(name: str) -> None:
    user = parse_username(name)
    assert user.display == name
    assert user.key == unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


def test_letters_with_combining_marks_are_letters() -> None:
    # Devanagari vowel signs and Arabic harakat are category M: refused before issue 16.
    assert parse_username("राम").key == "राम"
    assert parse_username("\u0645\u064f\u062d\u064e\u0645\u0651\u064e\u062f").display
    assert parse_username("e\u0301\u0302" * 21).key  # marks are counted in code points


def test_width_folds_into_one_identity() -> None:
    assert (
        parse_username("\uff41\uff4c\uff49\uff43\uff45").key
        == parse_username("alice").key
        == "alice"
    )
    assert parse_username("\uff21\uff2c\uff29\uff23\uff25").key == "alice"
    assert parse_username("ﬁsh").key == "fish"


def test_old_keys_are_offered_only_when_they_differ() -> None:
    assert (
        parse_username("\uff41\uff4c\uff49\uff43\uff45").legacy_key
        == "\uff41\uff4c\uff49\uff43\uff45"
    )
    assert parse_username("alice").legacy_key is None
    assert parse_username("राम").legacy_key is None  # marks were refused: nothing stored


@pytest.mark.parametrize(
    "name",
    [
        "",
        "x" * 65,
        "bob1",
        "bob_smith",
        "bob-smith",
        "bob.smith",
        "bob smith",
        "bob😀",
        "١٢٣",
        "\u0301",
        "\u0301abc",
        "\u093e\u092e",  # a vowel sign before any letter
        "a" + "\u0301" * 65,  # 65 code points even after NFC
    ],
)
def test_invalid_usernames(name: str) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_username(name)
    assert raised.value.field == "username"


def test_decomposed_and_composed_spellings_are_one_user() -> None:
    composed = parse_username("Zo\u00eb")
    decomposed = parse_username("Zoe\u0308")
    assert composed.key == decomposed.key == "zo\u00eb"
    assert decomposed.display == "Zoe\u0308"


def test_length_is_counted_after_normalisation() -> None:
    # 64 letters written with combining accents are 128 code points before NFC.
    assert parse_username("e\u0301" * USERNAME_MAX_LENGTH).key == "\u00e9" * USERNAME_MAX_LENGTH


def test_identity_is_case_insensitive() -> None:
    assert parse_username("ALICE").key == parse_username("alice").key
    assert parse_username("STRASSE").key == parse_username("straße").key


@given(st.text(min_size=1, max_size=64))
def test_identity_key_is_stable_and_ignores_width(raw: str) -> None:
    key = identity_key(raw)
    assert identity_key(key) == key
    assert identity_key(unicodedata.normalize("NFKD", raw)) == key


@given(st.text(min_size=1, max_size=80))
def test_username_accepted_exactly_when_letters_with_marks(raw: str) -> None:
    normalised = unicodedata.normalize("NFC", raw)
    categories = [unicodedata.category(ch) for ch in normalised]
    expected = (
        1 <= len(normalised) <= 64
        and categories[0].startswith("L")
        and all(c[0] in "LM" for c in categories)
    )
    try:
        parse_username(raw)
        accepted = True
    except ValidationError:
        accepted = False
    assert accepted == expected


@pytest.mark.parametrize(
    "value",
    [
        "19900101",
        "1990-W01-1",
        "1990-1-01",
        "1990-01-1",
        "90-01-01",
        " 1990-01-01",
        "1990-01-01 ",
        "1990-01-01\n",
        "1990-01-01T00:00",
        "1990/01/01",
        "+1990-01-01",
        "\uff11\uff19\uff19\uff10-01-01",  # full-width digits
        "1990-02-30",
        "1990-13-01",
        "0000-01-01",
        "",
    ],
)
def test_malformed_or_unreal_dates_are_rejected(value: str) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_date_of_birth(value, TODAY)
    assert raised.value.field == "dateOfBirth"


@pytest.mark.parametrize("value", [19900101, None, ["1990-01-01"], {"d": "1990-01-01"}, 1.5, True])
def test_non_strings_are_rejected(value: object) -> None:
    with pytest.raises(ValidationError, match="string"):
        parse_date_of_birth(value, TODAY)


def test_today_and_future_are_rejected_yesterday_is_not() -> None:
    for value in ("2026-11-28", "2026-11-29", "9999-12-31"):
        with pytest.raises(ValidationError, match="before today"):
            parse_date_of_birth(value, TODAY)
    assert parse_date_of_birth("2026-11-27", TODAY) == date(2026, 11, 27)
    assert parse_date_of_birth("0001-01-01", TODAY) == date(1, 1, 1)


@given(dates)
def test_every_past_date_round_trips(born: date) -> None:
    assume(born < TODAY)
    assert parse_date_of_birth(born.isoformat(), TODAY) == born
