"""Personal details in students' typed text, masked before a lead or an admin reads it.

Students may be minors, and a question they type may hold their e-mail address, phone
number, street address or a name. Staff need the question, not those: each becomes a
bracketed word ([e-mail], [phone], [address], [name]). The student's own text stays as
typed where it is theirs (/mydata).

The text is hostile: every pattern runs in linear time (no nested or overlapping
repetition; a run is tried from its start only), checked with 100,000 characters.
Numbers are judged after they are found, so that years, dates, money and thousands stay:
what looks like a phone number is 7 to 15 digits that are none of those.
"""

import re
from collections.abc import Iterable

EMAIL, PHONE, ADDRESS, NAME = "[e-mail]", "[phone]", "[address]", "[name]"

# A local part starts where a run of its characters starts (the look-behind), so a long run
# with no @ is walked once, not once per character.
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")

# A run of digits with the separators phone numbers are written with; judged by `_phone`.
_NUMBER = re.compile(r"(?<![\w+(])\+?\(?\d[\d ().\-]*\d\)?")
_DIGIT_GROUP = re.compile(r"\d+")
_DATE = re.compile(r"\d{1,2}[.-]\d{1,2}[.-]\d{2,4}|\d{4}[.-]\d{1,2}[.-]\d{1,2}")
_THOUSANDS = re.compile(r"\d{1,3}(?:([ .])\d{3})(?:\1\d{3})*")
_TIME_RANGE = re.compile(r"\d{1,2}\.\d{2} ?- ?\d{1,2}\.\d{2}")
_MONEY_BEFORE = re.compile(r"(?:[$€£¥₽₹]|\b(?:usd|eur|gbp|rub|inr)) ?$", re.IGNORECASE)
_MONEY_AFTER = re.compile(
    r"^ ?(?:%|[$€£¥₽₹]|k\b|m\b|(?:usd|eur|gbp|rub|inr|dollars?|euros?|pounds?|rubles?|roubles?"
    r"|rupees?|bucks|a year|per|an hour|a month)\b)",
    re.IGNORECASE,
)
_CONTEXT = 12  # characters either side looked at for money

_STREET_TYPES = (
    r"street|st|road|rd|avenue|ave|av|lane|ln|drive|dr|boulevard|blvd|court|ct|place|pl|way"
    r"|close|crescent|cres|terrace|square|sq|highway|hwy|parkway|pkwy|row|alley|grove|gardens"
    r"|hill|walk|mews"
)
# Words that sit between a number and a street word in ordinary sentences ("3 days on the
# road", "2 ways"): a street's name is none of these.
_NOT_STREET_NAME = (
    r"the|a|an|on|in|at|of|to|for|by|my|your|his|her|our|their|and|or|per|each|every|more"
    r"|hours?|days?|weeks?|months?|years?|minutes?|times?|miles?|km|kilometres?|kilometers?"
    r"|people|students?|kids|cars?|steps?|ways?|lanes?|roads?|streets?|blocks?|stops?"
)
_STREET = re.compile(
    rf"\b\d{{1,5}}[A-Za-z]?(?:,? (?!(?:{_NOT_STREET_NAME})\b)[A-Za-z][\w'-]{{0,30}}){{1,3}}"
    rf" (?:{_STREET_TYPES})\b\.?",
    re.IGNORECASE,
)
_UNIT = re.compile(
    r"\b(?:apt|apartment|flat|suite)\.? ?(?:no\.? ?|#)?\d{1,5}[A-Za-z]?\b",
    re.IGNORECASE,
)
_PO_BOX = re.compile(r"\bp\.? ?o\.? ?box ?#?\d{1,7}\b", re.IGNORECASE)
# Postcodes are masked where they read as one: a UK postcode as written (capitals), a US
# state and ZIP, or any code after a word that says what it is.
_UK_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}\b")
_STATES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH"
    " NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY"
)
_STATE_ZIP = re.compile(rf"\b(?:{'|'.join(_STATES.split())}),? \d{{5}}(?:-\d{{4}})?\b")
_NAMED_CODE = re.compile(
    r"\b(?:zip|zip code|zipcode|postcode|post code|postal code)(?: is|:)? ?"
    r"(?=[A-Za-z]{0,2}\d)[A-Za-z\d]{2,7}(?:[ -][A-Za-z\d]{2,4})?\b",
    re.IGNORECASE,
)
_LIVE_AT = re.compile(
    r"\b(?:i live|i'm living|i am living|we live|my address is|address:|my house is)"
    r"(?: at| on)? \d{1,5}[A-Za-z]?(?: [A-Za-z][\w'-]{0,30}){1,2}",
    re.IGNORECASE,
)

