"""The layers stay apart, checked on the source (so it holds for files added later too).

- `handlers/domain/` is pure: no Slack, no database, no LLM client, and nothing of ours outside itself
  (not `storage`, `bot`, `prompts` or the rest of `handlers`). It is the core every layer uses.
- Only `storage/` talks SQLAlchemy; bot/, handlers/ and prompts/ go through a `Store`.
- The one direction between the two: `storage/` maps its rows onto the domain's types, so it may import
  `handlers.domain` and nothing else of ours (no `bot`, no listeners, no `prompts`).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = ROOT / "handlers" / "domain"
DOMAIN_FORBIDDEN = {"slack_sdk", "slack_bolt", "sqlalchemy", "alembic", "openai", "storage"}
SQL_FORBIDDEN = {"sqlalchemy", "alembic"}  # alembic is SQLAlchemy's migration layer: storage's business too
APP_PACKAGES = ["bot", "handlers", "prompts"]  # storage/ may; tests/ and bench/ are not the app
OURS = {"bot", "handlers", "storage", "prompts"}  # our own top-level packages


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) for every import in the file, wherever it sits (functions,
    `if TYPE_CHECKING:` blocks, try/except), including relative imports resolved against the
    file's package and `importlib.import_module("...")` / `__import__("...")` with a literal name."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                prefix = ".".join(base)
                mod = f"{prefix}.{node.module}" if node.module else prefix
            else:
                mod = node.module or ""
            if mod:
                found.append((node.lineno, mod))
            # `from . import storage` / `from x import y`: y may itself be a module
            found += [(node.lineno, f"{mod}.{alias.name}" if mod else alias.name) for alias in node.names]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else fn.id if isinstance(fn, ast.Name) else ""
            if name in ("import_module", "__import__"):
                found.append((node.lineno, node.args[0].value))
    return found


def offending(path: Path, forbidden: set[str]) -> list[str]:
    return [f"{path.relative_to(ROOT)}:{line} imports {mod}" for line, mod in imported_modules(path)
            if mod.split(".")[0] in forbidden]


def ours_outside(path: Path, allowed: tuple[str, ...]) -> list[str]:
    """Imports of our own packages that are not one of the `allowed` packages (or inside one)."""
    return [f"{path.relative_to(ROOT)}:{line} imports {mod}" for line, mod in imported_modules(path)
            if mod.split(".")[0] in OURS and not any(mod == a or mod.startswith(a + ".") for a in allowed)]


def storage_files() -> list[Path]:
    return sorted((ROOT / "storage").rglob("*.py"))


def domain_files() -> list[Path]:
    return sorted(DOMAIN.rglob("*.py"))


def app_files() -> list[Path]:
    return sorted(p for pkg in APP_PACKAGES for p in (ROOT / pkg).rglob("*.py"))


# -- the checker itself sees what it must ------------------------------------------------------------------

def test_the_checker_finds_every_kind_of_import(tmp_path, monkeypatch):
    pkg = tmp_path / "handlers" / "domain"
    pkg.mkdir(parents=True)
    f = pkg / "sneaky.py"
    f.write_text("import os\n"
                 "from typing import TYPE_CHECKING\n"
                 "if TYPE_CHECKING:\n    import slack_sdk.web\n"
                 "def later():\n    from sqlalchemy import text\n"
                 "from .. import storage\n"
                 "from ... import storage as s2\n"
                 "import importlib\nimportlib.import_module('openai')\n"
                 "__import__('slack_bolt')\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    found = {m for _, m in imported_modules(f)}
    assert {"os", "slack_sdk.web", "sqlalchemy", "handlers.storage", "storage", "openai", "slack_bolt"} <= found
    assert {m.split(" imports ")[1].split(".")[0] for m in offending(f, DOMAIN_FORBIDDEN)} == \
        {"slack_sdk", "sqlalchemy", "storage", "openai", "slack_bolt"}


def test_the_checker_finds_our_own_packages_outside_the_allowed_ones(tmp_path, monkeypatch):
    pkg = tmp_path / "storage"
    pkg.mkdir()
    f = pkg / "leaky.py"
    f.write_text("from handlers.domain import model\n"
                 "from handlers.domain.stalls import DealRow\n"
                 "from storage import models\n"
                 "def later():\n    from handlers.blocks import card\n"
                 "import bot.config\n"
                 "from prompts import load\n"
                 "import sqlalchemy\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert {m.split(" imports ")[1] for m in ours_outside(f, ("storage", "handlers.domain"))} == \
        {"handlers.blocks", "handlers.blocks.card", "bot.config", "prompts", "prompts.load"}


def test_storage_is_where_sqlalchemy_lives():
    """The check below would pass vacuously if the detector saw nothing: storage/ must show up."""
    hits = [h for p in sorted((ROOT / "storage").rglob("*.py")) for h in offending(p, SQL_FORBIDDEN)]
    assert hits, "no SQLAlchemy import found in storage/: the layering checks are looking in the wrong place"


# -- the rules -------------------------------------------------------------------------------------------

def test_domain_modules_import_no_slack_database_or_llm():
    files = domain_files()
    assert len(files) >= 5, f"expected the domain package at {DOMAIN}, found {files}"
    bad = [line for p in files for line in offending(p, DOMAIN_FORBIDDEN)]
    assert not bad, "handlers/domain/ must stay pure:\n  " + "\n  ".join(bad)


def test_only_storage_imports_sqlalchemy():
    files = app_files()
    assert any(p.parts[-2] == "bot" for p in files) and any(p.parts[-2] == "handlers" for p in files)
    bad = [line for p in files for line in offending(p, SQL_FORBIDDEN)]
    assert not bad, "only storage/ may import SQLAlchemy:\n  " + "\n  ".join(bad)


def test_the_domain_imports_nothing_of_ours_outside_itself():
    bad = [line for p in domain_files() for line in ours_outside(p, ("handlers.domain",))]
    assert not bad, "handlers/domain/ is the core: it may not import the layers built on it:\n  " + "\n  ".join(bad)


def test_storage_imports_the_domain_and_nothing_else_of_ours():
    files = storage_files()
    assert any(line for p in files for line in ours_outside(p, ("storage",))), \
        "storage/ maps rows onto handlers.domain types: the check below is looking in the wrong place"
    bad = [line for p in files for line in ours_outside(p, ("storage", "handlers.domain"))]
    assert not bad, "storage/ may import handlers.domain, nothing else of ours:\n  " + "\n  ".join(bad)


def test_importing_storage_loads_no_slack_llm_or_other_layer():
    """The same at run time, transitively: the domain modules storage uses drag nothing else in."""
    code = ("import json, sys, storage, storage.queries; "
            "print(json.dumps(sorted(m for m in sys.modules)))")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    loaded = json.loads(r.stdout.strip().splitlines()[-1])
    assert "handlers.domain.model" in loaded  # the check sees the domain being loaded
    foreign = [m for m in loaded if m.split(".")[0] in {"slack_sdk", "slack_bolt", "openai", "bot", "prompts"}
               or (m.startswith("handlers.") and not m.startswith("handlers.domain"))]
    assert not foreign, f"importing storage loads {foreign}"


@pytest.mark.parametrize("module", [module_name(p) for p in domain_files()])
def test_importing_a_domain_module_loads_no_slack_database_or_llm(module):
    """The same rule at run time, transitively: a domain module that imported e.g. `handlers.blocks`
    would drag slack_sdk in without naming it. A fresh interpreter per module."""
    code = ("import importlib, json, sys; importlib.import_module(sys.argv[1]); "
            "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))")
    r = subprocess.run([sys.executable, "-c", code, module], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"{module} failed to import:\n{r.stderr[-2000:]}"
    loaded = set(json.loads(r.stdout.strip().splitlines()[-1]))
    assert not (loaded & DOMAIN_FORBIDDEN), f"importing {module} loads {sorted(loaded & DOMAIN_FORBIDDEN)}"
