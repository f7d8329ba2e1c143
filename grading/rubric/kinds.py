"""The registry of rubric kinds: one ``Kind`` per ``kind:`` value, holding its parameters (name, type,
default, meaning), its grader and its documentation, as CTFd registers challenge types.

The engine grades through ``REGISTRY[kind].grader``, the scenario checker validates parameters through
``Kind.check`` and docs/scenarios.md's table of kinds is ``docs_table()``: one place, so they cannot
drift apart again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

COMMON_PARAMS = ("id", "kind", "label", "points", "norm", "source")

# Parameter types the scenario checker understands. "phrases": a list of strings or a single string;
# "phrases_or_intent": true, a list of phrases or an intent id; "scope": a scope name or reply_to:<turn>.
TYPES = ("int", "number", "str", "bool", "phrases", "phrases_or_intent", "groups", "scope", "list", "mapping",
         "entries")


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: Any = None
    doc: str = ""
    choices: tuple = ()

    def check(self, value: Any) -> str | None:
        """A Chinese problem description, or None when ``value`` fits."""
        t = self.type
        ok = True
        if t == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif t == "number":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif t == "str" or t == "scope":
            ok = isinstance(value, str) and bool(value)
        elif t == "bool":
            ok = isinstance(value, bool)
        elif t == "phrases":
            ok = isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))
        elif t == "phrases_or_intent":
            ok = value is True or isinstance(value, str) or (
                isinstance(value, list) and all(isinstance(v, str) for v in value))
        elif t == "groups":
            ok = isinstance(value, list) and all(isinstance(g, str) or (isinstance(g, list) and all(
                isinstance(v, str) for v in g)) for g in value)
        elif t == "list":
            ok = isinstance(value, list)
        elif t == "mapping":
            ok = isinstance(value, Mapping)
        elif t == "entries":
            ok = isinstance(value, list) and all(isinstance(e, str) or (isinstance(e, Mapping) and e.get("phrase"))
                                                 for e in value)
        if not ok:
            return f"类型应为 {t}"
        if self.choices and value not in self.choices:
            return f"必须是 {'、'.join(map(str, self.choices))} 之一"
        return None


@dataclass(frozen=True)
class Kind:
    name: str
    grader: Callable
    params: tuple[Param, ...]
    doc: str
    live_only: bool = False
    extra: Mapping = field(default_factory=dict)

    @property
    def param_names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.params)

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)

    def value(self, item: Mapping, name: str) -> Any:
        """The item's value of a parameter, or the registered default."""
        value = item.get(name)
        return self.param(name).default if value is None else value

    def check(self, item: Mapping) -> list[tuple[str, str]]:
        """(parameter, problem) for unknown parameters and values of the wrong type."""
        out = []
        for key in sorted(set(item) - set(COMMON_PARAMS) - self.param_names):
            out.append((key, f"{self.name} 评分项没有这个参数"))
        for p in self.params:
            if p.name in item and item[p.name] is not None:
                problem = p.check(item[p.name])
                if problem:
                    out.append((p.name, problem))
        return out


REGISTRY: dict[str, Kind] = {}


def register(name: str, *params: Param, doc: str, live_only: bool = False):
    """Decorator: register ``grader(ctx, item) -> ItemResult`` as the kind ``name``."""
    def deco(grader: Callable) -> Callable:
        if name in REGISTRY:
            raise ValueError(f"rubric kind {name!r} registered twice")
        REGISTRY[name] = Kind(name, grader, tuple(params), doc.strip(), live_only)
        return grader
    return deco


def docs_table() -> str:
    """The markdown table of kinds and parameters (docs/scenarios.md embeds it)."""
    lines = ["| kind | parameters (type, default) | how it scores |", "|---|---|---|"]
    for kind in sorted(REGISTRY.values(), key=lambda k: k.name):
        params = "; ".join(f"`{p.name}` ({p.type}{'' if p.default is None else ', ' + str(p.default)})"
                           for p in kind.params) or "—"
        lines.append(f"| `{kind.name}` | {params} | {' '.join(kind.doc.split())} |")
    return "\n".join(lines)
