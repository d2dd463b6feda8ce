"""The group-buy tables: contracts, value normalisation and the lazy preparation step.

Three tables, each keyed by ``customer_id``:

- ``groupbuy_groups``: one row per customer and group (拼团) the customer took part in,
  as initiator (团长 / 发起人) or joiner (参团者);
- ``groupbuy_touches``: one row per marketing touch (a visit attributed to a source);
  the earliest one is the customer's acquisition (first-touch) source;
- ``groupbuy_referrals``: one row per invitation a customer sent (老带新).

Merchants' exports spell roles, statuses and sources in many ways (``团长``, ``leader``,
``微信``, ``baidu``); :func:`prepare` maps the known spellings onto the canonical values
lazily, so rules only ever see ``initiator``/``joiner``, ``success``/``failed``/``open``
and ``social``/``search``/``ads``/``referral``/``offline``/``direct``/``other``.
"""

from __future__ import annotations

import polars as pl
from segrule.plugin import Column, TableContract

from segrule_groupbuy import generate

GROUPS = "groupbuy_groups"
TOUCHES = "groupbuy_touches"
REFERRALS = "groupbuy_referrals"

ROLES = ("initiator", "joiner")
GROUP_STATUSES = ("success", "failed", "open")
SOURCES = ("social", "search", "ads", "referral", "offline", "direct", "other")

# Spelling -> canonical value. Keys are compared after trimming and lower-casing.
ROLE_SYNONYMS: dict[str, str] = {
    **{
        k: "initiator"
        for k in (
            "initiator",
            "leader",
            "group_leader",
            "host",
            "creator",
            "owner",
            "organizer",
            "organiser",
            "团长",
            "发起人",
            "开团",
            "开团人",
            "团主",
        )
    },
    **{
        k: "joiner"
        for k in (
            "joiner",
            "member",
            "participant",
            "follower",
            "join",
            "参团",
            "参团者",
            "参团人",
            "团员",
            "拼团成员",
        )
    },
}
STATUS_SYNONYMS: dict[str, str] = {
    **{
        k: "success"
        for k in (
            "success",
            "succeeded",
            "formed",
            "complete",
            "completed",
            "done",
            "成团",
            "拼团成功",
            "成功",
            "已成团",
        )
    },
    **{
        k: "failed"
        for k in (
            "failed",
            "fail",
            "expired",
            "cancelled",
            "canceled",
            "未成团",
            "拼团失败",
            "失败",
            "已失效",
        )
    },
    **{k: "open" for k in ("open", "pending", "ongoing", "in_progress", "拼团中", "进行中")},
}
SOURCE_SYNONYMS: dict[str, str] = {
    **{
        k: "social"
        for k in (
            "social",
            "social_media",
            "sns",
            "wechat",
            "weixin",
            "微信",
            "朋友圈",
            "微信群",
            "公众号",
            "视频号",
            "douyin",
            "抖音",
            "tiktok",
            "xiaohongshu",
            "小红书",
            "weibo",
            "微博",
            "kuaishou",
            "快手",
            "qq",
            "社交",
            "社交媒体",
        )
    },
    **{
        k: "search"
        for k in (
            "search",
            "seo",
            "sem",
            "search_ads",
            "organic_search",
            "baidu",
            "百度",
            "google",
            "bing",
            "必应",
            "sogou",
            "搜狗",
            "360",
            "so.com",
            "shenma",
            "神马",
            "搜索",
            "搜索引擎",
            "搜索广告",
        )
    },
    **{
        k: "ads"
        for k in (
            "ads",
            "ad",
            "advertising",
            "paid",
            "display",
            "feed_ads",
            "cpc",
            "cps",
            "广告",
            "信息流",
            "信息流广告",
            "广点通",
            "巨量引擎",
            "投放",
        )
    },
    **{
        k: "referral"
        for k in (
            "referral",
            "refer",
            "invite",
            "invitation",
            "friend",
            "推荐",
            "邀请",
            "老带新",
            "转介绍",
            "好友推荐",
            "好友邀请",
        )
    },
    **{
        k: "offline"
        for k in (
            "offline",
            "store",
            "flyer",
            "门店",
            "线下",
            "地推",
            "到店",
            "传单",
            "线下活动",
        )
    },
    **{k: "direct" for k in ("direct", "app_store", "typed", "直接访问", "直接", "应用商店")},
    **{k: "other" for k in ("other", "others", "其他", "其它")},
}

SOURCE_LABELS: dict[str, tuple[str, str]] = {
    "social": ("社交媒体客户", "Social media"),
    "search": ("搜索引擎客户", "Search engine"),
    "ads": ("广告投放客户", "Advertising"),
    "referral": ("推荐客户", "Referral"),
    "offline": ("线下客户", "Offline"),
    "direct": ("直接访问客户", "Direct"),
    "other": ("其他来源", "Other"),
}


