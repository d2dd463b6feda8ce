"""`--lang zh`: every command that takes it prints its headings, column headers and
fixed words in Chinese, and none of the English ones; `--json` is the same whatever
--lang (machine keys and values stay English)."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest
from segrule_cli.app import app
from segrule_cli.texts import LANGS, TEXTS, words
from typer.testing import CliRunner

runner = CliRunner()
pytestmark = pytest.mark.usefixtures("isolated_cli")


def _fields(text: str) -> list[str]:
    return sorted(f for _, f, _, _ in string.Formatter().parse(text) if f is not None)


def test_every_text_has_both_languages_with_the_same_placeholders() -> None:
    assert TEXTS
    for section, entries in TEXTS.items():
        assert entries, section
        for key, text in entries.items():
            assert set(text) == set(LANGS), (section, key)
            assert all(text[lang].strip() for lang in LANGS), (section, key)
            # the same fields, but for a display name English shows as its machine name
            extra = {"name"} if (section, key) == ("quality", "note") else set()
            assert set(_fields(text["en"])) | extra == set(_fields(text["zh"])), (section, key)
            if key not in ("none", "corner", "path", "give_order", "more", "more_columns"):
                # what is meant as Chinese is written in Chinese
                assert re.search(r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]", text["zh"]), (
                    section,
                    key,
                )
    assert words("summary", "fr") == words("summary", "en")


def test_quality_checks_have_display_names() -> None:
    from segrule.model.checks import ACTIONS, CHECKS

    for check in CHECKS.values():
        assert check.zh and check.en, check.name
        assert check.display("zh") == check.zh and check.display("en") == check.en
    assert all(set(a) == set(LANGS) for a in ACTIONS.values())


@pytest.fixture(scope="module")
def sources(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two runs of taobao-5-tier with a history, on the shared generated data."""
    root = tmp_path_factory.mktemp("langzh")
    paths = {"data": data_dir, "hist": root / "hist"}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SEGRULE_DISABLE_PLUGIN_AUTOLOAD", "1")
        for month in ("10", "11"):
            out = root / f"scores-{month}.parquet"
            args = ["run", "taobao-5-tier", "--data", str(data_dir), "-q"]
            args += ["--history", str(paths["hist"]), "--as-of", f"2026-{month}-01"]
            r = runner.invoke(app, [*args, "--out", str(out)])
            assert r.exit_code == 0, r.output
            paths[month] = out
    return paths


def _both(args: list[str]) -> tuple[str, str]:
    en = runner.invoke(app, [*args, "--lang", "en"])
    zh = runner.invoke(app, [*args, "--lang", "zh"])
    assert en.exit_code in (0, 1) and zh.exit_code == en.exit_code, zh.output
    return en.output, zh.output


def _speaks(en: str, zh: str, english: list[str], chinese: list[str]) -> None:
    for word in english:
        assert word in en, f"{word!r} not in the English output"
        assert word not in zh, f"{word!r} in the Chinese output"
    for word in chinese:
        assert word in zh, f"{word!r} not in the Chinese output"


