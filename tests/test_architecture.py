"""The package's shape: the UI's one door, no import cycles, imports at the top, few named API parameters."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from gan_art.paths import REPO

PACKAGE = REPO / "gan_art"


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports(path: Path) -> list[tuple[str, ast.AST, bool]]:
    """(imported module, node, inside a function) for every import statement of a file."""
    tree = ast.parse(path.read_text())
    inside = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
              for n in ast.walk(f) if isinstance(n, ast.Import | ast.ImportFrom)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node, id(node) in inside) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.module, node, id(node) in inside))
            found += [(f"{node.module}.{alias.name}", node, id(node) in inside) for alias in node.names]
    return found


def test_the_ui_imports_only_gradio_the_facade_and_the_errors():
    allowed_ours = {"gan_art.studio", "gan_art.errors"}
    for path in (PACKAGE / "ui").glob("*.py"):
        for module, node, _ in imports(path):
            if module.startswith("gan_art.") and not module.startswith("gan_art.ui"):
                top = module if module in MODULES else module.rsplit(".", 1)[0]
                assert top in allowed_ours, f"{path.name}:{node.lineno} imports {module}"
            elif not module.startswith(("gan_art", "gradio", "__future__")):
                assert module.split(".")[0] in sys.stdlib_module_names, f"{path.name}:{node.lineno} imports {module}"


def test_no_import_cycles():
    graph = {name: set() for name in MODULES}
    for name, path in MODULES.items():
        for module, _, _ in imports(path):
            target = module if module in MODULES else None
            if target and target != name and not name.startswith(target + "."):  # a package's own __init__
                graph[name].add(target)
    visiting, done = set(), set()

    def visit(node, trail):
        if node in visiting:
            raise AssertionError("import cycle: " + " -> ".join(trail[trail.index(node):] + [node]))
        if node in done:
            return
        visiting.add(node)
        for nxt in sorted(graph[node]):
            visit(nxt, trail + [node])
        visiting.discard(node)
        done.add(node)

    for name in sorted(graph):
        visit(name, [])


def test_function_local_imports_state_their_reason():
    for path in [*PACKAGE.rglob("*.py"), REPO / "app.py"]:
        lines = path.read_text().splitlines()
        for module, node, local in imports(path):
            if local:
                above = node.lineno - 2
                while lines[above].strip().startswith(("import ", "from ")):  # one comment may explain a block
                    above -= 1
                explained = "#" in lines[node.lineno - 1] or lines[above].strip().startswith("#")
                assert explained, f"{path.name}:{node.lineno} imports {module} inside a function without a reason"


@pytest.fixture(scope="module")
def api(client):
    return client.view_api(print_info=False, return_format="dict")


def test_named_endpoints_are_few_documented_and_have_at_most_8_parameters(api):
    named = api["named_endpoints"]
    assert {"/generate", "/render", "/repair", "/stylize", "/train_start", "/train_status", "/train_control"} <= set(
        named)
    for name, endpoint in named.items():
        assert len(endpoint["parameters"]) <= 8, name
        assert endpoint.get("description"), f"{name} has no docstring"
        for parameter in endpoint["parameters"]:
            assert parameter["python_type"]["description"], f"{name}: {parameter['parameter_name']} undocumented"
