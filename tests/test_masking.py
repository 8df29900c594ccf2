"""Personal details in typed questions are masked before staff read them; the rest stays."""

import time

import pytest

from bot.services.masking import mask

NAMES = ["Katya", "Anna Maria", "Will", "Bob"]

MASKED = [
    ("write me at anna.smith+x@gmail.com ok", "write me at [e-mail] ok"),
    ("mail: IVAN_99@mail.co.uk", "mail: [e-mail]"),
    ("call +44 20 7946 0958 or 07946 095899", "call [phone] or [phone]"),
    ("(555) 123-4567", "[phone]"),
    ("my number 555.123.4567!", "my number [phone]!"),
    ("555-1234", "[phone]"),
    ("8 (916) 123-45-67", "[phone]"),
    ("+1-800-555-0199", "[phone]"),
    ("text 123 456 789", "text [phone]"),
    ("I live at 12 Oak Street", "I live at [address]"),
    ("221B Baker St. is my house", "[address] is my house"),
    ("12 oak street", "[address]"),
    ("i live at 7 maple", "i live at [address]"),
    ("Apt 4, PO Box 12", "[address], [address]"),
    ("apartment #12B", "[address]"),
    ("London NW1 6XE", "London [address]"),
    ("Springfield, IL 62704", "Springfield, [address]"),
    ("my zip code is 90210", "my [address]"),
    ("I'm Anna and I want to code", "I'm [name] and I want to code"),
    ("Hi, I am Zoe Brown, 14", "Hi, I am [name] [name], 14"),
    ("My name is anna smith", "My name is [name] [name]"),
    ("my name is Olek and I like art", "my name is [name] and I like art"),
    ("Call me Bob", "Call me [name]"),
    ("call me Dmitry please", "call me [name] please"),
    ("my friend Katya said so", "my friend [name] said so"),
    ("katya and anna maria", "[name] and [name] [name]"),
    ("Anna's question", "[name]'s question"),
    ("Ask Will about it", "Ask [name] about it"),
]

KEPT = [
    "In 2024 I want to earn $45,000 a year",
    "I work 40 hours a week",
    "Is 120000 per year a lot?",
    "1 000 000 rubles",
    "2020-2024",
    "from 2019 2020 2021",
    "2024-05-01 or 01.05.2024",
    "9.00-17.00 every day",
    "85% of people",
    "€1.500.000",
    "I'm 14",
    "I am 14 years old",
    "I'm interested in sound design",
    "I am Curious about it",
    "I'm Python developer",
    "call me back",
    "I spent 3 days on the road",
    "Do I need 2 years of college?",
    "Is a Software Developer paid well?",
    "Will I need a degree?",
    "I will be a Nurse",
    "What does a Music Producer do?",
    "index of array 5",
    "Is unit 3 hard?",
    "top 10 jobs",
    "<b>bold</b> &amp; <script>alert(1)</script>",
    "",
]


@pytest.mark.parametrize(("text", "expected"), MASKED)
def test_personal_details_are_masked(text: str, expected: str) -> None:
    assert mask(text, NAMES) == expected


@pytest.mark.parametrize("text", KEPT)
def test_ordinary_words_and_numbers_stay(text: str) -> None:
    assert mask(text, NAMES) == text


def test_without_names_only_patterns_mask_names() -> None:
    assert mask("Katya asked: I'm Katya") == "Katya asked: I'm [name]"


def test_names_never_eat_the_bracketed_words() -> None:
    assert mask("Mail me: a@b.io", ["Mail", "Phone", "Name"]) == "[name] me: [e-mail]"


def test_control_characters_and_html_pass_through() -> None:
    assert mask("<i>Katya</i>\x00 555-1234", NAMES) == "<i>[name]</i>\x00 [phone]"


HOSTILE = [
    "a" * 100_000,
    "1" * 100_000,
    "1 " * 50_000,
    "1-" * 50_000 + "x",
    "+(" * 50_000,
    "a@" * 50_000,
    ".@a" * 33_333,
    "x." * 50_000 + "@",
    "12 " + "Oak " * 25_000,
    "12 a" * 25_000,
    "my name is " * 9_000,
    "I'm Anna " * 11_000,
    "Apt " * 25_000,
    "zip code " * 11_000,
]


@pytest.mark.parametrize("text", HOSTILE, ids=lambda text: repr(text[:6]))
def test_huge_hostile_text_is_masked_in_linear_time(text: str) -> None:
    began = time.perf_counter()
    masked = mask(text, NAMES * 250)
    assert time.perf_counter() - began < 2.0
    assert isinstance(masked, str)
