"""Plugin loading and the registries that plugins fill.

One :class:`Registry` per caller holds its own pluggy ``PluginManager`` (never a
module global) and the registries built from it. Items are registered through a
:class:`Register` callable that core owns and that stamps each item with its owner.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import re
import sys
import time
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Protocol

import pluggy

from segrule.errors import PluginConflictError, PluginError, RuleSetError, did_you_mean
from segrule.plugins import hookspecs

BUILTIN_PLUGINS: tuple[str, ...] = (
    "segrule.plugins.builtin.tables",
    "segrule.plugins.builtin.dimensions",
    "segrule.plugins.builtin.strategies",
    "segrule.plugins.builtin.kmeans",
    "segrule.plugins.builtin.text_tags",
    "segrule.plugins.builtin.clv",
    "segrule.plugins.builtin.presets",
)

ENTRY_POINT_GROUP = "segrule"


@dataclass(frozen=True)
class Owner:
    """Who registered an item: plugin name and the distribution that ships it."""

    plugin: str
    distribution: str | None = None
    version: str | None = None

    def __str__(self) -> str:
        if self.distribution:
            return f"plugin '{self.plugin}' (distribution {self.distribution})"
        return f"plugin '{self.plugin}'"


class Registrable(Protocol):
    name: str
    owner: Owner | None


class Register(Protocol):
    def __call__(self, item: Any) -> None: ...


@dataclass
class PluginInfo:
    name: str
    module: ModuleType
    distribution: str | None
    version: str | None
    builtin: bool
    registered: dict[str, list[str]] = field(default_factory=dict)

    @property
    def owner(self) -> Owner:
        return Owner(self.name, self.distribution, self.version)

    def hooks(self) -> list[str]:
        return sorted(n for n in dir(self.module) if n.startswith("segrule_"))


class _Kind:
    """One registry (dimensions, strategies, tables or presets)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.items: dict[str, Any] = {}

    def add(self, item: Any, owner: Owner) -> None:
        name = item.name
        if name in self.items:
            other = self.items[name].owner
            raise PluginConflictError(
                f"{'strategy' if self.kind == 'strategies' else self.kind[:-1]} '{name}' "
                f"is registered twice: by {other} and by {owner}; "
                "remove one of them or block a plugin with SEGRULE_PLUGINS"
            )
        item.owner = owner
        self.items[name] = item


