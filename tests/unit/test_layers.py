"""Imports flow one way (handlers → services → store / integrations → domain): a test, so no arrow runs back up."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "chalicelib"

FORBIDDEN = {  # layer → what its modules may not import
    "domain": ("chalicelib", "boto3", "botocore", "pynamodb", "chalice", "jsonschema", "aws_lambda_powertools", "holidays"),
    "services": ("chalicelib.store", "chalicelib.handlers", "chalicelib.bootstrap", "boto3", "botocore", "pynamodb",
                 "chalice"),
    "store": ("chalicelib.services", "chalicelib.handlers", "chalicelib.bootstrap"),
    "integrations": ("chalicelib.services", "chalicelib.handlers", "chalicelib.bootstrap", "chalicelib.store"),
}


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer: str) -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / layer).glob("*.py"))
        for name in imports(path)
        if within(name, FORBIDDEN[layer]) or (layer == "domain" and name.split(".")[0] not in sys.stdlib_module_names)
    ]
    assert not wrong, wrong
