"""The text_tags strategy, the messages table and the emotion-tags preset.

The reference is a plain Python evaluation, message by message: ``str.lower().count``
for keywords, ``re.findall`` for patterns (the test lexicons use patterns that Python's
``re`` and polars' Rust regex read alike), sums per customer, then the label rule
written out. The engine must agree on every column.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import segrule
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from segrule.errors import RuleSetError
from segrule.generate import generate
from segrule.model.lexicons import load

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")

AS_OF = dt.datetime(2026, 11, 1)


def ago(days: float) -> dt.datetime:
    return AS_OF - dt.timedelta(days=days)


# Keywords with regex metacharacters must match literally; mixed case matches any case.
LEXICON: dict[str, Any] = {
    "tags": {
        "shrewd": {
            "zh": "精明型",
            "en": "Shrewd",
            "min_score": 2,
            "keywords": {
                "zh": ["便宜", {"text": "优惠券", "weight": 2}, "(含税)"],
                "en": ["Coupon", "a+b", "$5.00", "[sale]"],
            },
            "patterns": [{"regex": r"比.{0,4}便宜", "weight": 3}],
        },
        "grumbler": {
            "zh": "牢骚型",
            "en": "Grumbler",
            "min_score": 2,
            "keywords": {"zh": ["差评", "不满意"], "en": ["REFUND", "worst"]},
            "patterns": [r"等了\d+天", r"!{3,}"],
        },
        "methodical": {
            "zh": "条理型",
            "en": "Methodical",
            "min_score": 2,
            "min_hits": 2,
            "keywords": ["首先", "其次", "firstly", "."],
        },
        "silent": {"zh": "沉默型", "en": "Silent"},
    }
}

RULES = """\
scores:
  tag:
    strategy: text_tags
    params:
      lexicon: {lexicon}
      window: 90d
      default: none
      proxies:
        - {{tag: grumbler, when: "events_complaint_lifetime >= 2"}}
        - {{tag: silent, when: "messages_90d = 0"}}
outputs: [customer_id, messages_90d, tag_shrewd_score, tag_shrewd_hits, tag_grumbler_score,
          tag_grumbler_hits, tag_methodical_score, tag_methodical_hits, tag_top_score,
          tag_shrewd, tag_grumbler, tag_methodical, tag_silent, tag]
