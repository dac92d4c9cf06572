"""The shape of the code, checked: no import cycles anywhere in `teambot/`, and the core
depends on nothing outside itself (no adapter, no composition root, no web or chat library).

Every import counts, including those inside functions and under TYPE_CHECKING: a lazy import
that breaks a cycle at run time still ties the two modules together for a reader.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "teambot"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(name: str) -> set[str]:
    """Every teambot module `name` imports; `from pkg import mod` names the module itself."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(), str(path))
    is_pkg = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_pkg else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: imports_of(name) for name in MODULES}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(graph, white)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = grey
        stack.append(node)
        for nxt in sorted(graph[node]):
            if colour[nxt] == grey:
                return [*stack[stack.index(nxt) :], nxt]
            if colour[nxt] == white and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        colour[node] = black
        return None

    for node in sorted(graph):
        if colour[node] == white and (cycle := visit(node)):
            return cycle
    return None


def test_the_checker_sees_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_graph_is_read_from_the_code() -> None:
    assert "teambot.core.cases.service" in GRAPH["teambot.core.cases.handlers"]
    assert "teambot.core.commands.intents" in GRAPH["teambot.core.cases.handlers"]


def test_no_import_cycle_anywhere_in_teambot() -> None:
    cycle = find_cycle(GRAPH)
    assert cycle is None, " -> ".join(cycle or [])


FORBIDDEN_IN_CORE = (
    "teambot.slack", "teambot.teams", "teambot.shell", "teambot.mail", "teambot.web",
    "teambot.bootstrap", "teambot.server", "teambot.cli", "teambot.config",
    "slack_bolt", "slack_sdk", "botbuilder", "aiohttp", "aiosmtplib",
)  # fmt: skip


@pytest.mark.parametrize("name", sorted(n for n in MODULES if n.startswith("teambot.core")))
def test_core_imports_no_adapter_nor_the_composition_root(name: str) -> None:
    tree = ast.parse(MODULES[name].read_text())
    named: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            named.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            named.add(node.module)
    bad = sorted(m for m in named if any(m == f or m.startswith(f + ".") for f in FORBIDDEN_IN_CORE))
    assert not bad, f"{name} imports {bad}"


# i18n: money and when read and answer in the reader's language (it imports only the kernel).
KERNEL = {"db", "errors", "money", "when", "text", "ports", "types", "migrate", "tables", "i18n"}


def test_the_kernel_imports_no_feature() -> None:
    """Imports point one way: features use the kernel, never the reverse (tables.py only
    registers every feature's tables for Alembic)."""
    for mod in KERNEL - {"tables"}:
        name = f"teambot.core.{mod}"
        features = sorted(m for m in GRAPH[name] if m.removeprefix("teambot.core.").split(".")[0] not in KERNEL)
        assert not features, f"{name} imports {features}"
