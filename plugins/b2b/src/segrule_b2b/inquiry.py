"""Inquiry (询盘) validity: the per-inquiry points score and its configuration.

A foreign-trade seller judges an inquiry by what the buyer reveals: a company website,
a corporate e-mail domain rather than free mail, a specific product or model named,
a quantity and a destination, answers to the six qualifying questions, and the red
flag of a sample request for no product in particular. Each criterion is a row-level
polars expression over ``b2b_inquiries``; the score of an inquiry is the sum of the
points of the criteria it meets, and a customer's score is the best (or the latest)
of its inquiries, computed inside the table's one ``group_by(customer_id)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from segrule.plugin import BuildContext, RuleSetError, did_you_mean

TS = "inquiry_ts"

#: Free-mail providers. ``name.*`` means the provider under any country suffix:
#: ``yahoo.*`` matches yahoo.com, yahoo.co.uk, yahoo.com.br, yahoo.fr (one label of
#: 2-3 letters, optionally followed by one of 2 letters).
FREE_MAIL_DOMAINS: tuple[str, ...] = (
    "gmail.com",
    "googlemail.com",
    "yahoo.*",
    "ymail.com",
    "rocketmail.com",
    "hotmail.*",
    "outlook.*",
    "live.*",
    "msn.com",
    "aol.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "mail.com",
    "gmx.*",
    "web.de",
    "t-online.de",
    "mail.ru",
    "yandex.*",
    "rambler.ru",
    "protonmail.com",
    "proton.me",
    "zoho.com",
    "rediffmail.com",
    "libero.it",
    "orange.fr",
    "laposte.net",
    "free.fr",
    "wanadoo.fr",
    "naver.com",
    "hanmail.net",
    "daum.net",
    "qq.com",
    "foxmail.com",
    "163.com",
    "126.com",
    "yeah.net",
    "sina.com",
    "sina.cn",
    "sohu.com",
    "aliyun.com",
    "139.com",
    "uol.com.br",
    "bol.com.br",
    "terra.com.br",
    "bigpond.com",
)

#: Values that mean "not given" in free-text fields (compared trimmed and lower-cased).
PLACEHOLDERS: tuple[str, ...] = ("", "-", "--", "/", ".", "n/a", "na", "none", "null", "nil", "无")

#: Default points per criterion. ``questions`` is a ladder on the number of qualifying
#: questions answered (first ``min`` reached wins) or a number of points per answer.
DEFAULT_POINTS: dict[str, Any] = {
    "website": 2,
    "corporate_email": 2,
    "email_matches_website": 1,
    "product_named": 2,
    "quantity": 1,
    "destination": 1,
    "questions": [{"min": 5, "points": 3}, {"min": 3, "points": 2}, {"min": 1, "points": 1}],
    "sample_without_product": -3,
}

#: Default tier ladder on the customer's score; below the lowest: ``junk``.
DEFAULT_TIERS: list[dict[str, Any]] = [
    {"label": "valid", "min": 7},
    {"label": "follow_up", "min": 4},
]
DEFAULT_TIER = "junk"
NO_INQUIRY = "none"

MODES = ("best", "latest")
_DOMAIN_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(\.\*)?$")


def _fail(message: str, where: str | None, name: str | None) -> RuleSetError:
    return RuleSetError(message, where=where, name=name)


def free_mail_regex(
    domains: Sequence[str], *, where: str | None = None, name: str | None = None
) -> str:
    """One anchored regex matching any of ``domains`` (``x.com`` exactly, ``x.*`` with any
    country suffix). Entries are checked: letters, digits, dots and hyphens only."""
    parts = []
    for raw in domains:
        if not isinstance(raw, str):
            raise _fail(f"free-mail domain {raw!r} is not text", where, name)
        entry = raw.strip().lower().removeprefix("@")
        if not _DOMAIN_RE.match(entry):
            raise _fail(
                f"free-mail domain '{raw}' is not a domain: write e.g. gmail.com or yahoo.*",
                where,
                name,
            )
        if entry.endswith(".*"):
            parts.append(re.escape(entry[:-2]).replace("\\-", "-") + r"\.[a-z]{2,3}(\.[a-z]{2})?")
        else:
            parts.append(re.escape(entry).replace("\\-", "-"))
    if not parts:
        raise _fail("the free-mail domain list is empty", where, name)
    return "^(" + "|".join(parts) + ")$"


def free_mail_regex_of(
    params: Mapping[str, Any], *, where: str | None = None, name: str | None = None
) -> str:
    """The free-mail regex of ``params``: ``free_mail_domains`` (default
    :data:`FREE_MAIL_DOMAINS`) plus ``extra_free_mail_domains``."""
    domains = params.get("free_mail_domains", FREE_MAIL_DOMAINS)
    extra = params.get("extra_free_mail_domains", ())
    for key, value in (("free_mail_domains", domains), ("extra_free_mail_domains", extra)):
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise _fail(f"{key} must be a list of domains, e.g. [gmail.com, yahoo.*]", where, name)
    return free_mail_regex([*domains, *extra], where=where, name=name)


def email_domain(column: str = "email") -> pl.Expr:
    """The lower-cased domain after the last ``@`` (null when there is none)."""
    return pl.col(column).str.strip_chars().str.to_lowercase().str.extract(r"@([^@\s]+)$", 1)


def text_given(column: str) -> pl.Expr:
    """True when a free-text field holds something other than a placeholder (never null)."""
    value = pl.col(column).cast(pl.String).str.strip_chars().str.to_lowercase()
    return (value.is_not_null() & ~value.is_in(list(PLACEHOLDERS))).fill_null(False)


def website_host(column: str = "website") -> pl.Expr:
    """Host of a website: scheme, ``www.`` prefix, port and path removed, lower-cased."""
    v = pl.col(column).str.strip_chars().str.to_lowercase()
    v = v.str.replace(r"^[a-z][a-z0-9+.-]*://", "").str.replace(r"^www[0-9]*\.", "")
    return v.str.extract(r"^([^/:?#\s]+)", 1)


#: Second-level labels under a country code that are public suffixes (co.uk, com.br, ...).
_SECOND_LEVEL = "co|com|net|org|gov|edu|ac|or|ne|go|gob|nic"
_SITE_RE = rf"([a-z0-9-]+\.(?:(?:{_SECOND_LEVEL})\.[a-z]{{2}}|[a-z0-9-]+))$"


def site_key(host: pl.Expr) -> pl.Expr:
    """The registrable part of a host name: its last two labels, or its last three when
    the last two are a country second level (``shop.acme.co.uk`` -> ``acme.co.uk``)."""
    return host.str.extract(_SITE_RE, 1)


def same_site(host: pl.Expr, domain: pl.Expr) -> pl.Expr:
    """Website host and e-mail domain belong to the same registrable domain."""
    return site_key(host) == site_key(domain)


@dataclass(frozen=True)
class InquiryConfig:
    """A validated scoring configuration."""

    points: dict[str, Any]
    free_regex: str
    mode: str

    def columns(self) -> tuple[str, ...]:
        """The b2b_inquiries columns the score reads (criteria worth 0 points read nothing)."""
        need: dict[str, None] = {TS: None}
        p = self.points
        uses = {
            "website": ("website",),
            "corporate_email": ("email",),
            "email_matches_website": ("email", "website"),
            "product_named": ("product",),
            "quantity": ("quantity",),
            "destination": ("destination_country",),
            "questions": ("questions_answered",),
            "sample_without_product": ("sample_requested", "product"),
        }
        for key, cols in uses.items():
            if _nonzero(p[key]):
                need.update(dict.fromkeys(cols))
        return tuple(need)

    def row_score(self) -> pl.Expr:
        """Points of one inquiry row (never null)."""
        p = self.points
        parts: list[pl.Expr] = []

        def add(key: str, cond: pl.Expr) -> None:
            if _nonzero(p[key]):
                parts.append(pl.when(cond.fill_null(False)).then(pl.lit(p[key])).otherwise(0))

        domain = email_domain()
        corporate = domain.is_not_null() & ~domain.str.contains(self.free_regex)
        add("website", text_given("website"))
        add("corporate_email", corporate)
        add(
            "email_matches_website",
            corporate & text_given("website") & same_site(website_host(), domain),
        )
        add("product_named", text_given("product"))
        add("quantity", pl.col("quantity") > 0)
        add("destination", text_given("destination_country"))
        add("sample_without_product", pl.col("sample_requested") & ~text_given("product"))
        questions = p["questions"]
        answered = pl.col("questions_answered").fill_null(0).clip(0, 6)
        if isinstance(questions, list):
            if questions:
                expr: Any = pl
                for step in questions:
                    expr = expr.when(answered >= step["min"]).then(pl.lit(step["points"]))
                parts.append(expr.otherwise(0))
        elif _nonzero(questions):
            parts.append(answered * questions)
        score = pl.sum_horizontal(parts)
        return score.cast(pl.Int64) if self.integral else score.cast(pl.Float64)

    @property
    def integral(self) -> bool:
        values = [v for k, v in self.points.items() if k != "questions"]
        q = self.points["questions"]
        values += [s["points"] for s in q] if isinstance(q, list) else [q]
        return all(isinstance(v, int) for v in values)

    def aggregate(self, ctx: BuildContext, window: str | None) -> pl.Expr:
        """The customer's score over its inquiries in ``window``: best or latest."""
        mask = ctx.in_window(TS, window) & pl.col(TS).is_not_null()
        score = self.row_score()
        if self.mode == "best":
            return score.filter(mask).max()
        # The latest inquiry; several at the same instant: the best of them.
        latest = pl.col(TS) == pl.col(TS).filter(mask).max()
        return score.filter(mask & latest).max()


