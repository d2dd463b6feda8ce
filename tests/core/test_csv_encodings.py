"""CSV files in other encodings (GBK/GB18030, Big5, UTF-16, UTF-8 with a BOM, Windows-1252),
detected or named in the rule set, and the delimiter and decimal options."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest
import segrule
from polars.testing import assert_frame_equal
from segrule import DataError, RuleSetError
from segrule.io import encodings
from segrule.io.encodings import detect_encoding, guess_encoding
from segrule.io.sources import scan_source

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")


@pytest.fixture(autouse=True)
def no_copies_around() -> object:
    """Each test starts and ends with no UTF-8 copy made by this process."""
    encodings.remove_copies()
    yield
    encodings.remove_copies()


AS_OF = "2026-11-01"
SIMPLIFIED = {
    "header": "订单号,客户ID,下单时间,实付金额,订单状态,城市",
    "statuses": {"paid": "已支付", "refunded": "已退款", "pending": "待支付"},
    # 泉州: its GBK bytes are no Big5 character (most GBK text also reads as Big5).
    "cities": ["北京", "上海", "广州", "深圳", "杭州", "成都", "乌鲁木齐", "哈尔滨", "泉州"],
}
TRADITIONAL = {
    "header": "訂單號,客戶編號,下單時間,實付金額,訂單狀態,城市",
    "statuses": {"paid": "已付款", "refunded": "已退款", "pending": "待付款"},
    "cities": ["臺北", "高雄", "台中", "臺南", "新竹", "桃園", "香港", "澳門"],
}


def export_text(variant: dict, n: int = 80, *, text_ids: bool = False, seed: int = 3) -> str:
    """An order export as a Chinese shop system writes it (header in Chinese)."""
    rnd = random.Random(seed)
    lines = [variant["header"]]
    statuses = list(variant["statuses"].values())
    for i in range(n):
        customer = f"C{1000 + i % 17:05d}" if text_ids else str(1000 + i % 17)
        ts = f"2026-{1 + i % 10:02d}-{1 + i % 27:02d} {i % 24:02d}:{i % 60:02d}:00"
        amount = f"{rnd.randint(100, 99999) / 100:.2f}"
        status = statuses[0] if i % 7 else rnd.choice(statuses)
        lines.append(f"D{i:06d},{customer},{ts},{amount},{status},{rnd.choice(variant['cities'])}")
    return "\n".join(lines) + "\n"


def rules_text(variant: dict, extra: str = "") -> str:
    names = variant["header"].split(",")
    contract = ["order_id", "customer_id", "order_ts", "amount", "status"]
    columns = ", ".join(f"{c}: {n}" for c, n in zip(contract, names, strict=False))
    statuses = ", ".join(f"{k}: [{v}]" for k, v in variant["statuses"].items())
    return (
        "name: export\nextends: rfm\ntables:\n  orders:\n"
        f"    columns: {{{columns}}}\n    status_values: {{{statuses}}}\n{extra}"
    )


def score(tmp_path: Path, orders: Path, variant: dict, extra: str = "") -> pl.DataFrame:
    rule = tmp_path / "rules.yaml"
    rule.write_text(rules_text(variant, extra), encoding="utf-8")
    result = segrule.score(rule, {"orders": orders}, as_of=AS_OF)
    assert isinstance(result, pl.DataFrame)
    return result


def encoded(text: str, encoding: str) -> bytes:
    if encoding == "utf-16-le-bom":
        return b"\xff\xfe" + text.encode("utf-16-le")
    if encoding == "utf-16-be-bom":
        return b"\xfe\xff" + text.encode("utf-16-be")
    return text.encode(encoding)


CASES = [
    ("gbk", SIMPLIFIED, "gb18030"),
    ("gb18030", SIMPLIFIED, "gb18030"),
    ("utf-16-le-bom", SIMPLIFIED, "utf-16"),
    ("utf-16-be-bom", SIMPLIFIED, "utf-16"),
    ("utf-16-le", SIMPLIFIED, "utf-16-le"),
    ("utf-16-be", SIMPLIFIED, "utf-16-be"),
    ("utf-8-sig", SIMPLIFIED, "utf-8-sig"),
    ("big5", TRADITIONAL, "big5"),
    ("utf-8-sig", TRADITIONAL, "utf-8-sig"),
]


@pytest.mark.parametrize(("encoding", "variant", "detected"), CASES)
@pytest.mark.parametrize("given", [False, True], ids=["detected", "given"])
def test_export_scores_as_its_utf8_twin(
    tmp_path: Path, encoding: str, variant: dict, detected: str, given: bool
) -> None:
    text = export_text(variant, text_ids=encoding.startswith("utf-16"))
    utf8 = tmp_path / "utf8.csv"
    utf8.write_text(text, encoding="utf-8")
    other = tmp_path / "orders.csv"
    other.write_bytes(encoded(text, encoding))
    assert detect_encoding(other) == detected
    want = score(tmp_path, utf8, variant)
    name = {"utf-16-le-bom": "utf-16", "utf-16-be-bom": "utf-16"}.get(encoding, encoding)
    extra = f"    encoding: {name}\n" if given else ""
    got = score(tmp_path, other, variant, extra)
    assert_frame_equal(got, want)
    assert want.height == 17 and want["monetary_lifetime"].sum() > 0
    assert encodings.copy_paths() == []  # an eager run removes its copies


@pytest.mark.parametrize(
    ("text", "encoding", "want"),
    [
        ("id,城市\n1,北京\n", "gbk", "gb18030"),  # two characters
        ("id,name\n1,张\n", "gbk", "gb18030"),  # one
        (SIMPLIFIED["header"] + "\n", "gbk", "gb18030"),  # the header alone
        (TRADITIONAL["header"] + "\n", "big5", "big5"),
        ("訂單號,客戶編號\n1,臺北\n", "gbk", "gb18030"),  # traditional characters in GBK
        ("id,名前\n1,東京\n", "utf-8", "utf-8"),
        ("Bestellnr;Stadt;Betrag\n1;München;1.234,56\n2;Düsseldorf;12,50\n", "cp1252", "cp1252"),
        ("commande;ville\n1;Orléans\n2;Besançon\n", "latin-1", "cp1252"),
        ("id,city\n1,Beijing\n", "ascii", "utf-8"),
    ],
)
def test_detection_on_short_files(tmp_path: Path, text: str, encoding: str, want: str) -> None:
    f = tmp_path / "x.csv"
    f.write_bytes(text.encode(encoding))
    assert detect_encoding(f) == want


def test_detection_when_the_first_non_ascii_byte_comes_late(tmp_path: Path) -> None:
    # 400 KB of ASCII lines, then Chinese city names: past the 256 KiB sample.
    ascii_part = "".join(f"O{i},{i % 50},2026-10-01,10.00,paid,Beijing\n" for i in range(10_000))
    assert len(ascii_part) > encodings.SAMPLE_BYTES
    text = "order_id,customer_id,order_ts,amount,status,city\n" + ascii_part
    text += "".join(f"X{i},{i % 50},2026-10-02,20.00,paid,{c}\n" for i, c in enumerate("北上广深"))
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(text.encode("gbk"))
    assert detect_encoding(gbk) == "gb18030"
    utf8 = tmp_path / "utf8.csv"
    utf8.write_bytes(text.encode("utf-8"))
    assert detect_encoding(utf8) == "utf-8"
    frame = scan_source(gbk).collect()
    assert frame["city"].tail(4).to_list() == ["北", "上", "广", "深"]


def test_utf16_without_a_bom_and_a_sample_cut_inside_a_character() -> None:
    text = "客户ID,城市\n" + "1,北京\n" * 50_000
    assert detect_encoding_bytes(text.encode("utf-16-le")) == "utf-16-le"
    data = text.encode("gbk")
    # A sample ending inside a two-byte character is not the file's last word.
    assert guess_encoding(data[:1001], final=False) == "gb18030"


def detect_encoding_bytes(data: bytes) -> str | None:
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".csv", delete=False) as f:
        f.write(data)
    try:
        return detect_encoding(Path(f.name))
    finally:
        os.unlink(f.name)


def test_a_wrong_encoding_names_the_file_line_offset_and_option(tmp_path: Path) -> None:
    text = export_text(SIMPLIFIED, n=400)
    data = text.encode("gbk")
    with pytest.raises(UnicodeDecodeError) as python:
        data.decode("big5")  # where Python's own (not incremental) decoder stops
    start = python.value.start
    line = data[:start].count(b"\n") + 1
    orders = tmp_path / "orders.csv"
    orders.write_bytes(data)
    with pytest.raises(DataError) as err:
        score(tmp_path, orders, SIMPLIFIED, "    encoding: big5\n")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(
        f"{orders}: byte 0x{data[start]:02x} at line {line} (byte offset {start})"
    )
    assert "is not valid BIG5 (tables.orders.encoding: big5)" in message
    assert "give its encoding with tables.orders.encoding" in message
    with pytest.raises(DataError, match=r"is not valid UTF-8 \(tables.orders.encoding: utf-8\)"):
        score(tmp_path, orders, SIMPLIFIED, "    encoding: utf-8\n")
    assert encodings.copy_paths() == []  # the failed conversion left nothing


def test_a_bad_byte_deep_in_a_utf8_file_is_located(tmp_path: Path) -> None:
    text = export_text(SIMPLIFIED, n=3000)
    data = bytearray(text.encode("utf-8"))
    lines = text.split("\n")
    offset = len("\n".join(lines[:2500]).encode("utf-8")) + 1  # the start of line 2501
    data[offset : offset + 1] = b"\xb1"  # a GBK lead byte in a UTF-8 file
    orders = tmp_path / "orders.csv"
    orders.write_bytes(bytes(data))
    with pytest.raises(DataError) as err:
        score(tmp_path, orders, SIMPLIFIED)
    assert f"byte 0xb1 at line 2501 (byte offset {offset}) is not valid UTF-8" in str(err.value)
    assert "(read as UTF-8, detected)" in str(err.value)


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ("    encoding: gbkk\n", "tables.orders.encoding: unknown encoding 'gbkk'"),
        ("    encoding: rot13\n", "'rot13' is not a text file encoding"),
        ("    delimiter: ';;'\n", "tables.orders.delimiter: the delimiter must be one single-byte"),
        ("    delimiter: '，'\n", "not '，'"),
        ("    decimal: x\n", "tables.orders.decimal: the decimal mark must be '.' or ','"),
        ("    decimal: ','\n", "with decimal ',' give the delimiter too"),
    ],
)
def test_bad_options_are_rule_errors_at_their_line(
    tmp_path: Path, extra: str, fragment: str
) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(export_text(SIMPLIFIED), encoding="utf-8")
    with pytest.raises(RuleSetError) as err:
        score(tmp_path, orders, SIMPLIFIED, extra)
    message = str(err.value)
    assert fragment in message and "\n" not in message
    assert message.startswith(f"{tmp_path / 'rules.yaml'}:")


def test_options_for_other_formats_are_refused(tmp_path: Path) -> None:
    orders = tmp_path / "orders.parquet"
    pl.read_csv(export_text(SIMPLIFIED).encode(), infer_schema=False).write_parquet(orders)
    with pytest.raises(DataError, match=r"tables.orders.encoding applies to CSV files"):
        score(tmp_path, orders, SIMPLIFIED, "    encoding: gbk\n")
    with pytest.raises(DataError, match=r"tables.orders.sheet applies to Excel workbooks"):
        score(tmp_path, orders, SIMPLIFIED, "    sheet: 0\n")
    with pytest.raises(DataError, match=r"tables.orders.decimal applies to CSV files only"):
        score(tmp_path, orders, SIMPLIFIED, "    decimal: '.'\n")


# -- delimiter and decimal --------------------------------------------------------------
EUROPEAN = (
    "Bestellnr;Kunde;Datum;Betrag;Status;Stadt\n"
    "1;7;2026-10-01 10:00:00;1.234,56;paid;München\n"
    "2;7;2026-10-02 10:00:00;12,5;paid;München\n"
    "3;8;2026-10-03 10:00:00;8.765,44;paid;Köln\n"
    "4;8;2026-10-04 10:00:00;-3;paid;Köln\n"
    "5;9;2026-10-05 10:00:00;1.5;paid;Düsseldorf\n"
    "6;9;2026-10-06 10:00:00;1 000,10;paid;Düsseldorf\n"
    "7;9;2026-10-07 10:00:00;0,07;paid;Düsseldorf\n"
)
EUROPEAN_RULES = (
    "name: eu\nextends: rfm\ntables:\n  orders:\n"
    "    columns: {order_id: Bestellnr, customer_id: Kunde, order_ts: Datum, amount: Betrag,\n"
    "              status: Status}\n"
    "    delimiter: ';'\n    decimal: ','\n"
)


def test_decimal_comma_amounts_are_exact_cents(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_bytes(EUROPEAN.encode("cp1252"))
    rule = tmp_path / "eu.yaml"
    rule.write_text(EUROPEAN_RULES, encoding="utf-8")
    got = segrule.score(rule, {"orders": orders}, as_of=AS_OF)
    assert isinstance(got, pl.DataFrame)
    money = dict(zip(got["customer_id"], got["monetary_lifetime"], strict=True))
    # 1234.56 + 12.50; 8765.44 (-3 is a bad amount); 1000.10 + 0.07 (1.5 is neither form)
    assert money == {7: 1247.06, 8: 8765.44, 9: 1000.17}
    report = segrule.quality_report(rule, {"orders": orders}, as_of=AS_OF)
    bad = {r["check"]: r["rows"] for r in report if r["table"] == "orders"}
    assert bad["bad_amount"] == 2
    assert bad.get("rounded_amount", 0) == 0


GROUPED = (
    "订单号,客户ID,下单时间,实付金额,订单状态\n"
    '1,7,2026/10/1 10:00,"1,234.56",paid\n'
    "2,7,2026/10/2 10:00,12.5,paid\n"
    '3,8,2026/10/3 10:00,"8,765.44",paid\n'
    '4,8,2026/10/4 10:00,"1,5",paid\n'
    '5,9,2026/10/5 10:00,"1,000,000.10",paid\n'
    '6,9,2026/10/6 10:00,"12,34.5",paid\n'
    "7,9,2026/10/7 10:00,1 000.07,paid\n"
)
GROUPED_RULES = (
    "name: grouped\nextends: rfm\ntables:\n  orders:\n"
    "    columns: {order_id: 订单号, customer_id: 客户ID, order_ts: 下单时间, amount: 实付金额,\n"
    "              status: 订单状态}\n"
)


def test_decimal_point_with_thousands_separators(tmp_path: Path) -> None:
    """decimal: '.' reads 1,234.56 exactly; a decimal comma (1,5) or a wrong grouping
    (12,34.5) is a bad amount, never fifteen or 1234.5. Without the option a comma in a
    number is never read, and the error says which option to give."""
    orders = tmp_path / "orders.csv"
    orders.write_bytes(GROUPED.encode("gbk"))
    rule = tmp_path / "grouped.yaml"
    rule.write_text(GROUPED_RULES + "    decimal: '.'\n", encoding="utf-8")
    got = segrule.score(rule, {"orders": orders}, as_of=AS_OF)
    money = dict(zip(got["customer_id"], got["monetary_lifetime"], strict=True))
    assert money == {7: 1247.06, 8: 8765.44, 9: 1001000.17}
    report = segrule.quality_report(rule, {"orders": orders}, as_of=AS_OF)
    bad = {r["check"]: r["rows"] for r in report if r["table"] == "orders"}
    assert bad["bad_amount"] == 2
    plain = tmp_path / "plain.yaml"
    plain.write_text(GROUPED_RULES, encoding="utf-8")
    with pytest.raises(DataError, match=r"need tables.orders.decimal: '\.'"):
        segrule.score(plain, {"orders": orders}, as_of=AS_OF)


@pytest.mark.parametrize("delimiter", ["'\\t'", '"\\t"', "tab", "'|'"])
def test_delimiters(tmp_path: Path, delimiter: str) -> None:
    sep = "|" if "|" in delimiter else "\t"
    text = export_text(SIMPLIFIED).replace(",", sep)
    orders = tmp_path / "orders.csv"
    orders.write_bytes(text.encode("gb18030"))
    utf8 = tmp_path / "utf8.csv"
    utf8.write_text(export_text(SIMPLIFIED), encoding="utf-8")
    want = score(tmp_path, utf8, SIMPLIFIED)
    got = score(tmp_path, orders, SIMPLIFIED, f"    delimiter: {delimiter}\n")
    assert_frame_equal(got, want)


def test_a_wrong_delimiter_says_so(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_text(export_text(SIMPLIFIED), encoding="utf-8")
    with pytest.raises(DataError, match=r"column '订单号' .* is missing"):
        score(tmp_path, orders, SIMPLIFIED, "    delimiter: ';'\n")


# -- the UTF-8 copies --------------------------------------------------------------------
def test_copies_are_private_pinned_when_lazy_and_reused(tmp_path: Path) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_bytes(export_text(SIMPLIFIED).encode("gbk"))
    rule = tmp_path / "rules.yaml"
    rule.write_text(rules_text(SIMPLIFIED), encoding="utf-8")
    try:
        lazy = segrule.score(rule, {"orders": orders}, as_of=AS_OF, lazy=True)
        (copy,) = encodings.copy_paths()
        assert copy.stat().st_mode & 0o777 == 0o600
        assert copy.name.startswith(f"{encodings.COPY_PREFIX}{os.getpid()}.")
        # An eager run in between reuses the copy and does not remove it.
        eager = segrule.score(rule, {"orders": orders}, as_of=AS_OF)
        assert encodings.copy_paths() == [copy]
        assert isinstance(lazy, pl.LazyFrame)
        assert_frame_equal(lazy.collect(), eager)
        # The file changed: a new copy.
        orders.write_bytes(export_text(SIMPLIFIED, seed=9).encode("gbk"))
        segrule.score(rule, {"orders": orders}, as_of=AS_OF, lazy=True)
        assert len(encodings.copy_paths()) == 2
    finally:
        encodings.remove_copies()
    assert not copy.exists()


def test_a_failed_run_leaves_no_copy(tmp_path: Path) -> None:
    lines = export_text(SIMPLIFIED).split("\n")
    fields = lines[3].split(",")
    fields[3] = "abc"
    lines[3] = ",".join(fields)
    text = "\n".join(lines)
    orders = tmp_path / "orders.csv"
    orders.write_bytes(text.encode("gbk"))
    rule = tmp_path / "rules.yaml"
    rule.write_text(rules_text(SIMPLIFIED) + "    quality: {bad_amount: fail}\n", "utf-8")
    with pytest.raises(DataError, match="bad_amount"):
        segrule.score(rule, {"orders": orders}, as_of=AS_OF)
    with pytest.raises(DataError, match="bad_amount"):
        segrule.run(rule, tmp_path / "out.parquet", {"orders": orders}, as_of=AS_OF)
    assert not (tmp_path / "out.parquet").exists()
    # Failing while compiling (a column mapped to one the file lacks).
    rule.write_text(rules_text(SIMPLIFIED).replace("order_id: 订单号", "order_id: 单号"), "utf-8")
    with pytest.raises(DataError, match="is missing"):
        segrule.score(rule, {"orders": orders}, as_of=AS_OF)
    assert encodings.copy_paths() == []
    assert not list(Path(encodings.tempfile.gettempdir()).glob(f"*{os.getpid()}.*.csv"))


def test_a_full_disk_is_one_line_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_bytes(export_text(SIMPLIFIED).encode("gbk"))
    real_open = Path.open

    class Full:
        def __init__(self, f: object) -> None:
            self.f = f

        def __enter__(self) -> Full:
            return self

        def __exit__(self, *args: object) -> None:
            self.f.close()  # type: ignore[attr-defined]

        def write(self, data: bytes) -> int:
            raise OSError(28, "No space left on device")

    def fake_open(self: Path, mode: str = "r", *args: object, **kwargs: object) -> object:
        f = real_open(self, mode, *args, **kwargs)  # type: ignore[call-overload]
        return Full(f) if "w" in mode and self.name.startswith(encodings.COPY_PREFIX) else f

    monkeypatch.setattr(Path, "open", fake_open)
    with pytest.raises(DataError) as err:
        score(tmp_path, orders, SIMPLIFIED)
    assert "cannot convert it to UTF-8 in" in str(err.value)
    assert "No space left on device; free space there or set TMPDIR" in str(err.value)
    monkeypatch.undo()
    assert encodings.copy_paths() == []
    assert not list(Path(encodings.tempfile.gettempdir()).glob(f"*{os.getpid()}.*.csv"))


def test_an_unusable_temporary_folder_says_tmpdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_bytes(export_text(SIMPLIFIED).encode("gbk"))
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    monkeypatch.setattr(encodings.tempfile, "tempdir", str(not_a_folder))
    with pytest.raises(DataError, match=r"cannot create a file in .*; set TMPDIR"):
        score(tmp_path, orders, SIMPLIFIED)


CHILD = """
import os, signal, sys
from pathlib import Path
import segrule
from segrule.io import cleanup, encodings
cleanup.install_signal_handlers()
segrule.score(sys.argv[1], {"orders": sys.argv[2]}, as_of="2026-11-01", lazy=True)
print(encodings.copy_paths()[0], flush=True)
os.kill(os.getpid(), getattr(signal, sys.argv[3]))
"""


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGKILL"])
def test_copies_of_stopped_runs_are_removed(tmp_path: Path, sig: str) -> None:
    orders = tmp_path / "orders.csv"
    orders.write_bytes(export_text(SIMPLIFIED).encode("gbk"))
    rule = tmp_path / "rules.yaml"
    rule.write_text(rules_text(SIMPLIFIED), encoding="utf-8")
    env = {**os.environ, "TMPDIR": str(tmp_path), "SEGRULE_DISABLE_PLUGIN_AUTOLOAD": "1"}
    child = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHILD), str(rule), str(orders), sig],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert child.returncode in (-getattr(signal, sig), 128 + getattr(signal, sig)), child.stderr
    copy = Path(child.stdout.strip())
    assert copy.parent == tmp_path
    if sig == "SIGTERM":
        assert not copy.exists()  # the signal handler removed it
        return
    assert copy.exists()  # SIGKILL: nothing could run; the next conversion removes it
    assert encodings.remove_stale_copies(tmp_path) == 1
    assert not copy.exists()


def test_the_stale_copy_sweep_touches_nothing_else(tmp_path: Path) -> None:
    """Only ``segrule-utf8-<pid>.*`` entries of processes that are gone are removed: not
    a user's file with another name, not a live process's copy (this one's included), and
    a link named like a copy is removed as a link, never its target."""
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    keep = {
        "user": tmp_path / "orders.csv",
        "other-prefix": tmp_path / f"segrule-{dead}.csv",
        "not-a-pid": tmp_path / f"{encodings.COPY_PREFIX}abc.csv",
        "alive": tmp_path / f"{encodings.COPY_PREFIX}{os.getppid()}.x.csv",
        "mine": tmp_path / f"{encodings.COPY_PREFIX}{os.getpid()}.x.csv",
    }
    for path in keep.values():
        path.write_text("keep", encoding="utf-8")
    target = tmp_path / "precious.csv"
    target.write_text("precious", encoding="utf-8")
    link = tmp_path / f"{encodings.COPY_PREFIX}{dead}.link.csv"
    link.symlink_to(target)
    stale = tmp_path / f"{encodings.COPY_PREFIX}{dead}.y.csv"
    stale.write_text("stale", encoding="utf-8")
    assert encodings.remove_stale_copies(tmp_path) == 2
    assert not stale.exists() and not link.is_symlink()
    assert target.read_text(encoding="utf-8") == "precious"
    assert all(p.read_text(encoding="utf-8") == "keep" for p in keep.values())
