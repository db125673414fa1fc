"""PII detection and masking for Chinese and English text: patterns, checksums, a POS tagger for names.

Five types, found by three kinds of evidence:

  EMAIL      a pattern (local@domain.tld)
  PHONE      patterns: Chinese mobiles (1[3-9]x xxxx xxxx, optional +86), Chinese landlines (0AA(A)-xxxxxxx(x)),
             North-American numbers, and other "+CC ..." international numbers (8-15 digits in all)
  ID_CN      the 18-character Chinese resident identity number (GB 11643-1999): 6-digit region code, birth
             date YYYYMMDD, 3-digit sequence, check character. Valid only if the province code exists, the date
             is a real date, and the check character matches:
                 S = Σ_{i=0..16} a_i · W_i,  W_i = 2^(17−i) mod 11,   check = "10X98765432"[S mod 11]
  BANK_CARD  13-19 digits (optionally grouped by 4) passing the Luhn checksum (ISO/IEC 7812-1): from the right,
             double every second digit, subtract 9 from results above 9, and the total must be ≡ 0 (mod 10)
  PERSON     Chinese names: jieba's part-of-speech tag `nr` (person name; also `nrfg`, `nrt` for transliterated
             names); English names: an honorific (Mr/Ms/Dr ...) or a cue ("my name is", "Dear") before capitalised
             words, or a capitalised word from a small list of common given names, with a following capitalised
             surname if there is one.

The checksums are what keep precision up: an 18-digit order number or a 16-digit tracking number matches the
patterns but fails the check (1 in 11 and 1 in 10 random strings pass by chance). They cost recall only on
mistyped numbers. The name rules are the weak part, and honestly so: jieba's `nr` misses names that are also
ordinary words and rare given names, and an English name without a cue or a listed first name goes unseen.
Production systems add a trained NER model; no such model ships offline here.

Masking replaces each span by `[TYPE]`, by a partial mask that keeps the ends (138****5678, the style Chinese
apps display), or by a keyed pseudonym (HMAC-SHA256, stable across documents). Pseudonyms are reversible by
whoever holds the key, so pseudonymised text is still personal data (GDPR Recital 26, PIPL art. 73).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass
from pathlib import Path

TYPES = ("PHONE", "EMAIL", "ID_CN", "BANK_CARD", "PERSON")
PRIORITY = {"EMAIL": 0, "ID_CN": 1, "BANK_CARD": 2, "PHONE": 3, "PERSON": 4}  # who wins an overlap
TESTSET = Path(__file__).parent / "data" / "pii_testset.txt"


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    type: str

    def text(self, s: str) -> str:
        return s[self.start:self.end]


# -- checksums ------------------------------------------------------------------------------------------
_GB11643_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]  # 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
_PROVINCES = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52, 53,
              54, 61, 62, 63, 64, 65, 71, 81, 82}  # GB/T 2260 first two digits (71 Taiwan, 81 HK, 82 Macau)


def gb11643_check_char(first17: str) -> str:
    """The check character of a resident ID number from its first 17 digits."""
    s = sum(int(d) * w for d, w in zip(first17, _GB11643_WEIGHTS))
    return "10X98765432"[s % 11]


def valid_cn_id(number: str) -> bool:
    """True for an 18-character resident ID with a known province, a real birth date and the right check char."""
    n = number.upper()
    if not re.fullmatch(r"\d{17}[\dX]", n) or int(n[:2]) not in _PROVINCES:
        return False
    try:
        born = dt.date(int(n[6:10]), int(n[10:12]), int(n[12:14]))
    except ValueError:
        return False
    return dt.date(1880, 1, 1) <= born <= dt.date(2100, 1, 1) and gb11643_check_char(n[:17]) == n[17]


def luhn_valid(number: str) -> bool:
    """The Luhn (mod 10) check over the digits of `number` (spaces and dashes ignored)."""
    digits = [int(c) for c in number if c.isdigit()]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return len(digits) > 0 and total % 10 == 0


# -- pattern detectors ----------------------------------------------------------------------------------
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}")
_ID = re.compile(r"(?<![0-9A-Za-z])\d{6}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])")
_CARD = re.compile(r"(?<![\dA-Za-z-])(?:(?:\d{4}[ -]){3}\d{4}(?:[ -]?\d{1,3})?|\d{13,19})(?![\dA-Za-z]|-\d)")
_PHONES = (
    re.compile(r"(?<![\d+-])(?:(?:\+|00)86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?!-?\d)"),                # CN mobile
    re.compile(r"(?<![\d+-])(?:\(0\d{2,3}\)[ -]?|0\d{2,3}[ -])\d{3,4}[ -]?\d{4}(?!-?\d)"),           # CN landline
    re.compile(r"(?<![\d+-])(?:\+?1[ .-]?)?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]\d{4}(?!-?\d)"),   # NANP
    re.compile(r"(?<![\d+-])\+[1-9]\d{0,2}(?:[ -]?\(?\d{1,4}\)?){2,5}(?!-?\d)"),                      # other +CC
)


def find_pattern_pii(text: str, validate: bool = True) -> list[Span]:
    """EMAIL, PHONE, ID_CN and BANK_CARD spans. validate=False skips the checksums (the regex-only baseline)."""
    spans = [Span(m.start(), m.end(), "EMAIL") for m in _EMAIL.finditer(text)]
    spans += [Span(m.start(), m.end(), "ID_CN") for m in _ID.finditer(text) if not validate or valid_cn_id(m.group())]
    for m in _CARD.finditer(text):
        n_digits = sum(c.isdigit() for c in m.group())
        if _ID.fullmatch(m.group()):  # 18 digits with a birth date inside read as an ID number, never as a card
            continue
        if 13 <= n_digits <= 19 and (not validate or luhn_valid(m.group())):
            spans.append(Span(m.start(), m.end(), "BANK_CARD"))
    for pattern in _PHONES:
        for m in pattern.finditer(text):
            if 7 <= sum(c.isdigit() for c in m.group()) <= 15:
                spans.append(Span(m.start(), m.end(), "PHONE"))
    return spans


# -- names ------------------------------------------------------------------------------------------------
_GIVEN_NAMES = frozenset("""
Aaron Adam Alan Albert Alex Alexander Alice Amanda Amy Andrew Angela Anna Anne Anthony Ben Benjamin Betty Brian
Carol Caroline Catherine Charles Charlotte Chris Christopher Claire Daniel David Deborah Dennis Diana Donald
Dorothy Edward Elizabeth Emily Emma Eric Frank Gary George Grace Hannah Harry Helen Henry Jack James Jane Jason
Jennifer Jessica John Joseph Joshua Julia Karen Kate Kevin Laura Linda Lisa Margaret Maria Mark Mary Matthew
Michael Michelle Nancy Nicholas Olivia Patricia Paul Peter Rachel Rebecca Richard Robert Ruth Ryan Samuel Sarah
Scott Sophie Stephen Steven Susan Thomas Timothy William Wei Ming Li
""".split())
_NAME_WORD = r"(?:[A-Z]'[A-Z][a-z]+|[A-Z][a-z]+(?:-[A-Z][a-z]+)?)"  # Smith, O'Connor, Al-Sayed
_CUED_NAME = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Miss|Dr|Prof|Professor)\.?|\b(?:[Mm]y name is|[Nn]amed|[Cc]alled|Dear|[Ss]igned|[Ii]t's|[Tt]his is))"
    rf"\s+({_NAME_WORD}(?:\s+{_NAME_WORD})?)")
_LISTED_NAME = re.compile(rf"\b({_NAME_WORD})(?:\s+({_NAME_WORD}))?")


def find_english_names(text: str) -> list[Span]:
    """PERSON spans found by a cue (honorific, "my name is", "Dear") or a listed given name (+ surname)."""
    spans = [Span(m.start(1), m.end(1), "PERSON") for m in _CUED_NAME.finditer(text)]
    for m in _LISTED_NAME.finditer(text):
        if m.group(1) in _GIVEN_NAMES:
            spans.append(Span(m.start(), m.end(), "PERSON"))
    return spans


def find_chinese_names(text: str) -> list[Span]:
    """PERSON spans from jieba's POS tagger: consecutive words tagged nr/nrfg/nrt, merged."""
    import jieba
    import jieba.posseg as pseg

    jieba.setLogLevel(60)  # jieba prints its dictionary loading to stderr otherwise
    spans, pos, open_start = [], 0, None
    for word, flag in pseg.cut(text):
        is_name = flag.startswith("nr") and re.search(r"[\u4e00-\u9fff]", word) is not None
        if is_name and open_start is None:
            open_start = pos
        elif not is_name and open_start is not None:
            spans.append(Span(open_start, pos, "PERSON"))
            open_start = None
        pos += len(word)
    if open_start is not None:
        spans.append(Span(open_start, pos, "PERSON"))
    return spans