# "my name is X": X is masked whatever its case, unless a common word ("my name is not…");
# "I'm X", "I am X", "call me X", "this is X": only a capitalised X, which a word there
# seldom is ("I'm Anna" but "I'm interested", "I am 14").
_WORD = r"[^\W\d_][^\W\d_'’-]*(?:['’-][^\W\d_]+)?"
_NAMED = re.compile(
    r"\b(?P<lead>(?i:my name is|my name's|my name’s|my names|name:|i'm called|i am called))"
    rf" ?(?P<name>{_WORD})(?: (?P<more>{_WORD}))?"
)
_INTRODUCED = re.compile(
    r"\b(?P<lead>[Ii]'m|[Ii]’m|[Ii] am|[Ii]m|[Cc]all me)"
    r" (?P<name>[A-Z][^\W\d_A-Z][^\W\d_]*)(?P<more>(?: [A-Z][^\W\d_A-Z][^\W\d_]*)?)"
)
_LETTERS = re.compile(r"[^\W\d_]+")
# A bracketed word already put in is walked over whole, so that no name eats part of it.
_TOKENS = re.compile(r"\[(?:e-mail|phone|address|name)\]|[^\W\d_]+")

# Words that follow "I'm", "I am", "call me" capitalised in ordinary questions (title case,
# a sentence's first word), and the words of careers: never taken for a name.
_COMMON_TEXT = """
    a about above across actually after afraid again against ago all almost alone already
    also always am an and angry annoyed another any anxious are around as ask asking at away
    back bad because been before behind being below better between bit bored both busy but
    by can cannot careful certain clear college confused considering could curious currently
    dear definitely did do does doing done down during each eager easy either else enough
    even ever every excited exhausted fairly feeling fifteen fine finished first for
    fourteen free from frustrated full fun glad going gonna good great grade had happy hard
    has have having he her here hers high him his home honestly hoping how however i if in
    interested into is it its just keen kind kinda kindof late learning leaving less like
    likely little looking lost lucky made make many maybe me mean might mine more most much
    must my myself near nearly need needing nervous never new next nice nine no nobody none
    nor not nothing now of off often ok okay old on once one only open or other our out over
    part pretty probably proud quite rather ready real really right same scared school
    seeing seventeen she should sick since sixteen sixth sixteen small so some someone
    something sometimes soon sorry still stuck studying such super supposed sure than
    thankful thanks that the their them then there these they thinking thirteen this those
    though through to today too totally trying twelve unsure until up upset us used very
    want wanting was we well were what when where which while who why will willing wish with
    without wondering working worried would yes yet you young your yours year years yo hi
    hello hey thank please dont can't cant won't wont isn't student pupil teen teenager kid
    child boy girl beginner newbie intern junior senior freshman sophomore graduate
    apprentice trainee volunteer artist designer developer programmer coder engineer doctor
    nurse teacher chef cook baker pilot driver mechanic electrician plumber carpenter lawyer
    writer musician producer singer dancer actor actress photographer architect scientist
    accountant manager analyst tester gamer editor animator illustrator therapist dentist
    vet veterinarian pharmacist paramedic firefighter police officer soldier farmer builder
    welder technician coach trainer journalist blogger streamer youtuber entrepreneur sound
    music game games software web data design art arts science tech it ai python java
    javascript english spanish french german russian chinese american british canadian
    australian indian european african asian christian muslim jewish catholic
"""
COMMON_WORDS = frozenset(_COMMON_TEXT.split())


def _is_year(group: str) -> bool:
    return len(group) == 4 and group[:2] in {"19", "20"}


