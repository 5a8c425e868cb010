"""PII and secret redaction: the one module every text passes before it leaves the database.

Exports use it now and reports use it later. A :class:`Redactor` finds spans of these types and
replaces each with a typed placeholder:

| type        | placeholder     | how it is found                                              |
|-------------|-----------------|--------------------------------------------------------------|
| SECRET      | <SECRET>        | private-key blocks, sk-... keys, AWS access keys, GitHub     |
|             |                 | tokens, Bearer tokens, JWTs, Slack/Google/Stripe keys,       |
|             |                 | password=...-style assignments                               |
| EMAIL       | <EMAIL>         | local@domain.tld                                             |
| IBAN        | <IBAN>          | country code, check digits, per-country length, mod-97 check |
| CREDIT_CARD | <CREDIT_CARD>   | 12-19 digits (plain, 4-4-4-4 or 4-6-5 grouped), Luhn check   |
| US_SSN      | <US_SSN>        | AAA-GG-SSSS without the SSA's never-issued areas and groups  |
| IP_ADDRESS  | <IP_ADDRESS>    | dotted IPv4; IPv6 candidates checked by the ipaddress module |
| PHONE       | <PHONE>         | international and national formats; weak shapes need a       |
|             |                 | context word nearby (phone, call, fax ...); dates never are  |

When detections overlap, the type earlier in :data:`ENTITY_TYPES` wins (a Luhn-valid 16-digit
number is a card, not a phone). Placeholders never match a detector, so redaction is
idempotent. A detector is not run on a text that lacks what it needs (enough digits, an "@", a
keyword every secret pattern contains: ``_GATES``), and a redactor remembers each text's
detections (:class:`~flywheel.tasks._memo.TextMemo`): a night's examples repeat their system
messages.
Measured quality: ``docs/exports.md`` and ``BENCHMARKS.md`` ("PII redaction").
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from flywheel.tasks._memo import TextMemo
from flywheel.tasks.errors import UsageError

# Priority order: on overlap the earlier type wins.
ENTITY_TYPES: tuple[str, ...] = (
    "SECRET", "EMAIL", "IBAN", "CREDIT_CARD", "US_SSN", "IP_ADDRESS", "PHONE",
)
PLACEHOLDERS: dict[str, str] = {t: f"<{t}>" for t in ENTITY_TYPES}


@dataclass(frozen=True)
class Span:
    """One detection: ``text[start:end]`` is of ``entity_type``."""

    start: int
    end: int
    entity_type: str


# --- secrets ------------------------------------------------------------------------------------

_SECRET_PATTERNS: tuple[re.Pattern[str], ...] = (
    # A PEM private-key block; an unterminated one is redacted to the end of the text.
    re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----"
               r"(?:.*?-----END [A-Z0-9 ]*PRIVATE KEY-----|.*)", re.DOTALL),
    re.compile(r"(?<![\w-])sk-(?:[A-Za-z0-9]+-)*[A-Za-z0-9_\-]{20,}"),  # OpenAI, Anthropic …
    re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)"
               r"[A-Z0-9]{16}(?![A-Za-z0-9])"),  # AWS access key ids
    re.compile(r"(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{36,255}(?![A-Za-z0-9])"),  # GitHub tokens
    re.compile(r"(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{22,255}"),  # GitHub fine-grained PATs
    re.compile(r"(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,}"),  # Slack
    re.compile(r"(?<![A-Za-z0-9])AIza[0-9A-Za-z_\-]{35}"),  # Google API keys
    re.compile(r"(?<![A-Za-z0-9])[rs]k_(?:live|test)_[0-9A-Za-z]{16,}"),  # Stripe
    re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}"  # JWT
               r"\.[A-Za-z0-9_-]{8,}"),
)
# Patterns whose group 1 is the secret (the keyword before it stays readable).
_SECRET_VALUE_PATTERNS: tuple[re.Pattern[str], ...] = (
    re.compile(r"(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{16,}=*)"),
    re.compile(r"(?i)\baws_?secret_?access_?key[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+=]{40})"),
    re.compile(r"(?i)\b(?:api[_-]?key|secret[_-]?key|client[_-]?secret|access[_-]?token|"
               r"auth[_-]?token|password|passwd|pwd)[\"']?\s*[:=]\s*[\"']?([^\s\"',;]{8,})"),
)


def _secrets(text: str) -> Iterable[tuple[int, int]]:
    for pattern in _SECRET_PATTERNS:
        for m in pattern.finditer(text):
            yield m.start(), m.end()
    for pattern in _SECRET_VALUE_PATTERNS:
        for m in pattern.finditer(text):
            yield m.start(1), m.end(1)


# --- email --------------------------------------------------------------------------------------

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(
    rf"(?<![\w.%+-])[A-Za-z0-9._%+-]{{1,64}}@{_LABEL}(?:\.{_LABEL})*\.[A-Za-z]{{2,24}}(?![\w-])"
)


def _emails(text: str) -> Iterable[tuple[int, int]]:
    for m in _EMAIL.finditer(text):
        yield m.start(), m.end()


# --- IBAN ---------------------------------------------------------------------------------------

# Total IBAN length per country (SWIFT IBAN registry).
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DJ": 27,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FK": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32,
    "LI": 21, "LT": 20, "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19,
    "MN": 20, "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24, "SC": 31,
    "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25, "SV": 28, "TL": 23,
    "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20, "YE": 30,
}
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2})(\d{2})")


def iban_checksum_ok(compact: str) -> bool:
    """The ISO 13616 mod-97 check: move the first four characters to the end, letters → 10..35."""
    rearranged = compact[4:] + compact[:4]
    try:
        number = int("".join(str(int(ch, 36)) for ch in rearranged))
    except ValueError:
        return False
    return number % 97 == 1


def _ibans(text: str) -> Iterable[tuple[int, int]]:
    for m in _IBAN_START.finditer(text):
        length = IBAN_LENGTHS.get(m.group(1).upper())
        if length is None:
            continue
        # Take exactly `length` alphanumerics, allowing single spaces between them (print form).
        pos, chars = m.start(), []
        while pos < len(text) and len(chars) < length:
            ch = text[pos]
            if ch.isascii() and ch.isalnum():
                chars.append(ch)
            elif not (ch == " " and chars and pos + 1 < len(text) and text[pos + 1].isalnum()):
                break
            pos += 1
        if len(chars) != length or (pos < len(text) and text[pos].isalnum()):
            continue
        if iban_checksum_ok("".join(chars).upper()):
            yield m.start(), pos


# --- credit cards -------------------------------------------------------------------------------

_CARD = re.compile(
    r"(?<![\w+\-.])(?:"
    r"\d{4}([ \-])\d{4}\1\d{4}\1\d{1,7}"  # 4-4-4-4(-3) grouping
    r"|\d{4}([ \-])\d{6}\2\d{4,5}"  # Amex / Diners 4-6-5 grouping
    r"|\d{12,19}"  # plain
    r")(?![\d\-]|\.\d)"
)


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check every payment card number satisfies."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _cards(text: str) -> Iterable[tuple[int, int]]:
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group(0))
        if 12 <= len(digits) <= 19 and luhn_ok(digits):
            yield m.start(), m.end()


# --- US SSN -------------------------------------------------------------------------------------

_SSN = re.compile(
    r"(?<![\d\-.])(?!000|666|9\d\d)\d{3}([\- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\d\-]|\.\d)"
)
_SSN_PLAIN = re.compile(
    r"(?i)\b(?:ssn|social security(?: number| no\.?)?)\W{0,20}"
    r"((?!000|666|9\d\d)\d{3}(?!00)\d{2}(?!0000)\d{4})(?!\d)"
)


def _ssns(text: str) -> Iterable[tuple[int, int]]:
    for m in _SSN.finditer(text):
        yield m.start(), m.end()
    for m in _SSN_PLAIN.finditer(text):
        yield m.start(1), m.end(1)


# --- IP addresses -------------------------------------------------------------------------------

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"(?<![\d.])(?:{_OCTET}\.){{3}}{_OCTET}(?!\d|\.\d)")
_IPV6_CANDIDATE = re.compile(r"(?<![\w:.])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}"
                             r"(?:(?<=:)(?:\d{1,3}\.){3}\d{1,3})?(?![\w:])")


def _ips(text: str) -> Iterable[tuple[int, int]]:
    for m in _IPV4.finditer(text):
        yield m.start(), m.end()
    for m in _IPV6_CANDIDATE.finditer(text):
        candidate = m.group(0)
        groups = [g for g in re.split(r"[:.]", candidate) if g]
        if len(groups) < 3:  # "a::b" style fragments are too weak to call an address
            continue
        try:
            ipaddress.IPv6Address(candidate)
        except ValueError:
            continue
        yield m.start(), m.end()


# --- phone numbers ------------------------------------------------------------------------------

# A run of digit groups joined by single separators (space, dot, hyphen), with an optional
# international prefix, parenthesised area/trunk codes and an extension. No newlines.
_PHONE_RUN = re.compile(
    r"(?<![\w+\-./])(?<!\d,)"
    r"(?P<num>(?:\+|\(\+?(?=\d))?\d(?:\d|[ .\-](?=[\d(])|\((?=\d)|\)[ .\-]?(?=\d))*)"
    r"(?P<ext>\s?(?:x|ext\.?|extension)\s?\d{1,6})?"
    r"(?![\w])(?!\.\d|[\-,/]\d)"
)
_DATE_PREFIX = re.compile(  # 2024-05-01, 01.05.2024 (also when a time follows: "2024-05-01 12")
    r"(?:\d{4}[\-./]\d{1,2}[\-./]\d{1,2}|\d{1,2}[\-./]\d{1,2}[\-./]\d{4})(?!\d)"
)
_YEARS = re.compile(r"(?:1[89]|20)\d\d(?:[ \-](?:1[89]|20)\d\d)+")  # 1990-2020, 2019 2020
_PHONE_CONTEXT_BEFORE = re.compile(
    r"(?i)\b(?:phone|tel|telephone|mobile|mob|cell|cellphone|fax|call|called|calling|ring|dial|"
    r"text|sms|whatsapp|message|messages|contact|reach|answering|hotline|landline)\b"
    r"|\b(?:desk|office|home|work)\s*:"
)
_PHONE_CONTEXT_AFTER = re.compile(
    r"(?i)^\W{0,3}(?:phone|tel|mobile|cell|fax|desk|office|home|work)\b"
)
_CONTEXT_BEFORE, _CONTEXT_AFTER = 40, 15
_AREA_CODE = re.compile(r"\(\+?\d{1,5}\)\s?\d")


def _is_strong_phone(number: str, groups: list[str]) -> bool:
    """Shapes that are phone numbers without any context word."""
    if number.startswith("+") or _AREA_CODE.search(number):
        return True
    if len(groups) < 3:
        return False
    # 1 000 000 / 699.956.915: groups of exactly three after the first read like amounts.
    return not all(len(g) == 3 for g in groups[1:])


def _phones(text: str) -> Iterable[tuple[int, int]]:
    for m in _PHONE_RUN.finditer(text):
        number = m.group("num")
        digits = sum(ch.isdigit() for ch in number)
        if not 7 <= digits <= 15:
            continue
        bare = number.lstrip("(+")
        if _DATE_PREFIX.match(bare) or _YEARS.fullmatch(bare):
            continue
        groups = re.findall(r"\d+", number.replace("(0)", ""))  # +41 (0)44: trunk prefix
        if sum(len(g) == 1 for g in groups) > 1:  # 1 2 3 4 5 6 7, 11200-9.1: lists, not phones
            continue
        if not _is_strong_phone(number, groups):
            before = text[max(0, m.start() - _CONTEXT_BEFORE): m.start()]
            after = text[m.end(): m.end() + _CONTEXT_AFTER]
            if not (_PHONE_CONTEXT_BEFORE.search(before) or _PHONE_CONTEXT_AFTER.search(after)):
                continue
        yield m.start(), m.end()


_DETECTORS = {
    "SECRET": _secrets,
    "EMAIL": _emails,
    "IBAN": _ibans,
    "CREDIT_CARD": _cards,
    "US_SSN": _ssns,
    "IP_ADDRESS": _ips,
    "PHONE": _phones,
}


# --- gates --------------------------------------------------------------------------------------

# Substrings one of which every secret pattern needs (case-folded: the keyword patterns ignore
# case, and under re.IGNORECASE only "ı" matches an ASCII letter, "i", that casefold() keeps).
_SECRET_HINTS: tuple[str, ...] = (
    "-----begin", "sk-", "akia", "asia", "abia", "acca", "agpa", "aida", "aipa", "anpa", "anva",
    "aroa", "apka", "asca", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "xox", "aiza",
    "k_live_", "k_test_", "eyj", "bearer", "secret", "api", "access", "auth", "passw", "pwd",
)
_NON_DIGIT = re.compile(r"\D")


class _Shape:
    """What the detectors need of a text, each found in a C-speed pass when first asked: a
    detector whose need is absent cannot match and is skipped (a gate only ever skips)."""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def digits(self) -> int:
        """Unicode decimal digits, as the patterns' \\d counts them."""
        return len(_NON_DIGIT.sub("", self.text))

    @cached_property
    def secret_hint(self) -> bool:
        """Whether one of the substrings some secret pattern needs is in the text."""
        folded = self.text.casefold().replace("ı", "i")
        return any(hint in folded for hint in _SECRET_HINTS)


