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
