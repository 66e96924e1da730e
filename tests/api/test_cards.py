"""A model card's media types: which one a client prefers, and the HTML fragment."""

import pytest

from mlapi.api.cards import prefers_html, to_html


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (None, False),
        ("", False),
        ("*/*", False),
        ("text/markdown", False),
        ("text/html", True),
        ("TEXT/HTML", True),
        ("text/*", False),
        ("application/json", False),
        ("text/html;q=0.5, text/markdown", False),
        ("text/html, text/markdown;q=0.9", True),
        ("text/html;q=0, */*", False),
        ("text/html;q=0.4, */*;q=0.3", True),
        ("text/*;q=0.9, text/html;q=0.2", False),  # the most specific range decides
        ("text/html;q=nonsense, text/markdown;q=0.1", False),
        ("text/html;level=1;q=0.8, text/markdown;q=0.7", True),
    ],
)
def test_html_only_when_the_client_prefers_it_to_markdown(accept: str | None, html: bool) -> None:
    assert prefers_html(accept) is html


def test_html_fragment_has_no_inline_style_and_no_raw_html() -> None:
    markdown = "# Card\n\n| a | b |\n| :-: | --: |\n| <i>x</i> | 2 |\n\n<script>alert(1)</script>\n"

    html = to_html(markdown)

    assert html.startswith("<h1>Card</h1>\n<table>\n<thead>\n<tr>\n<th>a</th>")
    assert "<td>&lt;i&gt;x&lt;/i&gt;</td>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "style=" not in html
    assert "<script" not in html
