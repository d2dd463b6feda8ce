"""Inquiry (询盘) dimensions and the b2b_inquiry_validity strategy on hand-made rows.

Default points: website 2, corporate e-mail 2, e-mail matches website 1, product 2,
quantity 1, destination 1, questions (>=5: 3, >=3: 2, >=1: 1), sample request without
a product -3. Every expected score below is that sum, written out per row.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
import segrule_b2b.hooks as plugin
from segrule.errors import SegruleError
from segrule.testing import AS_OF, days_before, frame, make_tables, score_rows

ago = days_before

INQ_SCHEMA = {
    "customer_id": pl.String(),
    "inquiry_ts": pl.Datetime("us"),
    "email": pl.String(),
    "website": pl.String(),
    "product": pl.String(),
    "quantity": pl.Float64(),
    "destination_country": pl.String(),
    "questions_answered": pl.Int64(),
    "sample_requested": pl.Boolean(),
}


def _q(
    cid, ts, email=None, website=None, product=None, quantity=None, dest=None, q=None, sample=None
):
    return {
        "customer_id": cid,
        "inquiry_ts": ts,
        "email": email,
        "website": website,
        "product": product,
        "quantity": quantity,
        "destination_country": dest,
        "questions_answered": q,
        "sample_requested": sample,
    }


INQUIRIES = [
    # c1: A = 2+2+1+2+1+1+3 = 12 (www. and a path stripped, case ignored)
    _q(
        "c1",
        ago(10),
        "Buyer@AcmeLight.de",
        "https://www.acmelight.de/contact",
        "PL-6060",
        500,
        "Germany",
        6,
        False,
    ),
    # c1: B = product 2 + questions(2) 1 = 3 (gmail; "n/a" site and blank destination: none)
    _q("c1", ago(5), "x@gmail.com", "n/a", "LED tube", None, " ", 2, True),
    # c1: C = sample without product -3
    _q("c1", ago(400), "y@gmail.com", None, None, None, None, 0, True),
    # c2: -3 (yahoo.co.uk via yahoo.*, "-" site, empty product, quantity 0 is not stated)
    _q("c2", ago(20), "sales@yahoo.co.uk", "-", "", 0, None, None, True),
    # c2: 0 (whitespace product is not named); 31 days ago: outside 30d
    _q("c2", ago(31), " Sales@Yahoo.co.uk ", None, "  ", None, None, 0, False),
    # c3: web 2 + corp 2 + match 1 (mail.bigco.com is a subdomain of bigco.com) + qty 1
    #     + dest 1 + questions(3) 2 = 9; exactly 30 days before the as-of: inside 30d
    _q("c3", ago(30), "li@mail.bigco.com", "bigco.com", None, 100, "France", 3, None),
    # c4: web 2 + corp 2 + (beta.com is not alpha.com: 0) + product 2 + questions(1) 1 = 7
    _q("c4", ago(1), "info@alpha.com", "http://beta.com", "X-1", None, None, 1, False),
    # c5: at the as-of instant: never counts
    _q("c5", AS_OF, "info@late.com", "late.com", "P", 1, "US", 6, False),
    # c6: product 2 + qty 1 + dest 1 + questions(4) 2 = 6 (no e-mail)
    _q("c6", ago(2), None, None, "P", 5, "US", 4, False),
    # c6: 0 (an address without @ has no domain)
    _q("c6", ago(3), "no-at-sign", None, None, None, None, None, False),
    # c7: latest: corp 2 = 2 (wp.pl is not on the default free-mail list)
    _q("c7", ago(3), "b@wp.pl", None, None, None, None, 0, False),
    # c7: web 2 + product 2 = 4 (hotmail.fr via hotmail.*: free mail, so no match point)
    _q("c7", ago(4), "a@hotmail.fr", "www.a.fr", "P", None, None, 0, False),
]
CUSTOMERS = [f"c{i}" for i in range(1, 9)]  # c8 has no inquiry at all


def _tables() -> dict[str, pl.DataFrame]:
    tables = make_tables(orders=None, customers=CUSTOMERS)
    tables["b2b_inquiries"] = frame(INQUIRIES, INQ_SCHEMA)
    return tables


def _score(segrule_engine, segrule_rules, text: str, tables=None) -> pl.DataFrame:
    rules = segrule_rules("r.yaml", text)
    return score_rows(rules, tables or _tables(), engine=segrule_engine(plugin))


def test_inquiry_dimensions(segrule_engine, segrule_rules) -> None:
    df = _score(
        segrule_engine,
        segrule_rules,
        """
        dimensions:
          latest_score: {use: b2b_inquiry_score, params: {mode: latest}}
          strict_free: {use: b2b_free_mail, params: {extra_free_mail_domains: [wp.pl]}}
        outputs: [customer_id, b2b_inquiries_lifetime, b2b_inquiries_30d,
                  b2b_free_mail_inquiries_lifetime, b2b_sample_requests_lifetime,
                  b2b_inquiry_score, b2b_inquiry_score_365d, latest_score, b2b_email_domain,
                  b2b_free_mail, strict_free, b2b_inquiry_recency_days]
        """,
    )
    assert df.rows() == [
        ("c1", 3, 2, 2, 2, 12, 12, 3, "gmail.com", True, True, 5),
        ("c2", 2, 1, 2, 1, 0, 0, -3, "yahoo.co.uk", True, True, 20),
        ("c3", 1, 1, 0, 0, 9, 9, 9, "mail.bigco.com", False, False, 30),
        ("c4", 1, 1, 0, 0, 7, 7, 7, "alpha.com", False, False, 1),
        ("c5", 0, 0, 0, 0, None, None, None, None, None, None, None),
        ("c6", 2, 2, 0, 0, 6, 6, 6, None, None, None, 2),
        ("c7", 2, 2, 1, 0, 4, 4, 2, "wp.pl", False, True, 3),
        ("c8", 0, 0, 0, 0, None, None, None, None, None, None, None),
    ]
    assert df.schema["b2b_inquiry_score"] == pl.Int64


def test_last_inquiry_ts_and_window_excludes_old_best(segrule_engine, segrule_rules) -> None:
    df = _score(
        segrule_engine,
        segrule_rules,
        "outputs: [customer_id, b2b_last_inquiry_ts, b2b_inquiry_score_5d]",
    )
    rows = {r[0]: r[1:] for r in df.rows()}
    assert rows["c1"][0].replace(tzinfo=None) == ago(5)
    assert rows["c1"][1] == 3  # only B is within 5 days (A is 10 days old)
    assert rows["c4"][1] == 7
    assert rows["c3"][1] is None and rows["c8"] == (None, None)


def test_points_are_configurable(segrule_engine, segrule_rules) -> None:
    df = _score(
        segrule_engine,
        segrule_rules,
        """
        dimensions:
          s:
            use: b2b_inquiry_score
            params:
              points: {questions: 1, sample_without_product: 0, website: 0.5}
              free_mail_domains: [gmail.com]
        outputs: [customer_id, s]
        """,
    )
    # c1 A: 0.5+2+1+2+1+1+6 = 13.5; c2 best: yahoo.co.uk is corporate now: 2 (+0 questions)
    # c3: 0.5+2+1+1+1+3 = 8.5; c4: 0.5+2+2+1 = 5.5; c6: 2+1+1+4 = 8
    # c7: hotmail.fr is corporate now: web 0.5 + corp 2 + product 2 (a.fr is not hotmail.fr)
    assert dict(df.rows()) == {
        "c1": 13.5,
        "c2": 2.0,
        "c3": 8.5,
        "c4": 5.5,
        "c5": None,
        "c6": 8.0,
        "c7": 4.5,
        "c8": None,
    }


def test_strategy_default_tiers(segrule_engine, segrule_rules) -> None:
    df = _score(
        segrule_engine,
        segrule_rules,
        """
        scores:
          inq: {strategy: b2b_inquiry_validity}
        outputs: [customer_id, inq, inq_tier]
        """,
    )
    assert df.rows() == [
        ("c1", 12, "valid"),
        ("c2", 0, "junk"),
        ("c3", 9, "valid"),
        ("c4", 7, "valid"),  # exactly the valid minimum
        ("c5", None, "none"),
        ("c6", 6, "follow_up"),
        ("c7", 4, "follow_up"),  # exactly the follow-up minimum
        ("c8", None, "none"),
    ]


def test_strategy_latest_window_and_custom_tiers(segrule_engine, segrule_rules) -> None:
    df = _score(
        segrule_engine,
        segrule_rules,
        """
        scores:
          inq:
            strategy: b2b_inquiry_validity
            params:
              mode: latest
              window: 30d
              points: {questions: 1, sample_without_product: 0}
              tiers: [{label: hot, min: 5}, {label: warm, min: 2}]
              default_tier: cold
              tier: inq_class
              labels: {hot: {zh: 热, en: Hot, actions: [call today]}}
        outputs: [customer_id, inq, inq_class]
        """,
    )
    # c1 latest in 30d = B: product 2 + 2 answers = 4; c2: ago(20) row: 0; c3: 2+2+1+1+1+3
    # = 10; c4: 2+2+2+1 = 7; c6: 2+1+1+4 = 8; c7 latest: corp 2.
    assert df.rows() == [
        ("c1", 4, "warm"),
        ("c2", 0, "cold"),
        ("c3", 10, "hot"),
        ("c4", 7, "hot"),
        ("c5", None, "none"),
        ("c6", 8, "hot"),
        ("c7", 2, "warm"),
        ("c8", None, "none"),
    ]


def test_strategy_labels_merge_over_defaults(segrule_engine, segrule_rules) -> None:
    import segrule

    rules = segrule_rules(
        "r.yaml",
        """
        scores:
          inq:
            strategy: b2b_inquiry_validity
            params: {labels: {junk: {actions: [ignore]}}}
        outputs: [customer_id, inq_tier]
        """,
    )
    plan = segrule.compile(rules, _tables(), as_of=AS_OF, engine=segrule_engine(plugin))
    labels = plan.nodes["inq_tier"].labels
    assert labels["junk"].zh == "无效询盘" and labels["junk"].actions == ("ignore",)
    assert labels["valid"].en == "Valid inquiry" and labels["valid"].actions
    assert list(labels) == ["valid", "follow_up", "junk", "none"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("{mode: newest}", "mode 'newest' is not one of: best, latest"),
        (
            "{points: {webiste: 1}}",
            "unknown criterion 'webiste' in points — did you mean 'website'",
        ),
        ("{free_mail_domains: [gmail com]}", "free-mail domain 'gmail com' is not a domain"),
        ("{free_mail_domains: gmail.com}", "free_mail_domains must be a list"),
        ("{tiers: [{label: a, min: 1}, {label: b, min: 5}]}", "tier mins [1, 5] are not in order"),
        ("{windw: 30d}", "unknown parameter 'windw' — did you mean 'window'"),
        ("{window: 30x}", "window: window '30x' is not understood"),
        (
            "{points: {website: 0, corporate_email: 0, email_matches_website: 0, product_named: 0,"
            " quantity: 0, destination: 0, questions: 0, sample_without_product: 0}}",
            "every criterion is worth 0 points",
        ),
    ],
)
def test_strategy_bad_params(segrule_engine, segrule_rules, params: str, message: str) -> None:
    with pytest.raises(SegruleError) as err:
        _score(
            segrule_engine,
            segrule_rules,
            f"""
            scores:
              inq: {{strategy: b2b_inquiry_validity, params: {params}}}
            outputs: [customer_id, inq_tier]
            """,
        )
    assert message in str(err.value)
    assert "r.yaml" in str(err.value)  # the error points at the rule file


def test_dimension_bad_params(segrule_engine, segrule_rules) -> None:
    with pytest.raises(SegruleError, match="unknown parameter 'mood'"):
        _score(
            segrule_engine,
            segrule_rules,
            """
            dimensions:
              s: {use: b2b_inquiry_score, params: {mood: best}}
            outputs: [customer_id, s]
            """,
        )


def test_zero_points_do_not_read_the_column(segrule_engine, segrule_rules) -> None:
    """A table without destination/questions columns works once those criteria are 0."""
    keep = ("customer_id", "inquiry_ts", "email", "website", "product", "quantity")
    row = {k: v for k, v in _q("c1", ago(1), "a@acme.com", "acme.com", "P", 1).items() if k in keep}
    tables = make_tables(orders=None, customers=["c1"])
    tables["b2b_inquiries"] = frame([row], {k: INQ_SCHEMA[k] for k in keep})
    df = _score(
        segrule_engine,
        segrule_rules,
        """
        dimensions:
          s:
            use: b2b_inquiry_score
            params: {points: {destination: 0, questions: 0, sample_without_product: 0}}
        outputs: [customer_id, s]
        """,
        tables,
    )
    assert df.rows() == [("c1", 2 + 2 + 1 + 2 + 1)]


def test_latest_ties_take_the_best_of_that_instant(segrule_engine, segrule_rules) -> None:
    at = ago(3)
    tables = make_tables(orders=None, customers=["c1"])
    tables["b2b_inquiries"] = frame(
        [
            _q("c1", at, "a@gmail.com"),
            _q("c1", at, "b@acme.com"),
            _q("c1", ago(9), "c@x.com", "x.com", "P"),
        ],
        INQ_SCHEMA,
    )
    df = _score(
        segrule_engine,
        segrule_rules,
        """
        dimensions:
          latest: {use: b2b_inquiry_score, params: {mode: latest}}
        outputs: [customer_id, latest, b2b_email_domain]
        """,
        tables,
    )
    # the two latest rows score 0 and 2; the domain: the alphabetically first at that instant
    assert df.rows() == [("c1", 2, "acme.com")]
    assert dt.timedelta(days=3) == AS_OF - at