# -- the detector -----------------------------------------------------------------------------------------
def detect(text: str, types: tuple[str, ...] = TYPES, validate: bool = True) -> list[Span]:
    """All PII spans of the given types, overlaps resolved by PRIORITY (then the longer span), sorted."""
    spans = [s for s in find_pattern_pii(text, validate) if s.type in types]
    if "PERSON" in types:
        spans += find_english_names(text)
        if re.search(r"[\u4e00-\u9fff]", text):
            spans += find_chinese_names(text)
    kept: list[Span] = []
    for s in sorted(spans, key=lambda s: (PRIORITY[s.type], -(s.end - s.start), s.start)):
        if all(s.end <= k.start or s.start >= k.end for k in kept):
            kept.append(s)
    return sorted(kept, key=lambda s: s.start)


def mask(text: str, spans: list[Span], style: str = "tag", key: bytes | None = None) -> str:
    """Replace each span: style "tag" → [PHONE]; "partial" → keep the first 3 and last 4 characters of numbers
    and the first character of names/e-mails; "pseudonym" → TYPE_<8 hex of HMAC-SHA256(key, value)>."""
    if style not in ("tag", "partial", "pseudonym"):
        raise ValueError(f"mask style must be tag, partial or pseudonym, not {style!r}")
    if style == "pseudonym" and not key:
        raise ValueError("pseudonym masking needs a secret key (without one, a hash of a phone number is reversible by brute force)")
    out, pos = [], 0
    for s in sorted(spans, key=lambda s: s.start):
        value = text[s.start:s.end]
        out.append(text[pos:s.start])
        if style == "tag":
            out.append(f"[{s.type}]")
        elif style == "pseudonym":
            out.append(f"{s.type}_{hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:8]}")
        elif s.type in ("PERSON", "EMAIL"):
            out.append(value[0] + "*" * (len(value) - 1))
        else:
            out.append(value[:3] + "*" * max(0, len(value) - 7) + value[-4:])
        pos = s.end
    out.append(text[pos:])
    return "".join(out)


