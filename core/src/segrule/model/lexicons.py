"""Lexicons for the ``text_tags`` strategy: keywords and patterns per tag, as data.

A lexicon is a YAML mapping (the packaged ones are in ``segrule/lexicons/``)::

    tags:
      grumbler:                     # the tag's key: lower-case letters, digits, _
        zh: 牢骚型
        en: Grumbler
        min_score: 2                # weighted hits needed (default 1)
        min_hits: 1                 # matches needed, unweighted (default 1)
        keywords:                   # literal text, matched case-insensitively
          zh: [差评, 投诉, {text: 太差了, weight: 2}]
          en: [refund, "not happy"]
        patterns:                   # regular expressions (Rust regex syntax)
          - {regex: '等了\\d+天', weight: 2}
        actions: {zh: [...], en: [...]}

``keywords`` (and ``patterns``) is a list or a mapping of such lists (the keys, e.g.
``zh``/``en``, only group them). An entry is a text (weight 1) or ``{text|regex,
weight}``. Several lexicons merge in order (:func:`merge`): a tag named again adds its
keywords and patterns (the same text again takes the new weight) and overrides its
names and minimums; ``replace: true`` drops what it had first; new tags come after
the others. Tag order breaks ties between equal scores.

Nothing here reads customer data. Patterns are compiled once by polars on one empty
text so that a bad or oversized pattern is refused at compile time with the tag and
pattern named; polars' regex engine (Rust ``regex``) runs in linear time, and the
limits below bound the size of the plan.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from segrule.errors import RuleSetError
from segrule.model.nodes import actions_of
from segrule.model.ruleset import looks_like_file
from segrule.model.yamlcore import core_schema

#: The folder of the packaged lexicons (``lexicon: emotion`` is ``emotion.yaml`` there).
LEXICON_DIR = Path(__file__).resolve().parents[1] / "lexicons"
#: Bytes of one lexicon file.
MAX_LEXICON_BYTES = 1024 * 1024
#: Tags of one (merged) lexicon.
MAX_TAGS = 64
#: Keywords and patterns of one (merged) lexicon: each is one string search over every
#: message in the plan.
MAX_TERMS = 2_000
#: Patterns among them: each is compiled when the rule set is checked, and a pattern
#: near the regex engine's 10 MB size limit took 0.3 s to compile (or refuse).
MAX_PATTERNS = 100
#: Characters of one keyword / one pattern.
MAX_KEYWORD_CHARS = 200
MAX_PATTERN_CHARS = 500
#: Largest absolute weight.
MAX_WEIGHT = 1_000

TAG_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
_Loader = core_schema(yaml.SafeLoader)


@dataclass(frozen=True)
class Term:
    """One keyword (``regex`` False: literal text, stored lower-cased) or pattern."""

    text: str
    weight: int
    regex: bool


@dataclass
class TagLexicon:
    """The terms and display names of one tag."""

    key: str
    zh: str | None = None
    en: str | None = None
    description: str | None = None
    actions: tuple[str, ...] = ()
    actions_zh: tuple[str, ...] = ()
    min_score: int = 1
    min_hits: int = 1
    #: text (lower-cased for keywords) -> term; insertion order is the file's order
    keywords: dict[str, Term] = field(default_factory=dict)
    patterns: dict[str, Term] = field(default_factory=dict)

    @property
    def terms(self) -> list[Term]:
        return [*self.keywords.values(), *self.patterns.values()]


@dataclass
class Lexicon:
    """Tags in order (the order breaks ties) and where they were read from."""

    tags: dict[str, TagLexicon] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    def term_count(self) -> int:
        return sum(len(t.terms) for t in self.tags.values())


def packaged() -> list[str]:
    """Names of the packaged lexicons."""
    return sorted(p.stem for p in LEXICON_DIR.glob("*.yaml"))


def is_path(ref: str) -> bool:
    """Whether a ``lexicon:`` entry names a file (else a packaged lexicon)."""
    return looks_like_file(ref)


def load(spec: Any, *, where: str, name: str) -> Lexicon:
    """The lexicon a ``lexicon:`` parameter gives: a packaged name, a file path (made
    absolute when the rule file was read), an inline mapping, or a list of these merged
    in order."""
    items = spec if isinstance(spec, list) else [spec]
    if not items:
        raise RuleSetError("lexicon: the list is empty; name at least one", where=where, name=name)
    out = Lexicon()
    for item in items:
        if isinstance(item, str):
            data, source = _read(item, where, name)
        elif isinstance(item, dict):
            data, source = item, "inline"
        else:
            raise RuleSetError(
                f"lexicon: expected a packaged name ({', '.join(packaged())}), a .yaml file "
                f"or a mapping with tags:, got {type(item).__name__}",
                where=where,
                name=name,
            )
        merge(out, data, source, where=where, name=name)
    if not out.tags:
        raise RuleSetError("lexicon: no tags defined", where=where, name=name)
    return out


def _read(ref: str, where: str, name: str) -> tuple[Any, str]:
    if "\x00" in ref:
        raise RuleSetError("lexicon: a path cannot contain a NUL character", where=where, name=name)
    if is_path(ref):
        path = Path(ref)
    else:
        if ref not in packaged():
            from segrule.errors import did_you_mean

            raise RuleSetError(
                f"lexicon: '{ref[:80]}' is not a packaged lexicon{did_you_mean(ref, packaged())}"
                f" (packaged: {', '.join(packaged())}); a file must end in .yaml",
                where=where,
                name=name,
            )
        path = LEXICON_DIR / f"{ref}.yaml"
    text = _read_text(path, where, name)
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass (core schema)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise RuleSetError(
            f"lexicon {path.name}: YAML syntax error{at}: {problem}; check indentation and quoting",
            where=where,
            name=name,
        ) from None
    return data, path.name


def _read_text(path: Path, where: str, name: str) -> str:
    """A regular file of at most MAX_LEXICON_BYTES, UTF-8 (no FIFO waits, no /dev/zero)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise RuleSetError(
            f"lexicon: cannot open '{path}': {exc.strerror}; check the path (relative to the "
            "rule file)",
            where=where,
            name=name,
        ) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise RuleSetError(
                f"lexicon: '{path}' is not a regular file; give a .yaml file",
                where=where,
                name=name,
            )
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_LEXICON_BYTES:
            chunk = os.read(fd, min(1 << 20, MAX_LEXICON_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > MAX_LEXICON_BYTES:
        raise RuleSetError(
            f"lexicon: '{path.name}' is larger than {MAX_LEXICON_BYTES // 1024} KB; split it",
            where=where,
            name=name,
        )
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError:
        raise RuleSetError(
            f"lexicon: '{path.name}' is not UTF-8 text; save it as UTF-8",
            where=where,
            name=name,
        ) from None


_TAG_KEYS = {
    "zh",
    "en",
    "description",
    "actions",
    "min_score",
    "min_hits",
    "keywords",
    "patterns",
    "replace",
}


def merge(into: Lexicon, data: Any, source: str, *, where: str, name: str) -> None:
    """Merge one lexicon's data into ``into`` (see the module docstring)."""

    def fail(msg: str) -> RuleSetError:
        return RuleSetError(f"lexicon {source}: {msg}", where=where, name=name)

    if not isinstance(data, dict) or not isinstance(data.get("tags"), dict):
        raise fail("expected a mapping with 'tags:' (tag key -> keywords, patterns, ...)")
    extra = set(data) - {"tags", "name", "description", "version"}
    if extra:
        raise fail(f"unknown key '{sorted(extra)[0]}'; a lexicon has tags:, name:, description:")
    into.sources.append(source)
    for key, spec in data["tags"].items():
        key = str(key)
        if not TAG_KEY.fullmatch(key):
            raise fail(
                f"tag '{key[:60]}' is not a valid key: lower-case letters, digits and _, "
                "starting with a letter, at most 40 characters"
            )
        spec = spec or {}
        if not isinstance(spec, dict):
            raise fail(f"tag '{key}' must be a mapping (keywords:, patterns:, zh:, en:, ...)")
        unknown = set(map(str, spec)) - _TAG_KEYS
        if unknown:
            from segrule.errors import did_you_mean

            bad = sorted(unknown)[0]
            raise fail(
                f"tag '{key}': unknown key '{bad}'{did_you_mean(bad, _TAG_KEYS)}; allowed: "
                + ", ".join(sorted(_TAG_KEYS))
            )
        tag = into.tags.get(key)
        if tag is None:
            if len(into.tags) >= MAX_TAGS:
                raise fail(f"more than {MAX_TAGS} tags")
            tag = into.tags[key] = TagLexicon(key)
        if spec.get("replace"):
            tag.keywords.clear()
            tag.patterns.clear()
        for attr in ("zh", "en", "description"):
            if spec.get(attr) is not None:
                setattr(tag, attr, str(spec[attr]))
        if "actions" in spec:
            tag.actions, tag.actions_zh = actions_of(spec["actions"])
        for attr in ("min_score", "min_hits"):
            if attr in spec:
                value = spec[attr]
                if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                    raise fail(f"tag '{key}': {attr} must be a whole number >= 0, got {value!r}")
                setattr(tag, attr, value)
        for kind, regex in (("keywords", False), ("patterns", True)):
            for entry in _entries(spec.get(kind), kind, key, fail):
                term = _term(entry, regex, key, fail)
                target = tag.patterns if regex else tag.keywords
                target.pop(term.text, None)  # given again: the new weight, at the end
                target[term.text] = term
                if regex and sum(len(t.patterns) for t in into.tags.values()) > MAX_PATTERNS:
                    raise fail(f"more than {MAX_PATTERNS} patterns in all; use keywords")
                if into.term_count() > MAX_TERMS:
                    raise fail(
                        f"more than {MAX_TERMS} keywords and patterns in all; each is a "
                        "search over every message"
                    )


def _entries(value: Any, kind: str, tag: str, fail: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, dict):  # {zh: [...], en: [...]}
        out: list[Any] = []
        for group in value.values():
            if not isinstance(group, list):
                raise fail(f"tag '{tag}': each group of {kind} must be a list")
            out.extend(group)
            if len(out) > MAX_TERMS:
                raise fail(f"tag '{tag}': more than {MAX_TERMS} {kind}")
        return out
    if isinstance(value, list):
        if len(value) > MAX_TERMS:
            raise fail(f"tag '{tag}': more than {MAX_TERMS} {kind}")
        return value
    raise fail(f"tag '{tag}': {kind} must be a list (or a mapping of lists, e.g. zh:, en:)")


def _term(entry: Any, regex: bool, tag: str, fail: Any) -> Term:
    field_name = "regex" if regex else "text"
    weight: Any = 1
    if isinstance(entry, dict):
        unknown = set(map(str, entry)) - {field_name, "weight"}
        if unknown or field_name not in entry:
            raise fail(
                f"tag '{tag}': an entry is {{{field_name}: ..., weight: n}}, got keys "
                f"{sorted(map(str, entry))}"
            )
        text, weight = entry[field_name], entry.get("weight", 1)
    else:
        text = entry
    if not isinstance(text, str) or isinstance(text, bool):
        raise fail(f"tag '{tag}': {field_name} {text!r} must be text; quote it")
    if isinstance(weight, bool) or not isinstance(weight, int) or weight == 0:
        raise fail(
            f"tag '{tag}': weight of {text[:60]!r} must be a whole number other than 0 "
            f"(whole numbers keep every score exact), got {weight!r}"
        )
    if abs(weight) > MAX_WEIGHT:
        raise fail(f"tag '{tag}': weight of {text[:60]!r} is beyond +/-{MAX_WEIGHT}")
    if not text.strip():
        raise fail(f"tag '{tag}': an empty {field_name} would match everywhere; remove it")
    if regex:
        if len(text) > MAX_PATTERN_CHARS:
            raise fail(f"tag '{tag}': pattern {text[:60]!r}... is longer than {MAX_PATTERN_CHARS}")
        _check_pattern(text, tag, fail)
        return Term(text, weight, True)
    if len(text) > MAX_KEYWORD_CHARS:
        raise fail(f"tag '{tag}': keyword {text[:60]!r}... is longer than {MAX_KEYWORD_CHARS}")
    return Term(text.lower(), weight, False)


def _check_pattern(pattern: str, tag: str, fail: Any) -> None:
    """Compile ``pattern`` with polars' own regex engine; refuse one that matches empty text
    (it would count every position of every message)."""
    from segrule.model.sql import polars_reason

    probe = pl.Series("text", [""], dtype=pl.String)
    try:
        empty = bool(probe.str.contains(pattern).item())
    except Exception as exc:  # polars raises ComputeError; any failure is the pattern's
        raise fail(f"tag '{tag}': pattern {pattern[:80]!r}: {polars_reason(exc)}") from None
    if empty:
        raise fail(
            f"tag '{tag}': pattern {pattern[:80]!r} matches empty text, so it would count every "
            "position; require at least one character (e.g. + instead of *)"
        )