def _nonzero(value: Any) -> bool:
    if isinstance(value, list):
        return any(step["points"] != 0 for step in value)
    return bool(value != 0)


def _number(value: Any, what: str, where: str | None, name: str | None) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(f"{what} must be a number, got {value!r}", where, name)
    return value


CONFIG_KEYS = ("mode", "free_mail_domains", "extra_free_mail_domains", "points")


def parse_config(
    params: Mapping[str, Any], *, where: str | None = None, name: str | None = None
) -> InquiryConfig:
    """Validate the scoring keys of ``params`` (other keys are the caller's to check)."""
    mode = params.get("mode", "best")
    if mode not in MODES:
        raise _fail(f"mode '{mode}' is not one of: {', '.join(MODES)}", where, name)
    regex = free_mail_regex_of(params, where=where, name=name)
    given = params.get("points", {}) or {}
    if not isinstance(given, Mapping):
        raise _fail("points must map criteria to points", where, name)
    points = dict(DEFAULT_POINTS)
    for key, value in given.items():
        if key not in DEFAULT_POINTS:
            raise _fail(
                f"unknown criterion '{key}' in points{did_you_mean(str(key), DEFAULT_POINTS)}; "
                f"criteria: {', '.join(DEFAULT_POINTS)}",
                where,
                name,
            )
        if key == "questions" and isinstance(value, list):
            steps = []
            for step in value:
                if not isinstance(step, Mapping) or set(step) != {"min", "points"}:
                    raise _fail(
                        "points.questions steps are {min: <answers>, points: <n>}", where, name
                    )
                steps.append(
                    {
                        "min": _number(step["min"], "points.questions min", where, name),
                        "points": _number(step["points"], "points.questions points", where, name),
                    }
                )
            mins = [s["min"] for s in steps]
            if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
                raise _fail(
                    f"points.questions mins {mins} must go from the highest to the lowest",
                    where,
                    name,
                )
            points[key] = steps
        else:
            points[key] = _number(value, f"points.{key}", where, name)
    if not any(_nonzero(v) for v in points.values()):
        raise _fail(
            "every criterion is worth 0 points: give at least one points value", where, name
        )
    return InquiryConfig(points, regex, mode)


def parse_tiers(
    tiers: Any, *, where: str | None = None, name: str | None = None
) -> list[tuple[str, int | float]]:
    """``[{label, min}, ...]`` from the highest ``min`` to the lowest."""
    if not isinstance(tiers, list) or not tiers:
        raise _fail("tiers must be a non-empty list of {label, min}", where, name)
    out = []
    for t in tiers:
        if not isinstance(t, Mapping) or set(t) != {"label", "min"}:
            raise _fail("each tier is {label: <key>, min: <score>}", where, name)
        out.append((str(t["label"]), _number(t["min"], "tier min", where, name)))
    mins = [m for _, m in out]
    if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
        raise _fail(
            f"tier mins {mins} are not in order: list them from the highest to the lowest",
            where,
            name,
        )
    return out


def tier_expr(
    score: pl.Expr, tiers: list[tuple[str, int | float]], default: str, none_label: str
) -> pl.Expr:
    """First tier whose ``min`` the score reaches; ``none_label`` without a score."""
    expr: Any = pl.when(score.is_null()).then(pl.lit(none_label))
    for label, minimum in tiers:
        expr = expr.when(score >= minimum).then(pl.lit(label))
    return expr.otherwise(pl.lit(default))
