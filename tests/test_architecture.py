"""The rooms of the house and what each may import (checked from the code and in a fresh interpreter):

- criteria/: pure; imports neither conversations/ nor bot/, and no I/O module;
- conversations/dialogue/: pure, sans-IO; no telegram, no SQLite, no file or network I/O, nothing of
  records/ or bot/;
- conversations/records/: SQLite storage; no telegram, nothing of bot/.
"""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import criteria
from conversations import dialogue, records

ROOT = Path(__file__).resolve().parent.parent
IO_MODULES = {"sqlite3", "sqlite_utils", "socket", "httpx", "os", "subprocess", "logging", "pathlib", "io",
              "shutil", "tempfile", "urllib", "http", "asyncio"}


def _imports(package_dir: Path) -> dict[str, set[str]]:
    """Absolute top-level names each module imports; relative imports as "." plus the module path."""
    found: dict[str, set[str]] = {}
    for path in package_dir.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module if node.module.startswith("conversations") else node.module.split(".")[0])
            elif isinstance(node, ast.ImportFrom) and node.level == 2:
                names.add(f"..{node.module or ''}")
        found[str(path.relative_to(ROOT))] = names
    return found


def _calls_open(package_dir: Path) -> list[str]:
    out = []
    for path in package_dir.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open":
                out.append(str(path.relative_to(ROOT)))
    return out


def test_criteria_imports_neither_conversations_nor_bot_nor_io():
    for path, names in _imports(ROOT / "criteria").items():
        tops = {n.split(".")[0] for n in names}
        assert not tops & {"conversations", "bot", "telegram"}, f"{path} imports {tops}"
        assert not tops & IO_MODULES, f"{path} imports {tops & IO_MODULES}"
    assert _calls_open(ROOT / "criteria") == []


def test_the_dialogue_is_pure():
    for path, names in _imports(ROOT / "conversations" / "dialogue").items():
        tops = {n.split(".")[0] for n in names}
        assert not tops & {"telegram", "bot"}, f"{path} imports {tops}"
        assert not tops & IO_MODULES, f"{path} imports {tops & IO_MODULES}"
        assert not [n for n in names if "records" in n], f"{path} imports the records: {names}"
    assert _calls_open(ROOT / "conversations" / "dialogue") == []


def test_the_records_know_no_chat_library():
    for path, names in _imports(ROOT / "conversations" / "records").items():
        tops = {n.split(".")[0] for n in names}
        assert not tops & {"telegram", "bot"}, f"{path} imports {tops & {'telegram', 'bot'}}"


def test_the_rooms_are_where_the_modules_are():
    dialogue_modules = {m.name for m in pkgutil.iter_modules(dialogue.__path__)}
    records_modules = {m.name for m in pkgutil.iter_modules(records.__path__)}
    assert {"engine", "state", "planner", "questions", "answers", "identifiers", "migrate"} <= dialogue_modules
    assert {"store", "db", "audit", "audit_verify", "registry", "screening_log", "backup"} <= records_modules
    assert sorted(p.name for p in (ROOT / "conversations").glob("*.py")) == ["__init__.py"]


def _loaded_after_importing(modules: list[str], prefixes: tuple[str, ...]) -> list[str]:
    code = ("import importlib, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {prefixes!r})\n"
            "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return [m for m in out.stdout.strip().split(",") if m]


@pytest.mark.slow  # a process of its own
def test_importing_the_core_loads_no_telegram():
    modules = [f"criteria.{m.name}" for m in pkgutil.iter_modules(criteria.__path__)]
    modules += [f"conversations.dialogue.{m.name}" for m in pkgutil.iter_modules(dialogue.__path__)]
    modules += [f"conversations.records.{m.name}" for m in pkgutil.iter_modules(records.__path__)]
    assert len(modules) > 25
    assert _loaded_after_importing(modules, ("telegram",)) == []


@pytest.mark.slow  # a process of its own
def test_importing_the_dialogue_loads_no_sqlite():
    modules = [f"conversations.dialogue.{m.name}" for m in pkgutil.iter_modules(dialogue.__path__)]
    assert _loaded_after_importing(modules, ("sqlite3", "sqlite_utils", "_sqlite3", "telegram")) == []