def _phone(match: re.Match[str]) -> str:
    found = match.group()
    groups = _DIGIT_GROUP.findall(found)
    digits = sum(len(group) for group in groups)
    if digits < 7:
        return found
    core = found.strip("() ")
    if all(_is_year(group) for group in groups):
        return found  # "2023 2024", "2020-2024"
    if _DATE.fullmatch(core) or _TIME_RANGE.fullmatch(core):
        return found
    text, start, end = match.string, match.start(), match.end()
    if _MONEY_BEFORE.search(text[max(0, start - _CONTEXT) : start]):
        return found
    if _MONEY_AFTER.search(text[end : end + _CONTEXT]):
        return found
    thousands = _THOUSANDS.fullmatch(core)
    if thousands and (len(groups[0]) < 3 or groups[-1] == "000"):
        return found  # "1 000 000", "1.500.000", "250 000"
    return PHONE


def _name_words(names: Iterable[str]) -> tuple[frozenset[str], frozenset[str]]:
    """The names' words, lowercase: those to mask in any case, and those that are also
    common words ("Will", "May", "Rose"), masked only capitalised inside a sentence."""
    plain: set[str] = set()
    common: set[str] = set()
    for name in names:
        for word in _LETTERS.findall(name[:200]):
            if len(word) < 2:
                continue
            lowered = word.lower()
            (common if lowered in COMMON_WORDS else plain).add(lowered)
    return frozenset(plain), frozenset(common)


def _sentence_start(text: str, start: int) -> bool:
    before = text[max(0, start - 3) : start].rstrip()
    return not before or before[-1] in '.!?\n:;"“(-'


def _mask_names(text: str, names: Iterable[str]) -> str:
    plain, common = _name_words(names)
    if not plain and not common:
        return text

    def replace(match: re.Match[str]) -> str:
        word = match.group()
        if word.startswith("["):
            return word
        lowered = word.lower()
        if lowered in plain:
            return NAME
        if lowered in common and word[0].isupper() and not word.isupper():
            return word if _sentence_start(match.string, match.start()) else NAME
        return word

    return _TOKENS.sub(replace, text)


def _introduced(match: re.Match[str]) -> str:
    name = match.group("name")
    if name.lower() in COMMON_WORDS or name.startswith("["):
        return match.group()
    more = match.group("more").strip()
    kept = f" {more}" if more and more.lower() in COMMON_WORDS else f" {NAME}" if more else ""
    return f"{match.group('lead')} {NAME}{kept}"


def _named(match: re.Match[str]) -> str:
    """The name after "my name is", and the next word too unless a common one (a surname)."""
    if match.group("name").lower() in COMMON_WORDS:
        return match.group()
    more = match.group("more")
    if more is None:
        return f"{match.group('lead')} {NAME}"
    return f"{match.group('lead')} {NAME} {more if more.lower() in COMMON_WORDS else NAME}"


def mask(text: str, names: Iterable[str] = ()) -> str:
    """`text` with e-mail addresses, phone numbers, street addresses and names replaced by a
    bracketed word. `names`: the student's own first name and their classmates' names."""
    text = _EMAIL.sub(EMAIL, text)
    text = _PO_BOX.sub(ADDRESS, text)
    text = _LIVE_AT.sub(lambda match: match.group()[: _address_from(match)] + ADDRESS, text)
    text = _STREET.sub(ADDRESS, text)
    text = _UNIT.sub(ADDRESS, text)
    text = _NAMED_CODE.sub(ADDRESS, text)
    text = _STATE_ZIP.sub(ADDRESS, text)
    text = _UK_POSTCODE.sub(ADDRESS, text)
    text = _NUMBER.sub(_phone, text)
    text = _NAMED.sub(_named, text)
    text = _INTRODUCED.sub(_introduced, text)
    return _mask_names(text, names)


def _address_from(match: re.Match[str]) -> int:
    """Where the address starts in a "I live at 12 Oak" match: at its number."""
    found = match.group()
    for index, char in enumerate(found):
        if char.isdigit():
            return index
    return len(found)
