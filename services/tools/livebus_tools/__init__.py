"""livebus tools: the model's function calls, answered over NATS (docs/adding-a-tool.md).

Write a tool::

    from livebus_tools import tool

    @tool(timeout=5)
    async def add(a: int, b: int) -> int:
        \"\"\"Add two numbers.

        Args:
            a: The first number.
            b: The second number.
        \"\"\"
        return a + b
"""

from .context import Resource, ResourceEnv, ToolContext, ToolError, resource
from .registry import Registry, Tool, tool

__all__ = ["Registry", "Resource", "ResourceEnv", "Tool", "ToolContext", "ToolError", "resource",
           "tool"]
