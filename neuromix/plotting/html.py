"""One self-contained HTML file of text, tables and figures (what
:meth:`neuromix.NeuralModel.report` writes).

Figures are embedded as base64 PNG ``data:`` URIs and the style sheet is inline, so the
file opens from disk anywhere, with no network and no folder beside it, as MNE-Python's
``Report`` does.
"""

from __future__ import annotations

import base64
import html
import io
import re
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from neuromix._atomic import write_atomic

__all__ = ["HTMLReport", "figure_html"]

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto;
       max-width: 1100px; padding: 1.5em; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #333; padding-bottom: .3em; }
h2 { border-bottom: 1px solid #bbb; margin-top: 2em; }
nav ul { columns: 2; }
table { border-collapse: collapse; margin: .8em 0; font-size: .9em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; }
th { background: #f2f2f2; }
td:first-child, th:first-child { text-align: left; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: .9em; }
.note { background: #fff8e1; border-left: 4px solid #f0b400; padding: .5em .8em; }
code { background: #f5f5f5; padding: 0 .2em; }
"""


def figure_html(fig, caption: str = "", *, dpi: int = 90) -> str:
    """A matplotlib figure as an HTML ``<figure>`` with the PNG embedded; closes ``fig``.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> _ = ax.plot([0, 1], [1, 0])
    >>> figure_html(fig, "a line")[:53]
    '<figure><img alt="a line" src="data:image/png;base64,'
    """
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    alt = html.escape(caption or "figure", quote=True)
    text = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{alt}" src="data:image/png;base64,{data}">{text}</figure>'


def _anchor(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "section"


class HTMLReport:
    """Sections of paragraphs, tables and figures, written as one HTML file.

    Parameters
    ----------
    title : str

    Examples
    --------
    >>> import pandas as pd
    >>> report = HTMLReport("A fit")
    >>> report.section("Data")
    >>> report.text("Two subjects.")
    >>> report.table(pd.DataFrame({"units": [3, 4]}, index=["a", "b"]))
    >>> page = report.render()
    >>> page.startswith("<!DOCTYPE html>"), "<h2 id=\\"data\\">Data</h2>" in page
    (True, True)
    """

    def __init__(self, title: str):
        self.title = str(title)
        self._parts: list[str] = []
        self._sections: list[tuple[str, str]] = []

    def section(self, title: str) -> None:
        """Start a section (listed in the contents at the top)."""
        anchor = _anchor(title)
        taken = {a for a, _ in self._sections}
        while anchor in taken:
            anchor += "-x"
        self._sections.append((anchor, title))
        self._parts.append(f'<h2 id="{anchor}">{html.escape(title)}</h2>')

    def text(self, paragraph: str) -> None:
        """A paragraph of plain text (escaped)."""
        self._parts.append(f"<p>{html.escape(paragraph)}</p>")

    def note(self, paragraph: str) -> None:
        """A highlighted paragraph: what a reader should doubt or know."""
        self._parts.append(f'<p class="note">{html.escape(paragraph)}</p>')

    def table(self, frame: pd.DataFrame, caption: str = "", *, digits: int = 3) -> None:
        """A table (values rounded to ``digits``)."""
        shown = frame.copy()
        numeric = shown.select_dtypes("number").columns
        shown[numeric] = shown[numeric].round(digits)
        if caption:
            self.text(caption)
        self._parts.append(shown.to_html(border=0, na_rep="", escape=True))

    def figure(self, fig, caption: str = "") -> None:
        """A matplotlib figure, embedded (and closed)."""
        self._parts.append(figure_html(fig, caption))

    def render(self) -> str:
        """The whole page."""
        contents = "".join(
            f'<li><a href="#{a}">{html.escape(t)}</a></li>' for a, t in self._sections
        )
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{html.escape(self.title)}</title><style>{_STYLE}</style></head><body>"
            f"<h1>{html.escape(self.title)}</h1><nav><ul>{contents}</ul></nav>"
            + "\n".join(self._parts)
            + "</body></html>\n"
        )

    def write(self, path, *, overwrite: bool = False) -> Path:
        """Write the page to ``path`` (through a temporary file moved into place; an
        existing file is only replaced with ``overwrite=True``)."""
        page = self.render()
        return write_atomic(
            Path(path), lambda tmp: tmp.write_text(page, encoding="utf-8"), overwrite=overwrite
        )
