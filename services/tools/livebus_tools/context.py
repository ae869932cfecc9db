"""What a handler may ask for besides its arguments: who called, and the service's resources."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from nats.aio.client import Client as NATS

from .settings import ToolsSettings

T = TypeVar("T")


class ToolError(Exception):
    """Raise from a handler to answer the model with this message (error code "tool_error")."""


@dataclass(frozen=True)
class ResourceEnv:
    """Given to resource factories when the service starts."""

    nc: NATS
    settings: ToolsSettings


@dataclass(frozen=True, eq=False)
class Resource(Generic[T]):
    """Something opened once per replica at start (a DB pool, a KV bucket), closed at stop."""

    name: str
    factory: Callable[[ResourceEnv], contextlib.AbstractAsyncContextManager[T]]


def resource(fn: Callable[[ResourceEnv], AsyncIterator[T]]) -> Resource[T]:
    """Decorate an async generator: the code before `yield` opens, the code after closes."""
    return Resource(fn.__name__, contextlib.asynccontextmanager(fn))


class Resources:
    """The opened resources of one replica."""

    def __init__(self) -> None:
        self._values: dict[Resource[Any], Any] = {}
        self._stack = contextlib.AsyncExitStack()

    async def open(self, items: list[Resource[Any]], env: ResourceEnv) -> None:
        for r in items:
            if r not in self._values:
                self._values[r] = await self._stack.enter_async_context(r.factory(env))

    def get(self, r: Resource[T]) -> T:
        try:
            return cast(T, self._values[r])
        except KeyError:
            raise LookupError(f"resource {r.name!r} is not loaded") from None

    async def close(self) -> None:
        await self._stack.aclose()
        self._values.clear()


@dataclass(frozen=True)
class ToolContext:
    """Declare a parameter of this type to receive it; it is not part of the declaration."""

    call_id: str
    name: str
    user: str          # from the session's token claims, set by the bridge
    session_id: str
    deadline_s: float  # how long the handler may run
    resources: Resources = field(repr=False)

    def get(self, r: Resource[T]) -> T:
        return self.resources.get(r)