"""

TEXTS = [
    "这个比别家便宜吗？有优惠券吗",
    "COUPON please, coupon!",
    "a+b a+b aab",  # literal a+b twice; aab is not a+b
    "price $5.00 [sale] $500",
    "(含税) 价格",
    "差评！！！不满意",
    "等了12天还没到!!!",
    "I want a Refund. worst.",
    "首先，太慢；其次，太贵。",
    "Firstly. Secondly.",
    "满意",  # not 不满意: keyword tagging reads the words, so this matches nothing
    "",
    None,
    "   ",
    "比隔壁便宜",
]


def _lexicon_terms(lexicon: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for key, spec in lexicon["tags"].items():
        kws = spec.get("keywords") or []
        if isinstance(kws, dict):
            kws = [k for group in kws.values() for k in group]
        terms = []
        for k in kws:
            text, w = (k["text"], k.get("weight", 1)) if isinstance(k, dict) else (k, 1)
            terms.append(("kw", text.lower(), w))
        for p in spec.get("patterns") or []:
            text, w = (p["regex"], p.get("weight", 1)) if isinstance(p, dict) else (p, 1)
            rust_ascii_b = "(?-u:\\b)" in text
            compiled = re.compile(text.replace("(?-u:\\b)", r"\b"), re.ASCII if rust_ascii_b else 0)
            terms.append(("re", compiled, w))
        out[key] = {
            "terms": terms,
            "min_score": spec.get("min_score", 1),
            "min_hits": spec.get("min_hits", 1),
        }
    return out


def reference(
    customers: list[Any],
    messages: list[tuple[Any, dt.datetime | None, str | None]],
    events: list[tuple[Any, dt.datetime, str]],
    lexicon: dict[str, Any],
    *,
    window_days: int,
    name: str,
    proxies: list[tuple[str, Any]],
    default: str,
    count_name: str,
) -> list[dict[str, Any]]:
    """Row by row: what every column must hold."""
    tags = _lexicon_terms(lexicon)
    start = AS_OF - dt.timedelta(days=window_days)
    rows = []
    for c in sorted(customers):
        row: dict[str, Any] = {"customer_id": c}
        mine = [
            (ts, text)
            for cid, ts, text in messages
            if cid == c and ts is not None and start <= ts < AS_OF
        ]
        row[count_name] = sum(1 for _ts, t in mine if t is not None and t.strip())
        complaints = sum(1 for cid, ts, t in events if cid == c and ts < AS_OF and t == "complaint")
        qualified = {}
        for key, spec in tags.items():
            if not spec["terms"]:
                continue
            score = hits = 0
            for _ts, text in mine:
                if text is None:
                    continue
                for kind, term, w in spec["terms"]:
                    n = text.lower().count(term) if kind == "kw" else len(term.findall(text))
                    score += w * n
                    hits += n
            row[f"{name}_{key}_score"] = score
            row[f"{name}_{key}_hits"] = hits
            qualified[key] = score >= spec["min_score"] and hits >= spec["min_hits"]
        top = max((row[f"{name}_{k}_score"] for k, q in qualified.items() if q), default=None)
        row[f"{name}_top_score"] = top
        facts = {"complaints": complaints, "messages": row[count_name]}
        held = {key: any(t == key and f(facts) for t, f in proxies) for key in tags}
        for key in tags:
            if key in qualified or any(t == key for t, _f in proxies):
                row[f"{name}_{key}"] = qualified.get(key, False) or held[key]
        label = next(
            (k for k, q in qualified.items() if q and row[f"{name}_{k}_score"] == top), None
        )
        if label is None:
            label = next((t for t, f in proxies if f(facts)), default)
        row[name] = label
        rows.append(row)
    return rows


PROXIES = [
    ("grumbler", lambda f: f["complaints"] >= 2),
    ("silent", lambda f: f["messages"] == 0),
]


def _frames(
    customers: list[Any], messages: list[tuple], events: list[tuple], id_type: pl.DataType
) -> dict[str, pl.DataFrame]:
    return {
        "customers": pl.DataFrame({"customer_id": customers}, schema={"customer_id": id_type}),
        "messages": pl.DataFrame(
            {
                "customer_id": [m[0] for m in messages],
                "ts": [m[1] for m in messages],
                "text": [m[2] for m in messages],
            },
            schema={"customer_id": id_type, "ts": pl.Datetime("us"), "text": pl.String},
        ),
        "events": pl.DataFrame(
            {
                "customer_id": [e[0] for e in events],
                "event_ts": [e[1] for e in events],
                "event_type": [e[2] for e in events],
            },
            schema={"customer_id": id_type, "event_ts": pl.Datetime("us"), "event_type": pl.String},
        ),
    }


def _random_case(rng: random.Random, ids: list[Any]) -> tuple[list[tuple], list[tuple]]:
    messages = []
    for _ in range(rng.randint(0, 60)):
        cid = rng.choice(ids[:-2])  # the last two customers never write
        days = rng.choice([1, 10, 60, 89.9, 90.1, 200, -1])  # -1: after as-of
        text = rng.choice(TEXTS)
        if text and rng.random() < 0.3:
            text = text + " " + rng.choice(TEXTS[:10])
        messages.append((cid, ago(days), text))
    events = [
        (rng.choice(ids), ago(rng.choice([3, 30, 400])), rng.choice(["complaint", "view"]))
        for _ in range(rng.randint(0, 15))
    ]
    return messages, events


def _flow(data: Any) -> str:
    """``data`` as one line of YAML, mapping order kept (it is the tags' tie order)."""
    return yaml.safe_dump(
        data, default_flow_style=True, allow_unicode=True, width=10**6, sort_keys=False
    ).strip()


def _rules(rules: Any, lexicon: Any) -> Path:
    return rules("tags.yaml", RULES.format(lexicon=_flow(lexicon)))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("id_type", [pl.String, pl.Int64])
def test_engine_agrees_with_the_row_by_row_reference(rules, seed: int, id_type: Any) -> None:
    rng = random.Random(seed)
    ids: list[Any] = (
        [f"客户{i:02d}" for i in range(9)] if id_type == pl.String else [5, 3, 900, 1, 77, 2, 40]
    )
    messages, events = _random_case(rng, ids)
    path = _rules(rules, LEXICON)
    df = segrule.score(path, _frames(ids, messages, events, id_type), as_of=AS_OF)
    expected = reference(
        ids,
        messages,
        events,
        LEXICON,
        window_days=90,
        name="tag",
        proxies=PROXIES,
        default="none",
        count_name="messages_90d",
    )
    assert df.to_dicts() == expected
    assert df.schema["tag_shrewd_score"] == pl.Int64 and df.schema["tag_silent"] == pl.Boolean


def test_hand_worked_rows(rules) -> None:
    """Every value worked out by hand from the messages next to it."""
    messages = [
        ("a", ago(1), "a+b a+b aab"),  # shrewd: 'a+b' x2 -> score 2, hits 2
        ("a", ago(2), "COUPON coupon"),  # shrewd: "coupon" x2: in all 4, 4
        ("b", ago(1), "差评!!!"),  # grumbler: 差评 + !!! -> 2, 2
        ("b", ago(1), "这个比别家便宜"),  # shrewd: 便宜 1 + pattern 3 -> 4, 2
        ("c", ago(1), "满意"),  # matches nothing
        ("c", ago(100), "差评 差评"),  # outside the 90-day window
        ("c", ago(-1), "差评 差评"),  # after as-of
        ("d", ago(1), None),
        ("d", ago(1), ""),
        ("e", ago(1), "首先."),  # methodical: 2 hits, score 2
    ]
    path = _rules(rules, LEXICON)
    df = segrule.score(path, _frames(list("abcdef"), messages, [], pl.String), as_of=AS_OF)
    got = {r["customer_id"]: r for r in df.to_dicts()}
    assert (got["a"]["tag_shrewd_score"], got["a"]["tag_shrewd_hits"], got["a"]["tag"]) == (
        4,
        4,
        "shrewd",
    )
    # b: shrewd 4 beats grumbler 2
    assert got["b"]["tag_grumbler_score"] == 2 and got["b"]["tag_shrewd_score"] == 4
    assert got["b"]["tag"] == "shrewd" and got["b"]["tag_grumbler"] and got["b"]["tag_shrewd"]
    assert got["c"]["messages_90d"] == 1 and got["c"]["tag"] == "none"
    assert got["c"]["tag_grumbler_score"] == 0
    # null and empty texts are not messages that say something: d is silent
    assert got["d"]["messages_90d"] == 0 and got["d"]["tag"] == "silent"
    assert got["e"]["tag"] == "methodical" and got["e"]["tag_methodical_hits"] == 2
    assert got["f"]["tag"] == "silent" and got["f"]["tag_top_score"] is None


def test_ties_go_to_the_first_tag_of_the_lexicon(rules) -> None:
    # shrewd 2 (便宜 x2) and grumbler 2 (差评 x2): shrewd comes first in the lexicon.
    messages = [("a", ago(1), "便宜 便宜 差评 差评")]
    order = ("grumbler", "shrewd", "methodical", "silent")
    lex = {"tags": {k: LEXICON["tags"][k] for k in order}}
    for lexicon, first in ((LEXICON, "shrewd"), (lex, "grumbler")):
        path = _rules(rules, lexicon)
        df = segrule.score(path, _frames(["a"], messages, [], pl.String), as_of=AS_OF)
        assert df["tag"].to_list() == [first]


def test_same_output_whatever_the_row_order(rules) -> None:
    rng = random.Random(11)
    ids = [f"c{i}" for i in range(8)]
    messages, events = _random_case(rng, ids)
    path = _rules(rules, LEXICON)
    first = segrule.score(path, _frames(ids, messages, events, pl.String), as_of=AS_OF)
    rng.shuffle(messages)
    again = segrule.score(path, _frames(ids, messages, events, pl.String), as_of=AS_OF)
    assert first.equals(again)


# -- lexicons: files, extension, errors ---------------------------------------------------
def test_lexicon_file_relative_to_the_rule_file_extends_the_packaged_one(
    rules, tmp_path: Path
) -> None:
    extra = {
        "tags": {
            "grumbler": {"keywords": ["慢死了", {"text": "差评", "weight": 5}]},
            "picky": {"zh": "挑剔型", "en": "Picky", "keywords": ["色差"]},
        }
    }
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    (folder / "lex").mkdir()
    (folder / "lex" / "mine.yaml").write_text(yaml.safe_dump(extra, allow_unicode=True))
    path = rules(
        "r.yaml",
        "scores:\n  emo:\n    strategy: text_tags\n    params:\n"
        "      lexicon: [emotion, lex/mine.yaml]\n"
        "outputs: [customer_id, emo_grumbler_score, emo_picky_score, emo]\n",
    )
    messages = [("a", ago(1), "差评"), ("b", ago(1), "有色差"), ("c", ago(1), "慢死了 慢死了")]
    df = segrule.score(path, _frames(list("abc"), messages, [], pl.String), as_of=AS_OF)
    assert df.rows() == [("a", 5, 0, "grumbler"), ("b", 0, 1, "picky"), ("c", 2, 0, "grumbler")]
    merged = load(["emotion", str(folder / "lex" / "mine.yaml")], where="x", name="emo")
    assert list(merged.tags)[-1] == "picky"  # new tags after the packaged ones
    assert merged.tags["grumbler"].keywords["差评"].weight == 5


def test_replace_drops_the_tags_words(rules) -> None:
    lex = ["emotion", {"tags": {"grumbler": {"replace": True, "keywords": ["唉"]}}}]
    merged = load(lex, where="x", name="t")
    assert list(merged.tags["grumbler"].keywords) == ["唉"] and not merged.tags["grumbler"].patterns


def test_a_lexicon_outside_the_rule_files_folder_is_refused(rules, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("tags: {x: {keywords: [a]}}\n")
    path = rules(
        "r.yaml",
        f"scores:\n  t:\n    strategy: text_tags\n    params: {{lexicon: '{outside}'}}\n"
        "outputs: [customer_id, t]\n",
    )
    with pytest.raises(RuleSetError, match="outside the rule file's folder"):
        segrule.load_ruleset(path)


@pytest.mark.parametrize(
    ("tag_spec", "message"),
    [
        ({"patterns": ["(ab"]}, r"tag 'x': pattern '\(ab': invalid regular expression"),
        ({"patterns": ["a*"]}, "tag 'x': pattern 'a\\*' matches empty text"),
        ({"patterns": ["a{1000}{1000}"]}, "tag 'x': pattern 'a\\{1000\\}\\{1000\\}'.*size limit"),
        ({"keywords": [{"text": "a", "weight": 0.5}]}, "weight of 'a' must be a whole number"),
        ({"keywords": [""]}, "empty text would match everywhere"),
        ({"keywords": [3]}, "text 3 must be text"),
        ({"keywords": ["x" * 300]}, "longer than 200"),
        ({"min_score": -1, "keywords": ["a"]}, "min_score must be a whole number >= 0"),
        ({"keyword": ["a"]}, "unknown key 'keyword'.*did you mean 'keywords'"),
    ],
)
def test_bad_lexicon_entries_are_one_line_errors(rules, tag_spec: dict, message: str) -> None:
    path = _rules(rules, {"tags": {"x": tag_spec}}).parent / "bad.yaml"
    path.write_text(
        "scores:\n  t:\n    strategy: text_tags\n    params:\n      lexicon: "
        + _flow({"tags": {"x": tag_spec}})
        + "\noutputs: [customer_id, t]\n"
    )
    with pytest.raises(RuleSetError, match=message) as info:
        segrule.compile(path, tables=_frames(["a"], [], [], pl.String), as_of=AS_OF)
    text = str(info.value)
    assert "\n" not in text and "bad.yaml" in text


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("{lexicon: emotoin}", "'emotoin' is not a packaged lexicon.*did you mean 'emotion'"),
        ("{lexicon: missing.yaml}", "cannot open .*missing.yaml"),
        ("{tags: [shrewd, sneaky]}", "'sneaky' is not a tag of the lexicon"),
        ("{proxies: [{tag: silent}]}", r"proxies\[0\] must be"),
        ("{window: 3 months}", "window '3 months' is not understood"),
        ("{lexicons: emotion}", "unknown parameter 'lexicons'.*did you mean 'lexicon'"),
        ("{labels: {nobody: {zh: 无}}}", "labels: 'nobody' is neither a tag"),
    ],
)
def test_bad_parameters_are_one_line_errors(rules, params: str, message: str) -> None:
    path = rules(
        "r.yaml",
        f"scores:\n  t:\n    strategy: text_tags\n    params: {params}\n"
        "outputs: [customer_id, t]\n",
    )
    with pytest.raises(RuleSetError, match=message) as info:
        segrule.compile(path, tables=_frames(["a"], [], [], pl.String), as_of=AS_OF)
    assert "\n" not in str(info.value)


