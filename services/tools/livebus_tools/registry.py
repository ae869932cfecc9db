"""`@tool`: a typed function becomes a declared tool; the registry of the tools a replica serves."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Generic, ParamSpec, TypeVar, overload

from jsonschema import Draft202012Validator

from livebus.toolcalls import TOOL_NAME_RE, Behavior, Scheduling, ToolSpec

from . import declaration
from .context import Resource

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(eq=False)
class Tool(Generic[P, R]):
    fn: Callable[P, R]
    name: str
    description: str
    parameters: dict[str, Any]
    timeout_s: float
    behavior: Behavior
    scheduling: Scheduling | None
    optional: set[str] = field(default_factory=set)
    context_param: str | None = None
    uses: tuple[Resource[Any], ...] = ()
    validator: Draft202012Validator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not TOOL_NAME_RE.match(self.name):
            raise ValueError(f"tool name {self.name!r}: letters, digits, _ and -, at most 64")
        if self.timeout_s <= 0:
            raise ValueError(f"tool {self.name}: timeout must be > 0")
        if self.scheduling is not None and self.behavior != "NON_BLOCKING":
            raise ValueError(f"tool {self.name}: scheduling applies to NON_BLOCKING tools only")
        Draft202012Validator.check_schema(self.parameters)
        self.validator = Draft202012Validator(self.parameters)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self.fn(*args, **kwargs)

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.fn)

    def declaration(self) -> dict[str, Any]:
        """Gemini FunctionDeclaration, wire JSON."""
        d: dict[str, Any] = {"name": self.name, "description": self.description,
                             "parametersJsonSchema": self.parameters}
        if self.behavior == "NON_BLOCKING":
            d["behavior"] = "NON_BLOCKING"
        return d

    def spec(self) -> ToolSpec:
        s: ToolSpec = {"declaration": self.declaration(), "timeout_s": self.timeout_s,
                       "behavior": self.behavior}
        if self.scheduling is not None:
            s["scheduling"] = self.scheduling
        return s


@overload
def tool(fn: Callable[P, R], /) -> Tool[P, R]: ...
@overload
def tool(*, name: str | None = None, description: str | None = None,
         parameters: dict[str, Any] | None = None, timeout: float = 10.0,
         behavior: Behavior = "BLOCKING", scheduling: Scheduling | None = None,
         uses: Iterable[Resource[Any]] = ()) -> Callable[[Callable[P, R]], Tool[P, R]]: ...


def tool(fn: Callable[P, R] | None = None, /, *, name: str | None = None,
         description: str | None = None, parameters: dict[str, Any] | None = None,
         timeout: float = 10.0, behavior: Behavior = "BLOCKING",
         scheduling: Scheduling | None = None,
         uses: Iterable[Resource[Any]] = ()) -> Tool[P, R] | Callable[[Callable[P, R]], Tool[P, R]]:
    """Declare a tool from a typed function (sync or async) with a Google-style docstring.

    The description is the docstring's text before its sections; each parameter's description
    comes from the `Args:` section. `parameters` replaces the derived JSON schema. `uses` lists
    the resources the tool needs (opened when the service starts).
    """

    def wrap(f: Callable[P, R]) -> Tool[P, R]:
        derived, optional, ctx_param = declaration.parameters_schema(f)
        desc, _ = declaration.parse_docstring(f.__doc__)
        return Tool(fn=f, name=name or f.__name__, description=description or desc,
                    parameters=parameters or derived, timeout_s=timeout, behavior=behavior,
                    scheduling=scheduling, optional=optional, context_param=ctx_param,
                    uses=tuple(uses))

    return wrap(fn) if fn is not None else wrap


class Registry:
    """The tools (and the resources they use) one replica serves."""

    def __init__(self, tools: Iterable[Tool[..., Any]] = ()) -> None:
        self.tools: dict[str, Tool[..., Any]] = {}
        for t in tools:
            self.add(t)

    def add(self, t: Tool[..., Any]) -> None:
        if t.name in self.tools and self.tools[t.name] is not t:
            raise ValueError(f"two tools are named {t.name!r}")
        self.tools[t.name] = t

    def add_module(self, module: ModuleType) -> int:
        found = [v for v in vars(module).values() if isinstance(v, Tool)]
        for t in found:
            self.add(t)
        return len(found)

    def load(self, module_name: str) -> int:
        """Import a module by dotted path and add every tool defined (or imported) in it."""
        n = self.add_module(importlib.import_module(module_name))
        if n == 0:
            raise ValueError(f"module {module_name!r} defines no @tool")
        return n

    @property
    def resources(self) -> list[Resource[Any]]:
        seen: dict[Resource[Any], None] = {}
        for t in self.tools.values():
            for r in t.uses:
                seen[r] = None
        return list(seen)

    def specs(self) -> list[ToolSpec]:
        return [t.spec() for t in self.tools.values()]