_GATES = {
    "SECRET": lambda s: s.secret_hint,
    "EMAIL": lambda s: "@" in s.text,
    "IBAN": lambda s: s.digits >= 2,  # the check digits
    "CREDIT_CARD": lambda s: s.digits >= 12,
    "US_SSN": lambda s: s.digits >= 9,
    "IP_ADDRESS": lambda s: ("." in s.text and s.digits >= 4) or s.text.count(":") >= 2,
    "PHONE": lambda s: s.digits >= 7,
}


class Redactor:
    """Finds and replaces PII and secrets of the configured types, sparing allow-listed values."""

    def __init__(self, types: Iterable[str] | None = None, allow: Iterable[str] = ()) -> None:
        """``types``: entity types to redact (default all); ``allow``: values never redacted
        (compared case-insensitively with the detected text, e.g. a public support address)."""
        chosen = ENTITY_TYPES if types is None else tuple(t.upper() for t in types)
        unknown = [t for t in chosen if t not in _DETECTORS]
        if unknown:
            raise UsageError(
                f"unknown redaction type(s) {', '.join(unknown)}; known: {', '.join(ENTITY_TYPES)}"
            )
        self.types: tuple[str, ...] = tuple(t for t in ENTITY_TYPES if t in chosen)
        self.allow: frozenset[str] = frozenset(a.strip().casefold() for a in allow if a.strip())
        self._found = TextMemo(self._detect)

    def find(self, text: str) -> list[Span]:
        """The non-overlapping detections in ``text``, in order of position."""
        return list(self._found(text))

    def _detect(self, text: str) -> tuple[Span, ...]:
        shape = _Shape(text)
        accepted: list[Span] = []
        for entity_type in self.types:  # priority order: earlier types claim their text first
            if not _GATES[entity_type](shape):
                continue
            for start, end in _DETECTORS[entity_type](text):
                if start >= end or text[start:end].strip().casefold() in self.allow:
                    continue
                if any(start < s.end and s.start < end for s in accepted):
                    continue
                accepted.append(Span(start, end, entity_type))
        return tuple(sorted(accepted, key=lambda s: s.start))

    def redact(self, text: str, tally: dict[str, int] | None = None) -> str:
        """``text`` with every detection replaced by its typed placeholder; ``tally``, when
        given, is incremented per entity type."""
        if not text:
            return text
        out, last = [], 0
        for span in self.find(text):
            out += [text[last: span.start], PLACEHOLDERS[span.entity_type]]
            last = span.end
            if tally is not None:
                tally[span.entity_type] = tally.get(span.entity_type, 0) + 1
        out.append(text[last:])
        return "".join(out)

    def redact_value(self, value: Any, tally: dict[str, int] | None = None) -> Any:
        """Redact every string inside a JSON-like value (dict keys stay as they are)."""
        if isinstance(value, str):
            return self.redact(value, tally)
        if isinstance(value, Mapping):
            return {k: self.redact_value(v, tally) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact_value(v, tally) for v in value]
        return value


_DEFAULT = Redactor()


def redact(text: str) -> str:
    """Redact ``text`` with every type and no allow-list."""
    return _DEFAULT.redact(text)
