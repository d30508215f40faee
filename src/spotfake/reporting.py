"""Reports as pages: sections of text, tables, images and thumbnail galleries, rendered to
Markdown and to one HTML page (plots and thumbnails are files beside it). ``evaluate`` and
``audit`` both write theirs with it."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any

Table = tuple[str, list[str], list[list[str]]]  # (caption, header, rows)


@dataclass
class Section:
    """A part of the report: text, tables, images and galleries, rendered to Markdown and HTML.

    A gallery has ``dataset``, ``group``, ``mistakes`` and ``correct``: lists of tiles with
    ``thumb`` (a file), ``path``, ``label`` and ``score``.
    """

    heading: str
    text: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    images: list[tuple[str, str]] = field(default_factory=list)  # (file, caption)
    galleries: list[Any] = field(default_factory=list)


def to_markdown(title: str, intro: list[str], sections: list[Section]) -> str:
    """The report in Markdown; plots and thumbnails linked as files beside it."""
    lines = [f"# {title}", ""] + [f"{line}\n" for line in intro]
    for section in sections:
        lines += [f"## {section.heading}", ""] + [f"{t}\n" for t in section.text]
        for caption, header, rows in section.tables:
            lines += [f"**{caption}**", ""] if caption else []
            lines.append("| " + " | ".join(header) + " |")
            lines.append("|" + "---|" * len(header))
            lines += ["| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in rows]
            lines.append("")
        lines += [f"![{caption}]({name})\n" for name, caption in section.images]
        for gallery in section.galleries:
            lines += [f"### {gallery.dataset} / {gallery.group}", ""]
            for kind, tiles in (("Most confident mistakes", gallery.mistakes),
                                ("Most confident correct calls", gallery.correct)):  # fmt: skip
                cells = [f"[{_tile_caption(t)}]({t.thumb})" for t in tiles if t.thumb]
                lines.append(f"{kind}: " + (", ".join(cells) if cells else "none") + "\n")
    return "\n".join(lines)


def _inline(text: str) -> str:
    """Escaped text with Markdown's **bold** as <strong>."""
    return re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html.escape(text))


def _tile_caption(tile: Any) -> str:
    kind = "generated" if tile.label == 1 else "real"
    return f"{kind} {tile.score:.3f}"


def to_html(title: str, intro: list[str], sections: list[Section]) -> str:
    """The report as one HTML page; plots and thumbnails referenced beside it."""
    esc = html.escape
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
    ] + [f"<p>{_inline(line)}</p>" for line in intro]
    for section in sections:
        parts.append(f"<h2>{esc(section.heading)}</h2>")
        parts += [f"<p>{_inline(t)}</p>" for t in section.text]
        for caption, header, rows in section.tables:
            parts.append(f"<table><caption>{esc(caption)}</caption><tr>")
            parts += [f"<th>{esc(h)}</th>" for h in header] + ["</tr>"]
            parts += ["<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>"
                      for row in rows]  # fmt: skip
            parts.append("</table>")
        parts += [f"<figure><img src='{esc(name)}' alt='{esc(cap)}'><figcaption>{esc(cap)}"
                  "</figcaption></figure>" for name, cap in section.images]  # fmt: skip
        for gallery in section.galleries:
            parts.append(f"<h3>{esc(gallery.dataset)} / {esc(gallery.group)}</h3>")
            for kind, tiles in (("Most confident mistakes", gallery.mistakes),
                                ("Most confident correct calls", gallery.correct)):  # fmt: skip
                parts.append(f"<h4>{kind}</h4><div class='grid'>")
                parts += [f"<figure><img src='{esc(t.thumb)}' alt='' title='{esc(t.path)}'>"
                          f"<figcaption>{esc(_tile_caption(t))}</figcaption></figure>"
                          for t in tiles if t.thumb]  # fmt: skip
                parts.append("</div>" if any(t.thumb for t in tiles) else "<p>none</p></div>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem}"
    "table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;"
    "padding:.25rem .5rem;text-align:left}caption{text-align:left;font-weight:600}"
    "img{max-width:100%}.grid{display:grid;grid-template-columns:repeat(auto-fill,"
    "minmax(170px,1fr));gap:.5rem}.grid figure{margin:0}.grid figcaption{font-size:.8rem}"
)