class Registry:
    """Plugins loaded and their registries filled (``segrule.Registry``; also known by
    its first name, ``segrule.Engine``, kept for callers written against it).

    ``plugins``: extra plugin modules or import paths to load after the builtins and
    entry points. ``autoload``: read the ``segrule`` entry-point group (default: on
    unless ``SEGRULE_DISABLE_PLUGIN_AUTOLOAD`` is set). ``SEGRULE_PLUGINS=a,b``
    restricts autoloaded plugins to those names.
    """

    def __init__(
        self,
        plugins: list[str | ModuleType] | tuple[str | ModuleType, ...] = (),
        *,
        autoload: bool | None = None,
    ) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.dimensions = _Kind("dimensions")
        self.strategies = _Kind("strategies")
        self.tables = _Kind("tables")
        self.presets = _Kind("presets")
        from segrule.version import __version__

        for path in BUILTIN_PLUGINS:
            # Named "segrule.<part>" so that conflict messages say where a name comes from.
            name = "segrule." + path.rsplit(".", 1)[-1]
            self._add_module(importlib.import_module(path), name, "segrule", __version__, True)
        if autoload is None:
            autoload = not os.environ.get("SEGRULE_DISABLE_PLUGIN_AUTOLOAD")
        if autoload:
            self._load_entry_points()
        installed: dict[str, tuple[str, str | None, str | None]] | None = None
        for plugin in plugins:
            module = _import_plugin(plugin) if isinstance(plugin, str) else plugin
            if any(i.module is module and i.distribution for i in self.plugins.values()):
                continue  # autoloaded already: naming it again is not a conflict
            if installed is None:
                installed = _installed_plugins()
            path = plugin if isinstance(plugin, str) else module.__name__
            # A module that an installed entry point names keeps that plugin's name and
            # distribution, so messages read the same with or without autoload.
            name, dist, version = installed.get(path, (path, None, None))
            self._add_module(module, name, dist, version, False)
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            info = next((i for i in self.plugins.values() if i.module is exc.plugin), None)
            who = info.owner if info else f"plugin {exc.plugin!r}"
            raise PluginError(
                f"{who} has an unknown hook: {exc}; "
                "hook names are listed in segrule.plugins.hookspecs"
            ) from None
        self._register_all()

    # -- loading -------------------------------------------------------------
    def _load_entry_points(self) -> None:
        allowed = os.environ.get("SEGRULE_PLUGINS")
        allow = {a.strip() for a in allowed.split(",") if a.strip()} if allowed else None
        seen: dict[str, str] = {}
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            dist = ep.dist.name if ep.dist else None
            version = ep.dist.version if ep.dist else None
            if ep.name in seen:
                raise PluginConflictError(
                    f"plugin name '{ep.name}' is used by two distributions: {seen[ep.name]} "
                    f"and {dist}; uninstall one of them"
                )
            seen[ep.name] = dist or "?"
            if allow is not None and ep.name not in allow:
                continue
            try:
                module = ep.load()
            except Exception as exc:  # a broken third-party plugin must not be a bare traceback
                raise PluginError(
                    f"plugin '{ep.name}' (distribution {dist}) failed to import: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            self._add_module(module, ep.name, dist, version, False)

    def _add_module(
        self, module: ModuleType, name: str, dist: str | None, version: str | None, builtin: bool
    ) -> None:
        if name in self.plugins:
            raise PluginConflictError(f"plugin '{name}' is loaded twice")
        try:
            self.pm.register(module, name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            owner = Owner(name, dist, version)
            raise PluginError(f"{owner} cannot be registered: {exc}") from None
        self.plugins[name] = PluginInfo(name, module, dist, version, builtin)

    def _register_all(self) -> None:
        kinds = {
            "segrule_register_tables": self.tables,
            "segrule_register_dimensions": self.dimensions,
            "segrule_register_strategies": self.strategies,
            "segrule_register_presets": self.presets,
        }
        for hook_name, kind in kinds.items():
            # Called per plugin so that a failure is attributed to its plugin.
            for info in self.plugins.values():
                impl = getattr(info.module, hook_name, None)
                if impl is None:
                    continue
                names: list[str] = info.registered.setdefault(kind.kind, [])

                def register(
                    item: Any,
                    _info: PluginInfo = info,
                    _names: list[str] = names,
                    _kind: _Kind = kind,
                ) -> None:
                    _kind.add(item, _info.owner)
                    _names.append(item.name)

                t0 = time.perf_counter()
                try:
                    impl(register=register)
                    _trace(hook_name, info, t0, f"registered {len(names)} {kind.kind}")
                except PluginConflictError:
                    raise
                except Exception as exc:
                    raise PluginError(
                        f"{info.owner} raised in {hook_name}: {type(exc).__name__}: {exc}"
                    ) from exc

    # -- lookups -------------------------------------------------------------
    def prepare_table(self, name: str, frame: Any, context: Any) -> Any:
        for info in self.plugins.values():
            impl = getattr(info.module, "segrule_prepare_table", None)
            if impl is None:
                continue
            t0 = time.perf_counter()
            try:
                out = impl(name=name, frame=frame, context=context)
                _trace(
                    "segrule_prepare_table",
                    info,
                    t0,
                    f"table {name}: " + ("unchanged" if out is None else "replaced"),
                )
            except Exception as exc:
                raise PluginError(
                    f"{info.owner} raised in segrule_prepare_table for table '{name}': "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            if out is not None:
                frame = out
        return frame

    def strategy(self, name: str, where: str | None = None) -> Any:
        try:
            return self.strategies.items[name]
        except KeyError:
            raise RuleSetError(
                f"unknown strategy '{name}'{did_you_mean(name, self.strategies.items)}",
                where=where,
            ) from None

    def preset(self, name: str) -> Any:
        try:
            return self.presets.items[name]
        except KeyError:
            raise RuleSetError(
                f"unknown preset '{name}'{did_you_mean(name, self.presets.items)}; "
                "`segrule presets` lists them"
            ) from None

    def find_dimension(self, name: str) -> tuple[Any, dict[str, str]] | None:
        """The registered dimension whose name or pattern matches ``name``, and the match groups."""
        item = self.dimensions.items.get(name)
        if item is not None and item.pattern is None:
            return item, {}
        for dim in self.dimensions.items.values():
            if dim.pattern is not None:
                m = re.fullmatch(dim.pattern, name)
                if m:
                    return dim, m.groupdict()
        return None


def _trace(hook: str, info: PluginInfo, t0: float, what: str) -> None:
    """With SEGRULE_TRACE_PLUGINS=1, log each hook call to stderr: who, how long, what."""
    if os.environ.get("SEGRULE_TRACE_PLUGINS"):
        ms = (time.perf_counter() - t0) * 1000
        print(f"segrule: {hook} {info.name}: {what} ({ms:.1f} ms)", file=sys.stderr)


def _installed_plugins() -> dict[str, tuple[str, str | None, str | None]]:
    """Module path -> (entry-point name, distribution, version) of installed plugins."""
    found: dict[str, tuple[str, str | None, str | None]] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist else None
        found.setdefault(ep.value, (ep.name, dist, ep.dist.version if ep.dist else None))
    return found


def _import_plugin(path: str) -> ModuleType:
    try:
        return importlib.import_module(path)
    except Exception as exc:
        raise PluginError(
            f"plugin module '{path}' could not be imported: {type(exc).__name__}: {exc}"
        ) from exc


#: The first name of :class:`Registry` (it is not a polars engine): kept so that code
#: written against ``segrule.Engine`` keeps working.
Engine = Registry
