"""Plan passes: how features add to a compiled plan without the compiler knowing them.

A pass is an object with any of these methods, called in the order the passes are
given to :func:`segrule.engine.compiler.compile_plan` (ibis' rewrite lists, pytest's
plugins owning their options and state):

``add_nodes(nodes, dtypes, outputs, ctx) -> list[Node]``
    after type checking: nodes to add to the plan (explanation columns); those not
    ``hidden`` are appended to the outputs, and the plan is type checked again.
``check(plan) -> None``
    on the compiled plan: raise a RuleSetError for what the feature cannot accept
    (hysteresis entries naming an unknown column), also when only validating.

The run-time points (wrap the output frame with queries that share the run's
``collect_all``; after the write) are :class:`RunPass`'s, used by
:func:`segrule.api.run`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import polars as pl

from segrule.model.nodes import BuildContext, Node

if TYPE_CHECKING:
    from segrule.engine.compiler import Plan


@runtime_checkable
class AddsNodes(Protocol):
    def add_nodes(
        self,
        nodes: Mapping[str, Node],
        dtypes: Mapping[str, pl.DataType],
        outputs: Sequence[str],
        ctx: BuildContext,
    ) -> list[Node]: ...


@runtime_checkable
class ChecksPlan(Protocol):
    def check(self, plan: Plan) -> None: ...


@runtime_checkable
class RunPass(Protocol):
    """A pass that takes part in a run's write (:func:`segrule.api.run`)."""

    def wrap(self, plan: Plan, frame: pl.LazyFrame) -> tuple[pl.LazyFrame, list[pl.LazyFrame]]:
        """The frame to write (it may add columns the pass needs and select the
        outputs back) and extra queries on it, collected in the run's ``collect_all``."""
        ...

    def commit(self, plan: Plan, results: list[pl.DataFrame], tmp: Path, target: Path) -> Any:
        """After the write, before the output is in place: put it in place (rename
        ``tmp`` to ``target``) together with what the pass writes from ``results`` (the
        extra queries' results). Returns what the pass wrote."""
        ...