def test_a_rule_set_that_reads_no_messages_needs_no_messages_table(rules) -> None:
    path = rules("r.yaml", "outputs: [customer_id, events_lifetime]\n")
    frames = _frames(["a"], [], [("a", ago(1), "view")], pl.String)
    del frames["messages"]
    assert segrule.score(path, frames, as_of=AS_OF).rows() == [("a", 1)]


# -- the preset on generated data -------------------------------------------------------------
@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tags")
    generate(out, orders=3_000, seed=5)
    return out


def test_generated_messages_are_seeded_and_exercise_every_tag(
    generated: Path, tmp_path: Path
) -> None:
    generate(tmp_path, orders=3_000, seed=5, tables=["messages"])
    assert (tmp_path / "messages.parquet").read_bytes() != b""
    a = pl.read_parquet(generated / "messages.parquet")
    assert a.equals(pl.read_parquet(tmp_path / "messages.parquet"))
    assert a.height == 3 * 300 and a.columns == ["customer_id", "ts", "channel", "text"]
    assert a["text"].null_count() > 0 and (a["text"] == "").sum() > 0
    assert a["text"].str.contains("[一-龥]").any() and a["text"].str.contains("[A-Z]").any()


def test_emotion_tags_preset_agrees_with_the_reference(generated: Path) -> None:
    df = segrule.score("emotion-tags", data=generated, as_of="2026-11-01")
    customers = pl.read_parquet(generated / "customers.parquet")["customer_id"].to_list()
    msgs = pl.read_parquet(generated / "messages.parquet").rows()
    messages = [(c, ts, text) for c, ts, _ch, text in msgs]
    events = pl.read_parquet(generated / "events.parquet").rows()
    lexicon = yaml.safe_load(
        (Path(segrule.__file__).parent / "lexicons" / "emotion.yaml").read_text()
    )
    event_counts: dict[Any, tuple[int, int]] = {}
    for c, ts, etype in events:
        if AS_OF - dt.timedelta(days=365) <= ts < AS_OF:
            n, k = event_counts.get(c, (0, 0))
            event_counts[c] = (n + 1, k + (etype == "complaint"))
    expected = reference(
        customers,
        messages,
        [],
        lexicon,
        window_days=365,
        name="emotion",
        proxies=[],
        default="untagged",
        count_name="messages_365d",
    )
    for row in expected:  # the preset's proxies, over 365-day event counts
        n, k = event_counts.get(row["customer_id"], (0, 0))
        grumbler_proxy = k >= 2 and k * 4 >= n
        silent = row["messages_365d"] == 0
        row["emotion_grumbler"] = row["emotion_grumbler"] or grumbler_proxy
        row["emotion_silent"] = silent
        if row["emotion"] == "untagged":
            row["emotion"] = "grumbler" if grumbler_proxy else "silent" if silent else "untagged"
    columns = df.columns
    assert [{k: r[k] for k in columns} for r in expected] == df.to_dicts()
    counts = dict(df["emotion"].value_counts().rows())
    assert set(counts) == {"shrewd", "grumbler", "silent", "methodical", "clear", "untagged"}


