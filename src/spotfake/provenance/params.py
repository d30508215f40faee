"""Recognise the generation parameters that image generators and their front ends write.

AUTOMATIC1111's web UI (and its forks: Forge, SD.Next) writes ``prompt / Negative prompt: ... /
Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, Model: ...`` into a PNG
``parameters`` chunk or an EXIF UserComment; ComfyUI its node graph as JSON; NovelAI a JSON
``Comment``. Software names of generators are listed for EXIF and PNG ``Software`` tags.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Names a generator writes into a Software tag; matched as whole words, case-insensitively.
GENERATOR_NAMES = (
    "Stable Diffusion",
    "StableDiffusion",
    "AUTOMATIC1111",
    "ComfyUI",
    "InvokeAI",
    "Fooocus",
    "NovelAI",
    "Midjourney",
    "DALL-E",
    "DALL·E",
    "DALLE",
    "Adobe Firefly",
    "Imagen",
    "Ideogram",
    "Leonardo.Ai",
    "DreamStudio",
    "Bing Image Creator",
    "Craiyon",
    "NightCafe",
)
_GENERATOR_RE = re.compile(
    r"(?<![\w])(" + "|".join(re.escape(n) for n in GENERATOR_NAMES) + r")(?![\w])", re.IGNORECASE
)
_A1111_FIELD = re.compile(r'\s*([A-Za-z][\w /\-]*?):\s*("(?:[^"\\]|\\.)*"|[^,]*)(?:,|$)')
_A1111_KEYS = {
    "Model": "model",
    "Model hash": "model_hash",
    "Sampler": "sampler",
    "Steps": "steps",
    "CFG scale": "cfg_scale",
    "Seed": "seed",
    "Size": "size",
    "Version": "version",
}


def generator_in(text: str) -> str | None:
    """The generator a Software-like text names (as spelled in GENERATOR_NAMES), or None."""
    match = _GENERATOR_RE.search(text)
    if match is None:
        return None
    found = match.group(1).lower()
    return next(name for name in GENERATOR_NAMES if name.lower() == found)


def parse_a1111(text: str) -> dict[str, Any] | None:
    """The settings of an AUTOMATIC1111-style parameters text, or None when it is not one.

    The settings are the last line: comma-separated ``Key: value`` pairs, with Steps and
    Sampler or Seed among them.
    """
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return None
    fields = {key.strip(): value.strip() for key, value in _A1111_FIELD.findall(lines[-1])}
    if "Steps" not in fields or not ({"Sampler", "Seed"} & fields.keys()):
        return None
    return {short: fields[key] for key, short in _A1111_KEYS.items() if key in fields}


def parse_json(text: str) -> Any:
    """The JSON value of a text, or None when it is not JSON."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def comfyui_graph(prompt: str | None, workflow: str | None) -> dict[str, Any] | None:
    """What a ComfyUI ``prompt`` (API graph) or ``workflow`` (editor graph) says, or None.

    ``prompt`` maps node ids to ``{"class_type": ..., "inputs": {...}}``; ``workflow`` holds a
    ``nodes`` list. Model files are read from the loaders' ``ckpt_name`` / ``unet_name`` inputs.
    """
    graph = parse_json(prompt) if prompt else None
    nodes = [n for n in graph.values() if isinstance(n, dict)] if isinstance(graph, dict) else []
    typed = [n for n in nodes if "class_type" in n]
    if typed:
        models = sorted(
            {
                str(n["inputs"][key])
                for n in typed
                if isinstance(n.get("inputs"), dict)
                for key in ("ckpt_name", "unet_name")
                if isinstance(n["inputs"].get(key), str)
            }
        )
        return {"tool": "ComfyUI", "nodes": len(typed), "models": models}
    editor = parse_json(workflow) if workflow else None
    if isinstance(editor, dict) and isinstance(editor.get("nodes"), list):
        return {"tool": "ComfyUI", "nodes": len(editor["nodes"]), "models": []}
    return None


def novelai_settings(texts: dict[str, str]) -> dict[str, Any] | None:
    """What NovelAI's PNG chunks say (Software "NovelAI", a JSON Comment), or None."""
    comment = parse_json(texts.get("Comment", ""))
    settings = comment if isinstance(comment, dict) else {}
    is_novelai = texts.get("Software", "").strip() == "NovelAI"
    if not is_novelai and not ({"steps", "sampler"} <= settings.keys() and "uc" in settings):
        return None
    found: dict[str, Any] = {"tool": "NovelAI"}
    if texts.get("Source"):
        found["source"] = texts["Source"][:200]
    for key in ("steps", "sampler", "seed", "scale"):
        if key in settings and isinstance(settings[key], (str, int, float)):
            found[key] = settings[key]
    return found