def test_run(sources: dict[str, Path], tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("C00000001\nC00000002\n")
    args = ["run", "taobao-5-tier", "--data", str(sources["data"]), "--as-of", "2026-11-01"]
    args += ["--out", str(tmp_path / "o.parquet"), "--blacklist", str(ids)]
    args += ["--rejects", str(tmp_path / "rej")]
    en, zh = _both(args)
    zh = zh.replace(str(tmp_path), "")
    _speaks(
        en,
        zh,
        ["rows read", " used", "after_as_of excluded", "blacklisted customers", "share", "wrote"],
        ["读取", "使用", "晚于截至时间，已排除（after_as_of）", "黑名单客户", "占比", "已写入"],
    )


def test_run_quiet_still_prints_quality_in_chinese(
    sources: dict[str, Path], tmp_path: Path
) -> None:
    args = ["run", "taobao-5-tier", "--data", str(sources["data"]), "--as-of", "2026-11-01"]
    r = runner.invoke(app, [*args, "--out", str(tmp_path / "o.parquet"), "-q", "--lang", "zh"])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("orders：读取 ") and "rows read" not in r.output


def test_diff(sources: dict[str, Path]) -> None:
    en, zh = _both(["diff", str(sources["10"]), str(sources["11"]), "--column", "tier"])
    _speaks(en, zh, ["rows: old", "total", "customers moved", "from", "old:"], ["合计", "旧 \\ 新"])
    en_j = json.loads(
        runner.invoke(app, ["diff", str(sources["10"]), str(sources["11"]), "--json"]).output
    )
    zh_j = json.loads(
        runner.invoke(
            app, ["diff", str(sources["10"]), str(sources["11"]), "--json", "--lang", "zh"]
        ).output
    )

    def keys(x: object) -> object:
        if isinstance(x, dict):
            return {
                k: keys(v) for k, v in x.items() if k not in ("title", "old_display", "new_display")
            }
        if isinstance(x, list):
            return [keys(v) for v in x]
        return x

    # only the display names (documented as in --lang) differ
    assert keys(en_j) == keys(zh_j)


def test_explain(sources: dict[str, Path]) -> None:
    import polars as pl

    cid = pl.read_parquet(sources["11"]).filter(pl.col("tier") == "vip")["customer_id"][0]
    args = ["explain", "taobao-5-tier", "--data", str(sources["data"]), "--as-of", "2026-11-01"]
    en, zh = _both([*args, "--customer", str(cid)])
    _speaks(
        en,
        zh,
        ["Dimensions", "Segments and tiers", "condition", "as of"],
        ["维度", "分群与等级", "条件"],
    )
    # The VIP's playbook in the language asked for (taobao-5-tier gives both).
    _speaks(en, zh, ["member discounts", "priority service"], ["会员折扣", "优先服务"])


def test_history(sources: dict[str, Path]) -> None:
    en, zh = _both(["history", str(sources["hist"])])
    _speaks(en, zh, ["┃ as_of ", "┃ customers ", "┃ file "], ["┃ 截至 ", "┃ 客户数 ", "┃ 文件 "])
    en, zh = _both(["history", str(sources["hist"]), "--events", "--column", "tier"])
    _speaks(en, zh, ["┃ old_as_of", "┃ event", "┃ new_label"], ["原截至", "事件", "现标签"])
    # the values are the same: only the headers change
    assert en.count("entered") == zh.count("entered") > 0


def test_check(sources: dict[str, Path]) -> None:
    args = ["check", "taobao-5-tier", "--data", str(sources["data"]), "--as-of", "2026-11-01"]
    en, zh = _both(args)
    _speaks(en, zh, ["customers checked", "monotonicity of", "spending"], ["已检查", "单调性"])
    assert ("no findings" in en) == ("没有发现问题" in zh)
    en_j = json.loads(runner.invoke(app, [*args, "--json"]).output)
    zh_j = json.loads(runner.invoke(app, [*args, "--json", "--lang", "zh"]).output)
    en_j.pop("seconds", None), zh_j.pop("seconds", None)
    assert en_j == zh_j and en_j


def test_sweep(sources: dict[str, Path]) -> None:
    args = ["sweep", "taobao-5-tier", "--data", str(sources["data"]), "--as-of", "2026-11-01"]
    args += ["--param", "amount_tier.high=5000..7000:1000", "--target", "vip=10%"]
    en, zh = _both(args)
    _speaks(
        en,
        zh,
        ["customers % · revenue %", " now ", "values", "bold:", "closest to", "compile"],
        ["客户占比 · 收入占比", "当前", "个取值", "粗体", "最接近", "编译"],
    )
    en_j = json.loads(runner.invoke(app, [*args, "--json"]).output)
    zh_j = json.loads(runner.invoke(app, [*args, "--json", "--lang", "zh"]).output)
    en_j.pop("seconds", None), zh_j.pop("seconds", None)
    assert en_j == zh_j


def test_presets_and_dimensions() -> None:
    en, zh = _both(["presets"])
    _speaks(en, zh, ["┃ preset ", "┃ description "], ["预设规则集", "说明", "RFM 客户价值模型"])
    assert "RFM customer value model" in en
    en, zh = _both(["dimensions"])
    _speaks(
        en,
        zh,
        ["┃ dimension ", "┃ strategy ", "┃ parameters "],
        ["维度", "评分策略", "消费金额 <window>"],
    )
    for cmd in (["presets"], ["dimensions"]):
        en_j = runner.invoke(app, [*cmd, "--json"]).output
        assert runner.invoke(app, [*cmd, "--json", "--lang", "zh"]).output == en_j


@pytest.mark.parametrize("cmd", ["history", "check", "sweep", "presets", "dimensions", "demo"])
def test_unknown_lang_is_a_usage_error(cmd: str, sources: dict[str, Path]) -> None:
    args = {
        "history": [str(sources["hist"])],
        "check": ["taobao-5-tier", "--data", str(sources["data"])],
        "sweep": ["taobao-5-tier", "--data", str(sources["data"]), "--param", "amount_tier.high=1"],
    }.get(cmd, [])
    r = runner.invoke(app, [cmd, *args, "--lang", "fr"])
    assert r.exit_code == 2 and "--lang 'fr'" in r.output, r.output
