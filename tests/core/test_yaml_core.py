"""Rule files are read with YAML 1.2 plain scalars: yes/no/on/off, 10:30, 0755 and dates
stay what they look like, as in other current YAML tools."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import segrule
import yaml
from segrule.model.presets import Preset
from segrule.model.yamlcore import core_schema

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")

LOADERS = [core_schema(yaml.SafeLoader), core_schema(getattr(yaml, "CSafeLoader", yaml.SafeLoader))]


@pytest.mark.parametrize("loader", LOADERS, ids=["python", "libyaml"])
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("yes", "yes"),
        ("No", "No"),
        ("on", "on"),
        ("OFF", "OFF"),
        ("Y", "Y"),
        ("n", "n"),
        ("10:30", "10:30"),
        ("2026-11-01", "2026-11-01"),
        ("2026-11-01 10:00:00", "2026-11-01 10:00:00"),
        ("0755", 755),
        ("0o17", 15),
        ("0x1f", 31),
        ("10_000", 10000),
        ("-3", -3),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        (".5", 0.5),
        ("true", True),
        ("FALSE", False),
        ("~", None),
        ("null", None),
        ("", None),
        ("'yes'", "yes"),
        ("1.2.3", "1.2.3"),
    ],
)
def test_plain_scalars(loader: type, text: str, value: object) -> None:
    assert yaml.load(f"key: {text}", Loader=loader) == {"key": value}


def test_infinity_and_nan() -> None:
    got = yaml.load("[.inf, -.Inf, .NaN]", Loader=LOADERS[0])
    assert got[0] == float("inf") and got[1] == float("-inf") and got[2] != got[2]


def test_yes_and_no_are_labels_and_status_values(tmp_path: Path) -> None:
    rules = tmp_path / "yesno.yaml"
    rules.write_text(
        """
version: 2026-11-01
tables:
  orders:
    status_values:
      paid: [yes, Y, on]
      refunded: [no, N, off]
segments:
  bought:
    cases:
      - {when: "orders_lifetime >= 1", label: yes}
    default: no
    labels:
      yes: {zh: 是, en: "Yes"}
      no: {zh: 否, en: "No"}
outputs: [customer_id, orders_lifetime, bought]
""",
        encoding="utf-8",
    )
    rs = segrule.load_ruleset(str(rules))
    assert rs.model.version == "2026-11-01"
    assert rs.model.tables["orders"].status_values == {
        "paid": ["yes", "Y", "on"],
        "refunded": ["no", "N", "off"],
    }
    import polars as pl

    orders = pl.DataFrame(
        {
            "order_id": ["a", "b", "c"],
            "customer_id": [1, 2, 3],
            "order_ts": [dt.datetime(2026, 10, 1)] * 3,
            "amount": [10.0, 20.0, 30.0],
            "status": ["Y", "off", "yes"],
        }
    )
    out = segrule.score(rs, {"orders": orders}, as_of="2026-11-01")
    assert dict(zip(out["customer_id"], out["bought"], strict=True)) == {
        1: "yes",
        2: "no",
        3: "yes",
    }


def test_presets_are_read_the_same_way(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("name: on\ndescription: 10:30\n", encoding="utf-8")
    preset = Preset.from_file(path)
    assert (preset.name, preset.description) == ("on", "10:30")
