"""The CLI's fixed words in English and Chinese (``--lang en|zh``), in one table.

Each section holds the words of one command's screen output, each entry its English and
Chinese text; :func:`words` gives a section in one language. Labels, titles and rule set
names have their own zh/en names (the rule set's), data-quality checks theirs
(:mod:`segrule.model.checks`). ``--json`` output never goes through here: its keys are
machine names and stay English. A test checks every entry has both languages with the
same ``{placeholders}``.
"""

from __future__ import annotations

LANGS = ("en", "zh")

TEXTS: dict[str, dict[str, dict[str, str]]] = {
    # segrule run / demo: the summary tables
    "summary": {
        "label": {"en": "label", "zh": "标签"},
        "display": {"en": "display", "zh": "名称"},
        "customers": {"en": "customers", "zh": "客户数"},
        "share": {"en": "share", "zh": "占比"},
        "revenue": {"en": "revenue", "zh": "收入占比"},
        "revenue_is": {"en": "revenue = share of {money}", "zh": "收入占比按 {money} 计算"},
        "wrote": {"en": "wrote", "zh": "已写入"},
        "wrote_rest": {
            "en": " {rows:,} customers × {cols} columns to ",
            "zh": " {rows:,} 位客户 × {cols} 列 → ",
        },
        "timing": {
            "en": "  (compile {compile:.2f}s, run {run:.2f}s)",
            "zh": "（编译 {compile:.2f} 秒，运行 {run:.2f} 秒）",
        },
    },
    # segrule run: the data-quality lines and what else was written
    "quality": {
        "read_used": {
            "en": "{table}: {read:,} rows read, {used:,} used",
            "zh": "{table}：读取 {read:,} 行，使用 {used:,} 行",
        },
        # English keeps the check's and the policy's machine names (as the rule set's
        # quality: block writes them); Chinese gives the display name, then the key
        "note": {"en": "{rows:,} {check} {action}", "zh": "{rows:,} 行{name}，{action}（{check}）"},
        "notes": {"en": " ({notes})", "zh": "；{notes}"},
        "sep": {"en": "; ", "zh": "；"},
        "where_rows": {"en": "where", "zh": "不符合 where 条件"},
        "blacklisted_rows": {"en": "blacklisted", "zh": "属于黑名单客户"},
        "blacklisted": {
            "en": "excluded {rows:,} blacklisted customers ({file})",
            "zh": "已排除 {rows:,} 位黑名单客户（{file}）",
        },
        "rejects": {
            "en": "wrote {rows:,} rejected {table} rows to {path}",
            "zh": "已将 {rows:,} 行被剔除的 {table} 数据写入 {path}",
        },
        "history": {"en": "history: wrote {path}", "zh": "历史：已写入 {path}"},
        "no_distance": {
            "en": "note: --distance adds no columns for {name}: {why}",
            "zh": "注意：--distance 未给 {name} 添加距离列：{why}",
        },
        "hysteresis": {
            "en": "note: the rule set has hysteresis, which applies only with --history",
            "zh": "注意：规则集设置了 hysteresis（防抖），只在使用 --history 时生效",
        },
    },
    # segrule explain
    "explain": {
        "customer": {"en": "Customer", "zh": "客户"},
        "as_of": {"en": "as of", "zh": "截至"},
        "dimensions": {"en": "Dimensions", "zh": "维度"},
        "segments": {"en": "Segments and tiers", "zh": "分群与等级"},
        "scores": {"en": "Scores", "zh": "评分"},
        "name": {"en": "name", "zh": "名称"},
        "title": {"en": "title", "zh": "标题"},
        "value": {"en": "value", "zh": "值"},
        "case": {"en": "case", "zh": "条件分支"},
        "when": {"en": "condition", "zh": "条件"},
        "holds": {"en": "holds", "zh": "成立"},
        "why": {"en": "values that decided it", "zh": "决定因素"},
        "default": {"en": "default", "zh": "默认"},
        "part": {"en": "part", "zh": "评分项"},
        "points": {"en": "points", "zh": "分数"},
        "total": {"en": "total", "zh": "合计"},
        "true": {"en": "true", "zh": "是"},
        "false": {"en": "false", "zh": "否"},
        "null": {"en": "null (counts as false)", "zh": "空 (视为否)"},
        "result": {"en": "result", "zh": "结果"},
        "next": {"en": "to move up", "zh": "升级还差"},
        "rolloff": {"en": "falls a rung on", "zh": "降级日期"},
        "reason": {"en": "why", "zh": "原因"},
        "actions": {"en": "actions", "zh": "建议动作"},
    },
    # segrule diff
    "migration": {
        "old": {"en": "old", "zh": "旧"},
        "new": {"en": "new", "zh": "新"},
        "as_of": {"en": "as of", "zh": "截至"},
        "axes": {"en": "rows: old, columns: new", "zh": "行: 旧, 列: 新"},
        "corner": {"en": "old \\ new", "zh": "旧 \\ 新"},
        "total": {"en": "total", "zh": "合计"},
        "unchanged": {"en": "no customer changed label", "zh": "没有客户变化"},
        "moved": {"en": "customers moved", "zh": "位客户变化"},
        "revenue": {"en": "revenue", "zh": "金额"},
        "from": {"en": "from", "zh": "原"},
        "to": {"en": "to", "zh": "现"},
        "customers": {"en": "customers", "zh": "客户数"},
        "revenue_old": {"en": "revenue old", "zh": "原金额"},
        "revenue_new": {"en": "revenue new", "zh": "现金额"},
        "more": {
            "en": "smaller moves not shown (--json has all)",
            "zh": "个较小的变化未列出 (--json 有全部)",
        },
        "wrote": {"en": "wrote {n} change events to", "zh": "已写入 {n} 条变化事件:"},
        "compared": {
            "en": "{source}: {note}; comparing its text and boolean columns",
            "zh": "{source}：{note}；比较其文本列和布尔列",
        },
        "none": {"en": "(none)", "zh": "(空)"},
    },
    # segrule history, and any table printed from a file's rows
    "history": {
        "as_of": {"en": "as_of", "zh": "截至"},
        "customers": {"en": "customers", "zh": "客户数"},
        "file": {"en": "file", "zh": "文件"},
        "wrote": {"en": "wrote {rows:,} rows to {path}", "zh": "已写入 {rows:,} 行 → {path}"},
        "old_as_of": {"en": "old_as_of", "zh": "原截至"},
        "new_as_of": {"en": "new_as_of", "zh": "现截至"},
        "event": {"en": "event", "zh": "事件"},
        "old_label": {"en": "old_label", "zh": "原标签"},
        "new_label": {"en": "new_label", "zh": "现标签"},
        "column": {"en": "column", "zh": "列"},
        "label": {"en": "label", "zh": "标签"},
    },
    "frame": {
        "more_columns": {
            "en": "{n} more column(s) not shown: {names} (widen the terminal or use --out FILE)",
            "zh": "另有 {n} 列未显示：{names}（加宽终端或使用 --out FILE）",
        },
        "more_rows": {
            "en": "… {n:,} more rows (use --out FILE)",
            "zh": "… 另有 {n:,} 行（使用 --out FILE）",
        },
    },
    # segrule check
    "check": {
        "checked": {"en": ": {n:,} customers checked", "zh": "：已检查 {n:,} 位客户"},
        "matches_nobody": {"en": "cases that match nobody", "zh": "没有客户命中的条件分支"},
        "shadowed": {
            "en": "cases shadowed by earlier cases",
            "zh": "被前面条件分支遮蔽的条件分支",
        },
        "no_tier": {"en": "customers left without a tier", "zh": "没有等级的客户"},
        "monotonicity": {
            "en": "customers who would drop a tier by spending more",
            "zh": "多消费反而会降级的客户",
        },
        "rule": {"en": "rule", "zh": "规则"},
        "customers": {"en": "customers", "zh": "客户数"},
        "finding": {"en": "finding", "zh": "问题"},
        "examples": {"en": "examples", "zh": "示例"},
        "one_order": {"en": "one more order of {amount}", "zh": "多下一笔 {amount} 的订单"},
        "amount": {"en": "{amount} more", "zh": "多消费 {amount}"},
        "mono_checked": {
            "en": "monotonicity of {column} checked ({source}: {order}), spending {spent}",
            "zh": "已检查 {column} 的单调性（{source}：{order}），{spent}",
        },
        "mono_unchecked": {
            "en": "monotonicity of {column} not checked: {why}",
            "zh": "未检查 {column} 的单调性：{why}",
        },
        "give_order": {
            "en": "{why}: give --order {column}=BEST,...,WORST",
            "zh": "{why}：请用 --order {column}=最好,...,最差 给出顺序",
        },
        "ok": {"en": "ok", "zh": "通过"},
        "no_findings": {"en": ": no findings", "zh": "：没有发现问题"},
        "findings": {"en": "{n} finding(s)", "zh": "发现 {n} 个问题"},
        "exit": {"en": " (exit code 1)", "zh": "（退出码 1）"},
    },
    # segrule sweep
    "sweep": {
        "now": {
            "en": " now {current} ({where}); {n} values",
            "zh": " 当前 {current}（{where}）；{n} 个取值",
        },
        "side": {"en": "{column}: customers % · revenue %", "zh": "{column}：客户占比 · 收入占比"},
        "below": {
            "en": "{column}: customers %, revenue % below",
            "zh": "{column}：客户占比，下方为收入占比",
        },
        "none": {"en": "(none)", "zh": "(空)"},
        "customers": {"en": "{n:,} customers", "zh": "{n:,} 位客户"},
        "revenue": {"en": "; revenue = share of {money}", "zh": "；收入占比按 {money} 计算"},
        "bold": {"en": "; bold: the rule set's current value", "zh": "；粗体：规则集的当前取值"},
        "seconds": {
            "en": "; compile {compile:.2f}s, read and aggregate {aggregates:.2f}s, "
            "{points} grid points {grid:.2f}s",
            "zh": "；编译 {compile:.2f} 秒，读取与汇总 {aggregates:.2f} 秒，"
            "{points} 个网格点 {grid:.2f} 秒",
        },
        "closest": {
            "en": "closest to {column} {label} = {share}: ",
            "zh": "最接近 {column} {label} = {share} 的取值：",
        },
        "wrote": {"en": "wrote", "zh": "已写入"},
    },
    # segrule presets
    "presets": {
        "preset": {"en": "preset", "zh": "预设规则集"},
        "title": {"en": "title", "zh": "名称"},
        "from": {"en": "from", "zh": "来源"},
        "description": {"en": "description", "zh": "说明"},
    },
    # segrule dimensions
    "dimensions": {
        "dimension": {"en": "dimension", "zh": "维度"},
        "title": {"en": "title", "zh": "名称"},
        "kind": {"en": "kind", "zh": "类别"},
        "type": {"en": "type", "zh": "类型"},
        "tables": {"en": "tables", "zh": "数据表"},
        "description": {"en": "description", "zh": "说明"},
        "examples": {"en": "examples", "zh": "示例"},
        "strategy": {"en": "strategy", "zh": "评分策略"},
        "parameters": {"en": "parameters", "zh": "参数"},
    },
    # segrule bucket
    "bucket": {
        "title": {
            "en": "bucket layout: {buckets:,} buckets by {hash}",
            "zh": "分桶布局：{buckets:,} 个桶，按 {hash} 分桶",
        },
        "table": {"en": "table", "zh": "数据表"},
        "id_column": {"en": "customer id", "zh": "客户编号列"},
        "rows": {"en": "rows", "zh": "行数"},
        "nonempty": {"en": "buckets", "zh": "非空桶"},
        "largest": {"en": "largest", "zh": "最大桶"},
        "smallest": {"en": "smallest", "zh": "最小桶"},
        "skew": {"en": "max/mean", "zh": "最大/平均"},
        "wrote": {"en": "wrote", "zh": "已写入"},
        "wrote_rest": {
            "en": " {tables} table(s), {rows:,} rows, {files:,} bucket folders to ",
            "zh": " {tables} 张表，{rows:,} 行，{files:,} 个桶目录 → ",
        },
        "seconds": {"en": " ({seconds:.1f}s)", "zh": "（{seconds:.1f} 秒）"},
    },
    # segrule demo
    "demo": {
        "generating": {
            "en": "Generating {orders:,} orders into {path} …",
            "zh": "正在生成 {orders:,} 条订单 → {path} …",
        },
        "cached": {"en": "Using cached data in {path}", "zh": "使用缓存的数据：{path}"},
        "rulesets": {"en": "Rule sets", "zh": "规则集"},
        "see": {"en": "see", "zh": "见"},
        "try": {"en": "Try", "zh": "试试"},
        "path": {
            "en": "(To type plain `segrule`: `source .venv/bin/activate` in the clone, or "
            "`python3 -m uv tool install ./cli --with './core[report,generate]'`.)",
            "zh": "（想直接输入 `segrule`：在仓库目录执行 `source .venv/bin/activate`，或 "
            "`python3 -m uv tool install ./cli --with './core[report,generate]'`。）",
        },
    },
}


def words(section: str, lang: str) -> dict[str, str]:
    """The fixed words of ``section`` in ``lang`` (zh; anything else gives English)."""
    pick = "zh" if lang == "zh" else "en"
    return {key: text[pick] for key, text in TEXTS[section].items()}