def test_pattern_and_term_limits() -> None:
    many = {"tags": {"x": {"patterns": [f"a{i}b" for i in range(101)]}}}
    with pytest.raises(RuleSetError, match="more than 100 patterns"):
        load(many, where="r.yaml:3", name="t")
    words = {"tags": {"x": {"keywords": [f"w{i}" for i in range(2_001)]}}}
    with pytest.raises(RuleSetError, match="more than 2000 keywords"):
        load(words, where="r.yaml:3", name="t")


EMOTION_TEXT = (Path(segrule.__file__).parent / "lexicons" / "emotion.yaml").read_text()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(0, len(EMOTION_TEXT)),
            st.sampled_from(["", ":", "- ", "{", "}", "'", "[", "*", "\n  ", "(?", "0.5", "&a"]),
            st.integers(0, 8),
        ),
        min_size=1,
        max_size=4,
    )
)
def test_an_edited_lexicon_loads_or_is_refused_with_one_line(
    tmp_path_factory: pytest.TempPathFactory, edits: list[tuple[int, str, int]]
) -> None:
    text = EMOTION_TEXT
    for at, piece, cut in edits:
        text = text[:at] + piece + text[at + cut :]
    path = tmp_path_factory.mktemp("lex") / "edited.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        lex = load(str(path), where="r.yaml:1", name="t")
    except RuleSetError as exc:
        assert "\n" not in str(exc)
        return
    assert lex.tags
