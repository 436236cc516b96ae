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


def test_supervisor_runs_exactly_the_procfile_commands():
    """`make run` (deploy/supervisord.conf) and the Procfile start the same three commands."""
    import configparser

    procfile = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, _, command = line.partition(":")
        procfile[name] = (
            command.strip()
            .replace("${HUB_PORT:-8000}", "<port>")
            .replace("${HUB_DATA_DIR:-data}", "<data>")
        )
    conf = configparser.RawConfigParser()
    conf.read(ROOT / "deploy" / "supervisord.conf")
    supervised = {
        section.removeprefix("program:"): conf[section]["command"]
        .replace("%(ENV_HUB_PORT)s", "<port>")
        .replace("%(ENV_HUB_DATA_DIR)s", "<data>")
        for section in conf.sections()
        if section.startswith("program:")
    }
    assert supervised == procfile
    assert all(conf[f"program:{name}"]["autorestart"] == "true" for name in supervised)
