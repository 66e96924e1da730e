"""A model card in two media types: its Markdown as written, or an HTML fragment of it.

The card's Markdown holds no raw HTML (:mod:`mlapi.serving.cards` escapes every name a
data set gives), and the HTML is rendered with raw HTML turned off all the same: what
a data set names comes out as text. The fragment has no ``<html>``, no script and no
``style`` attribute, so a page with a strict content security policy (the dashboard)
can insert it as it is.
"""

from markdown_it import MarkdownIt

MARKDOWN_MEDIA_TYPE = "text/markdown"
HTML_MEDIA_TYPE = "text/html"

#: CommonMark and GFM tables; raw HTML in the Markdown is rendered as text.
_RENDERER = MarkdownIt("commonmark", {"html": False}).enable("table")


def to_html(markdown: str) -> str:
    """Render a card's Markdown as an HTML fragment (``<h1>``, ``<p>``, ``<table>``...).

    Table cells lose the ``style="text-align:..."`` their Markdown alignment would give
    them: a strict content security policy refuses inline styles.
    """
    tokens = _RENDERER.parse(markdown)
    for token in tokens:
        if token.type in {"th_open", "td_open"}:
            token.attrs.pop("style", None)
    html: str = _RENDERER.renderer.render(tokens, _RENDERER.options, {})
    return html


def _quality(media_type: str, accept: str) -> float:
    """The quality ``accept`` gives ``media_type``: that of its most specific range."""
    kind = media_type.split("/")[0]
    best, specificity = 0.0, -1
    for item in accept.split(","):
        media_range, *parameters = (part.strip() for part in item.split(";"))
        rank = {media_type: 2, f"{kind}/*": 1, "*/*": 0}.get(media_range.lower(), -1)
        if rank <= specificity:
            continue
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        best, specificity = quality, rank
    return best


def prefers_html(accept: str | None) -> bool:
    """Whether an ``Accept`` header prefers HTML to Markdown (RFC 9110's quality values).

    Markdown is the default: it is answered when the header is missing, when both are
    equally acceptable (``*/*``), and when neither is (the header is then disregarded,
    as RFC 9110 allows, rather than refused with 406).
    """
    if not accept:
        return False
    return _quality(HTML_MEDIA_TYPE, accept) > _quality(MARKDOWN_MEDIA_TYPE, accept)
