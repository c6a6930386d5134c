"""criteria/ and conversations/ never import telegram; criteria/ does no I/O."""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import conversations
import criteria

ROOT = Path(__file__).resolve().parent.parent


def _imports(package_dir: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in package_dir.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def test_no_module_of_criteria_or_conversations_imports_telegram_or_bot():
    for package in ("criteria", "conversations"):
        for path, names in _imports(ROOT / package).items():
            assert not names & {"telegram", "bot"}, f"{path} imports {names & {'telegram', 'bot'}}"


def test_criteria_imports_no_io_modules():
    io_modules = {"sqlite3", "sqlite_utils", "socket", "httpx", "os", "subprocess", "logging", "pathlib"}
    for path, names in _imports(ROOT / "criteria").items():
        assert not names & io_modules, f"{path} imports {names & io_modules}"


def test_importing_every_core_module_loads_no_telegram():
    modules = [f"criteria.{m.name}" for m in pkgutil.iter_modules(criteria.__path__)]
    modules += [f"conversations.{m.name}" for m in pkgutil.iter_modules(conversations.__path__)]
    code = ("import importlib, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "bad = sorted(m for m in sys.modules if m == 'telegram' or m.startswith('telegram.'))\n"
            "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == ""
    assert len(modules) > 15
