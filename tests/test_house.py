"""The house rules a newcomer relies on: short modules and functions, imports at the top, one-way layers.

The layering itself is the import-linter contract in pyproject.toml (``lint-imports`` in ``make test``);
this file checks what a contract cannot: sizes, and that the package's own imports sit at module level
(a function-local import hides an arrow of the import graph; only optional heavy dependencies may be
imported late).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "slowmem"
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def _functions(tree: ast.Module):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def test_the_rules_see_the_package():
    assert len(MODULES) > 40 and any(p.name == "cli.py" for p in MODULES)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_module_and_functions_are_short(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.name}: {lines} lines (at most {MAX_MODULE_LINES})"
    long = [f"{f.name} ({f.end_lineno - f.lineno + 1} lines, l.{f.lineno})" for f in _functions(_tree(path))
            if f.end_lineno - f.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, f"{path.name}: functions over {MAX_FUNCTION_LINES} lines: {', '.join(long)}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_own_modules_are_imported_at_module_level(path):
    late = []
    for f in _functions(_tree(path)):
        for node in ast.walk(f):
            if isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or "").startswith("slowmem")):
                late.append(f"l.{node.lineno} in {f.name}: from {'.' * node.level}{node.module or ''}")
            elif isinstance(node, ast.Import) and any(a.name.startswith("slowmem") for a in node.names):
                late.append(f"l.{node.lineno} in {f.name}: import {node.names[0].name}")
    assert not late, f"{path.name} imports slowmem modules inside functions: " + "; ".join(late)
