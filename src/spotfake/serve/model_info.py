"""What GET /v1/models says about the loaded detector: its spec and a summary of its model card."""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spotfake.models.base import Detector

_BULLET = re.compile(r"^- \*\*(?P<title>.+?)\*\*\s*(?P<text>.*)$")
_MARKUP = re.compile(r"`|\*\*")  # inline code and bold: plain text on the page


def read_model_card(weights: Path) -> str | None:
    """The model card (WEIGHTS.md) beside a weights file, or None when the model has none."""
    card = weights.with_suffix(".md")
    return card.read_text(encoding="utf-8") if card.is_file() else None


def sections(markdown: str) -> dict[str, list[str]]:
    """Lines under each heading ('' holds the title line and what precedes the first '## ')."""
    out: dict[str, list[str]] = {"": []}
    current = ""
    for line in markdown.splitlines():
        if line.startswith("## "):
            current = line[3:].strip()
            out[current] = []
        else:
            out[current].append(line)
    return out


def _paragraphs(lines: list[str]) -> list[str]:
    """Paragraphs of plain text (tables and headings left out), each joined into one line."""
    paragraphs, current = [], []
    for line in [*lines, ""]:
        text = line.strip()
        if text and not text.startswith(("|", "#")):
            current.append(text)
        elif current:
            paragraphs.append(_MARKUP.sub("", " ".join(current)))
            current = []
    return paragraphs


def _bullets(lines: list[str]) -> list[dict[str, str]]:
    """'- **Title.** text' items (continued over indented lines) as {title, text}."""
    items: list[dict[str, str]] = []
    for line in lines:
        match = _BULLET.match(line.strip())
        if match:
            title = match["title"].rstrip(".").strip()
            items.append({"title": title, "text": _MARKUP.sub("", match["text"].strip())})
        elif items and line.startswith("  ") and line.strip():
            items[-1]["text"] += " " + _MARKUP.sub("", line.strip())
    return items


def card_summary(markdown: str) -> dict[str, Any]:
    """Title, opening paragraph, known failures and intended use (as plain text), and the card."""
    parts = sections(markdown)
    head = parts[""]
    title = next((line[2:].strip() for line in head if line.startswith("# ")), "")
    opening = _paragraphs(head)
    return {
        "title": title,
        "summary": opening[0] if opening else "",
        "known_failures": _bullets(parts.get("Known failures", [])),
        "intended_use": " ".join(_paragraphs(parts.get("Intended use", []))),
        "markdown": markdown,
    }


def model_payload(detector: Detector, card: str | None, device: str) -> dict[str, Any]:
    """The loaded model as GET /v1/models reports it."""
    spec = detector.spec
    return {
        "name": spec.display_name,
        "model_hash": detector.model_hash,
        "threshold": spec.threshold,
        "device": device,
        "spec": asdict(spec),
        "card": None if card is None else card_summary(card),
    }
