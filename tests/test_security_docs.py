"""The security pages name tests that exist: each ``tests/...py::test_name`` they cite."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs" / "security").glob("*.md"))
CITATION = re.compile(r"`(tests/[\w/]+\.py)::(\w+)(?:\[[^\]]*\])?`")


def test_the_security_pages_cite_tests() -> None:
    assert len(PAGES) == 2
    assert sum(len(CITATION.findall(page.read_text())) for page in PAGES) > 20


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_every_test_a_security_page_cites_exists(page: Path) -> None:
    missing = [
        f"{path}::{name}"
        for path, name in CITATION.findall(page.read_text())
        if not (ROOT / path).is_file()
        or not re.search(rf"^(async )?def {name}\(", (ROOT / path).read_text(), re.MULTILINE)
    ]

    assert missing == []