# -- the labelled test set --------------------------------------------------------------------------------
_GOLD = re.compile(r"\[\[(\w+)\|(.+?)\]\]")


def parse_annotated(line: str) -> tuple[str, list[Span]]:
    """'call [[PHONE|138 1234 5678]] now' -> ('call 138 1234 5678 now', [Span(5, 18, 'PHONE')])."""
    text, spans, pos = [], [], 0
    length = 0
    for m in _GOLD.finditer(line):
        before = line[pos:m.start()]
        text.append(before)
        length += len(before)
        if m.group(1) not in TYPES:
            raise ValueError(f"unknown PII type {m.group(1)!r} in: {line}")
        spans.append(Span(length, length + len(m.group(2)), m.group(1)))
        text.append(m.group(2))
        length += len(m.group(2))
        pos = m.end()
    text.append(line[pos:])
    return "".join(text), spans


def load_testset(path: Path = TESTSET) -> list[tuple[str, str, list[Span]]]:
    """[(lang, text, gold spans)] from the annotated file: 'zh<TAB>text with [[TYPE|value]]'; '#' comments."""
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        lang, _, annotated = line.partition("\t")
        text, spans = parse_annotated(annotated)
        rows.append((lang, text, spans))
    return rows


def precision_recall(gold: list[list[Span]], pred: list[list[Span]], types: tuple[str, ...] = TYPES) -> dict[str, tuple[float, float, int]]:
    """Exact-span precision and recall per type (a prediction counts only with the same start, end and type):
    {type: (precision, recall, n_gold)}; 'ALL' pools every type. An empty denominator gives 1.0."""
    counts = {t: [0, 0, 0] for t in (*types, "ALL")}  # tp, n_pred, n_gold
    for g, p in zip(gold, pred):
        g_set, p_set = set(g), set(p)
        for t in types:
            gt, pt = {s for s in g_set if s.type == t}, {s for s in p_set if s.type == t}
            for key in (t, "ALL"):
                counts[key][0] += len(gt & pt)
                counts[key][1] += len(pt)
                counts[key][2] += len(gt)
    return {t: (tp / n_pred if n_pred else 1.0, tp / n_gold if n_gold else 1.0, n_gold)
            for t, (tp, n_pred, n_gold) in counts.items()}


def leaked_characters(text: str, gold: list[Span], masked_spans: list[Span]) -> int:
    """How many characters of gold PII a masking by `masked_spans` leaves in clear."""
    covered = set()
    for s in masked_spans:
        covered.update(range(s.start, s.end))
    return sum(1 for s in gold for i in range(s.start, s.end) if i not in covered and not text[i].isspace())