def _normalise(column: str, mapping: dict[str, str]) -> pl.Expr:
    """Known spellings -> canonical values; other values are kept (trimmed, lower-cased)."""
    return pl.col(column).str.strip_chars().str.to_lowercase().replace(mapping).alias(column)


def prepare(name: str, frame: pl.LazyFrame) -> pl.LazyFrame | None:
    """The lazy normalisation of one table (None for tables that are not ours).

    ``groupbuy_groups``: ``role`` and ``status`` mapped to canonical values; when the
    source has no ``group_size`` column, it is the number of rows of the group before
    the as-of instant (a window count over ``group_id``, computed only if a dimension
    reads it). ``groupbuy_touches``: ``source`` mapped to canonical values.
    """
    if name not in (GROUPS, TOUCHES):
        return None
    schema = frame.collect_schema()  # metadata only, no rows are read
    exprs: list[pl.Expr] = []
    if name == GROUPS:
        if schema.get("role") == pl.String:
            exprs.append(_normalise("role", ROLE_SYNONYMS))
        if schema.get("status") == pl.String:
            exprs.append(_normalise("status", STATUS_SYNONYMS))
        if "group_size" not in schema and "group_id" in schema:
            exprs.append(
                pl.when(pl.col("group_id").is_not_null())
                .then(pl.len().over("group_id"))
                .cast(pl.Int64)
                .alias("group_size")
            )
    elif schema.get("source") == pl.String:
        exprs.append(_normalise("source", SOURCE_SYNONYMS))
    return frame.with_columns(exprs) if exprs else None


def contracts() -> list[TableContract]:
    """The three table contracts, with their synthetic-data generators."""
    return [
        TableContract(
            GROUPS,
            [
                Column("customer_id", "string", True, "the participating customer"),
                Column("group_id", "string", True, "the group (团) the customer took part in"),
                Column(
                    "role",
                    "string",
                    True,
                    "initiator (团长/发起人: started the group) or joiner (参团者); "
                    "common spellings such as 团长, leader, 参团, member are mapped",
                ),
                Column("joined_ts", "datetime", True, "when the customer started or joined"),
                Column(
                    "status",
                    "string",
                    False,
                    "outcome of the group: success (成团), failed (未成团) or open (拼团中)",
                ),
                Column(
                    "group_size",
                    "integer",
                    False,
                    "participants of the group, initiator included (default: the group's "
                    "rows before the as-of instant)",
                ),
                Column("deal_id", "string", False, "the group-buy deal (product offer)"),
                Column(
                    "premium",
                    "boolean",
                    False,
                    "the deal is a premium item (brand, quality-certified, high-end tier)",
                ),
                Column("list_price", "number", False, "regular unit price of the deal's item"),
                Column("deal_price", "number", False, "group price paid per unit"),
            ],
            "One row per customer and group-buy group taken part in (拼团参与记录).",
            ts_column="joined_ts",
            generate=generate.groups,
            rows=generate.groups_rows,
            # --vertical groupbuy: core's orders and events with each customer's coupon
            # and service habits, so the sensitivity classes are traits, not chance.
            core_generators={
                "orders": (generate.orders, generate.orders_rows),
                "events": (generate.events, generate.events_rows),
            },
        ),
        TableContract(
            TOUCHES,
            [
                Column("customer_id", "string", True, "customer id"),
                Column("touch_ts", "datetime", True, "when the touch (attributed visit) happened"),
                Column(
                    "source",
                    "string",
                    True,
                    "social, search, ads, referral, offline, direct or other; platform "
                    "names such as 微信, douyin, baidu, 地推 are mapped",
                ),
                Column("platform", "string", False, "the platform, e.g. wechat, douyin, baidu"),
            ],
            "Marketing touches; the earliest one is the acquisition (first-touch) source.",
            ts_column="touch_ts",
            generate=generate.touches,
            rows=generate.touches_rows,
        ),
        TableContract(
            REFERRALS,
            [
                Column("customer_id", "string", True, "the referrer (the inviting customer)"),
                Column("referral_ts", "datetime", True, "when the invitation was sent"),
                Column("referred_id", "string", False, "customer id of the invited person"),
                Column(
                    "converted_ts",
                    "datetime",
                    False,
                    "when the invited person first paid (null: not converted); a referral "
                    "counts as successful only if this is before the as-of instant",
                ),
            ],
            "One row per invitation sent by a customer (老带新).",
            ts_column="referral_ts",
            generate=generate.referrals,
            rows=generate.referrals_rows,
        ),
    ]
