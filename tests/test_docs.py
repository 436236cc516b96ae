"""The README's provider table says what the registry holds, row for row."""

import re
from pathlib import Path

from core import catalog

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_lists_every_registered_provider_in_order():
    text = README.read_text()
    table = text[text.index("| provider | signature |") :].split("\n\n", 1)[0]
    keys = re.findall(r"^\| `([a-z_0-9]+)` \|", table, flags=re.M)
    assert keys == list(catalog.receivers())


ROOT = README.parent
IMPORT = re.compile(r"^\s*(?:from|import) (\w+)", re.M)
FORBIDDEN = {
    "core": {"webhooks", "connections", "providers", "routing", "hub"},
    "webhooks": {"providers", "routing", "hub"},
    "connections": {"providers", "routing", "hub", "webhooks"},
    "providers": {"routing", "hub"},
    "routing": {"providers", "hub"},
}


def test_imports_run_one_way_as_docs_architecture_says():
    """hub -> providers, routing -> webhooks, connections -> core (tests excepted)."""
    wrong = []
    for app, banned in FORBIDDEN.items():
        for path in (ROOT / app).rglob("*.py"):
            if "tests" in path.relative_to(ROOT).parts:
                continue
            for module in IMPORT.findall(path.read_text()):
                if module in banned:
                    wrong.append(f"{path.relative_to(ROOT)} imports {module}")
    assert wrong == []
