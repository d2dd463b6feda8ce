"""Benchmark data sets: generated once per (orders, seed, shape) and cached.

A shape says how the generated data looks, one option of :func:`segrule.generate.generate`
per token; tokens combine with ``+`` (``int+shuffled``), ``default`` is none of them:

- ``int``: customer_id and order_id are Int64 (the same numbers as the text ids);
- ``shuffled``: customer ids through a seeded permutation (the customers table out of
  id order);
- ``random-order-ids``: order ids through a seeded permutation (the orders file out of
  id order);
- ``no-customers``: no customers table (the universe is the customers of orders);
- ``<K>-per-customer``: K orders per customer instead of 10 (``100-per-customer``);
- ``skewed``: a skewed shop, :data:`SKEW_CUSTOMERS` customers with
  ``min(100,000, orders // 10)`` more orders each (so 100,000 each from 1M orders on);
- ``events-<R>x``: R events rows per order (``events-2x``, ``events-10x``) instead of
  2 per customer.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from segrule.bench import BenchError

ProgressFn = Callable[[str, int, int], None]

DEFAULT_SHAPE = "default"
#: The shapes ``--shapes matrix`` runs: each token alone, and integer ids with the
#: id orders.
MATRIX = (
    "default",
    "int",
    "shuffled",
    "int+shuffled",
    "random-order-ids",
    "int+random-order-ids",
    "no-customers",
    "100-per-customer",
    "skewed",
    "events-2x",
    "events-10x",
)
SKEW_CUSTOMERS = 3
SKEW_ORDERS = 100_000
DEFAULT_ORDERS_PER_CUSTOMER = 10
TOKENS = (
    "int",
    "shuffled",
    "random-order-ids",
    "no-customers",
    "<K>-per-customer",
    "skewed",
    "events-<R>x",
)

_PER_CUSTOMER = re.compile(r"^([1-9][0-9]*)-per-customer$")
_EVENTS = re.compile(r"^events-([0-9]+)x$")


class ShapeError(BenchError):
    """A shape name that does not parse (the message says why, on one line)."""


@dataclasses.dataclass(frozen=True)
class Shape:
    """How the benchmark data looks; :meth:`parse` reads a name, :attr:`name` writes it."""

    int_ids: bool = False
    shuffled_customers: bool = False
    random_order_ids: bool = False
    customers_table: bool = True
    orders_per_customer: int = DEFAULT_ORDERS_PER_CUSTOMER
    skewed: bool = False
    events_per_order: int | None = None

    @classmethod
    def parse(cls, spec: str | Shape) -> Shape:
        """The shape named ``spec``: ``default`` or tokens joined by ``+``."""
        if isinstance(spec, Shape):
            return spec
        text = spec.strip()
        if text in ("", DEFAULT_SHAPE):
            return cls()
        fields: dict[str, Any] = {}

        def put(key: str, value: Any, token: str) -> None:
            if key in fields:
                raise ShapeError(
                    f"shape '{spec}': '{token}' given twice or with a conflicting token"
                )
            fields[key] = value

        for token in (t.strip() for t in text.split("+")):
            if token == "int":
                put("int_ids", True, token)
            elif token == "shuffled":
                put("shuffled_customers", True, token)
            elif token == "random-order-ids":
                put("random_order_ids", True, token)
            elif token == "no-customers":
                put("customers_table", False, token)
            elif token == "skewed":
                put("skewed", True, token)
            elif m := _PER_CUSTOMER.match(token):
                put("orders_per_customer", int(m.group(1)), token)
            elif m := _EVENTS.match(token):
                put("events_per_order", int(m.group(1)), token)
            else:
                raise ShapeError(
                    f"shape '{spec}': unknown token '{token}'; shapes are 'default' or "
                    f"tokens joined by '+' from: {', '.join(TOKENS)}"
                )
        return cls(**fields)

    @property
    def name(self) -> str:
        """The canonical name: tokens in a fixed order, ``default`` for none."""
        tokens = []
        if self.int_ids:
            tokens.append("int")
        if self.shuffled_customers:
            tokens.append("shuffled")
        if self.random_order_ids:
            tokens.append("random-order-ids")
        if not self.customers_table:
            tokens.append("no-customers")
        if self.orders_per_customer != DEFAULT_ORDERS_PER_CUSTOMER:
            tokens.append(f"{self.orders_per_customer}-per-customer")
        if self.skewed:
            tokens.append("skewed")
        if self.events_per_order is not None:
            tokens.append(f"events-{self.events_per_order}x")
        return "+".join(tokens) or DEFAULT_SHAPE

    @property
    def tables(self) -> tuple[str, ...]:
        """The tables written for this shape."""
        # The benchmarked tables (messages are not: no benchmarked rule set reads them).
        tables = ("orders", "customers", "events", "feedback")
        return tuple(t for t in tables if self.customers_table or t != "customers")

    def skew_orders(self, orders: int) -> int:
        """Orders of each skewed customer at ``orders`` orders."""
        return max(1, min(SKEW_ORDERS, orders // 10))

    def generate_kwargs(self, orders: int) -> dict[str, Any]:
        """Keyword arguments of :func:`segrule.generate.generate` for this shape; the
        default shape gives none (the data generated before shapes existed)."""
        kwargs: dict[str, Any] = {}
        if self.int_ids:
            kwargs["id_type"] = "int"
        if self.shuffled_customers:
            kwargs["customer_ids"] = "shuffled"
        if self.random_order_ids:
            kwargs["order_ids"] = "random"
        if not self.customers_table:
            kwargs["tables"] = self.tables
        if self.orders_per_customer != DEFAULT_ORDERS_PER_CUSTOMER:
            kwargs["orders_per_customer"] = self.orders_per_customer
        if self.skewed:
            kwargs["skew"] = SKEW_CUSTOMERS
            kwargs["skew_orders"] = self.skew_orders(orders)
        if self.events_per_order is not None:
            kwargs["events_per_order"] = self.events_per_order
        return kwargs


def parse_shapes(specs: str | Sequence[str]) -> list[Shape]:
    """Shapes from a comma-separated list (or a sequence) of names; ``matrix`` stands
    for :data:`MATRIX`. Each shape once, in the order given; raises :class:`ShapeError`."""
    items = specs.split(",") if isinstance(specs, str) else list(specs)
    names: list[str] = []
    for item in (i.strip() for i in items):
        if item == "matrix":
            names.extend(MATRIX)
        elif item:
            names.append(item)
    if not names:
        raise ShapeError("give at least one shape ('default', 'matrix', 'int+shuffled', ...)")
    shapes = {s.name: s for s in (Shape.parse(n) for n in names)}
    return list(shapes.values())


def cache_root(cache_dir: Path | None = None) -> Path:
    """``cache_dir``, else ``$SEGRULE_CACHE_DIR``, else ``$XDG_CACHE_HOME/segrule``, else
    ``~/.cache/segrule`` (the same folder `segrule demo` uses)."""
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("SEGRULE_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "segrule"


def bench_data_dir(
    orders: int,
    *,
    seed: int = 1,
    cache_dir: Path | None = None,
    shape: str | Shape = DEFAULT_SHAPE,
) -> Path:
    """Where the data set for ``orders`` orders, ``seed`` and ``shape`` lives (it may not
    exist yet): ``orders-{orders}-seed-{seed}`` for the default shape (the folder used
    before shapes existed), ``orders-{orders}-seed-{seed}-{shape name}`` for others."""
    name = Shape.parse(shape).name
    suffix = "" if name == DEFAULT_SHAPE else f"-{name}"
    return cache_root(cache_dir) / "bench" / f"orders-{orders}-seed-{seed}{suffix}"


def bench_data(
    orders: int,
    *,
    seed: int = 1,
    cache_dir: Path | None = None,
    progress: ProgressFn | None = None,
    shape: str | Shape = DEFAULT_SHAPE,
) -> Path:
    """The folder of Parquet tables for a size, seed and shape.

    Returns :func:`bench_data_dir`, generating it with :func:`segrule.generate.generate`
    (``orders // 10`` customers unless the shape says otherwise) when one of its tables
    is not there yet. Generation writes each file atomically, but one table after the
    other (orders first): an interrupted run can leave orders without the rest, so every
    table of the shape is checked, not only ``orders.parquet``. ``progress`` is passed
    on to the generator: ``progress(table, rows_done, rows_total)``. Raises
    :class:`ShapeError` for a shape name that does not parse.
    """
    from segrule.generate import generate

    parsed = Shape.parse(shape)
    out = bench_data_dir(orders, seed=seed, cache_dir=cache_dir, shape=parsed)
    if not all((out / f"{table}.parquet").exists() for table in parsed.tables):
        kwargs = {"tables": parsed.tables, **parsed.generate_kwargs(orders)}
        generate(out, orders=orders, seed=seed, progress=progress, **kwargs)
    return out
