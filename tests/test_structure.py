"""The package's shape, as the maintainers promised it: small modules, short functions, few parameters."""
import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "crepe"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_MODULE_LINES, MAX_BODY_LINES, MAX_PARAMETERS = 400, 60, 8


def functions(path):
    """Every function and method of a module, as (name, node)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [(node.name, node) for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def body_lines(node):
    """Lines of a function's body, its docstring left out."""
    body = node.body[1:] if ast.get_docstring(node) is not None and len(node.body) > 1 else node.body
    return body[-1].end_lineno - body[0].lineno + 1


def parameters(node):
    names = [a.arg for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs]
    return [name for name in names if name not in ("self", "cls")]


@pytest.mark.parametrize("path", MODULES, ids=[path.relative_to(PACKAGE).as_posix() for path in MODULES])
def test_module_is_at_most_400_lines(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_MODULE_LINES


@pytest.mark.parametrize("path", MODULES, ids=[path.relative_to(PACKAGE).as_posix() for path in MODULES])
def test_module_functions_are_at_most_60_lines(path):
    long = [(name, body_lines(node)) for name, node in functions(path) if body_lines(node) > MAX_BODY_LINES]
    assert not long


@pytest.mark.parametrize("path", MODULES, ids=[path.relative_to(PACKAGE).as_posix() for path in MODULES])
def test_module_functions_take_at_most_8_parameters(path):
    many = [(name, len(parameters(node))) for name, node in functions(path) if len(parameters(node)) > MAX_PARAMETERS]
    assert not many


def test_package_never_asks_a_network_whether_it_has_a_vocabulary():
    assert not [path.name for path in MODULES if 'hasattr(' in path.read_text(encoding="utf-8")
                and '"vocab"' in path.read_text(encoding="utf-8")]
