"""PNG text chunks written by Stable Diffusion front ends: AUTOMATIC1111, ComfyUI, NovelAI...

Such a chunk is decisive: a camera or an editor never writes sampler settings. It is also easy
to forge or to strip (most sites strip it on upload), so its absence proves nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spotfake.provenance.finding import GENERATED, Finding, Strength
from spotfake.provenance.params import (
    comfyui_graph,
    generator_in,
    novelai_settings,
    parse_a1111,
    parse_json,
)

SIGNAL = "png-text"
# Keys that other front ends write their settings under.
_OTHER_TOOLS = {
    "invokeai_metadata": "InvokeAI",
    "invokeai_graph": "InvokeAI",
    "sd-metadata": "InvokeAI",
    "Dream": "InvokeAI",
    "fooocus_scheme": "Fooocus",
    "generation_data": "an image generator",
}


def read_png_text(texts: Mapping[str, str]) -> list[Finding]:
    """Findings from a PNG's text chunks (key -> text); empty when no generator wrote any."""
    return [
        finding
        for finding in (
            _parameters(texts),
            _comfyui(texts),
            _novelai(texts),
            _other_tools(texts),
            _software(texts),
        )
        if finding is not None
    ]


def _decisive(value: dict[str, Any], says: str) -> Finding:
    return Finding(SIGNAL, value, Strength.decisive, says, GENERATED)


def _parameters(texts: Mapping[str, str]) -> Finding | None:
    """The ``parameters`` chunk: AUTOMATIC1111-style text, or JSON from SwarmUI / Fooocus."""
    text = texts.get("parameters")
    if text is None:
        return None
    settings = parse_a1111(text)
    if settings is not None:
        value = {"tool": "AUTOMATIC1111", "key": "parameters", **settings}
        model = f", model {settings['model']}" if "model" in settings else ""
        return _decisive(value, f"AUTOMATIC1111-style generation parameters{model}")
    data = parse_json(text)
    if isinstance(data, dict):
        tool = "SwarmUI" if "sui_image_params" in data else "an image generator"
        return _decisive({"tool": tool, "key": "parameters"}, f"generation settings of {tool}")
    says = "a 'parameters' text chunk that does not parse as generation settings"
    return Finding(SIGNAL, {"key": "parameters"}, Strength.supporting, says, GENERATED)


def _comfyui(texts: Mapping[str, str]) -> Finding | None:
    if "prompt" not in texts and "workflow" not in texts:
        return None
    graph = comfyui_graph(texts.get("prompt"), texts.get("workflow"))
    if graph is None:
        key = "prompt" if "prompt" in texts else "workflow"
        says = f"a '{key}' text chunk that is not a ComfyUI graph"
        return Finding(SIGNAL, {"key": key}, Strength.supporting, says, GENERATED)
    models = f", model {', '.join(graph['models'])}" if graph["models"] else ""
    return _decisive(graph, f"ComfyUI workflow ({graph['nodes']} nodes{models})")


def _novelai(texts: Mapping[str, str]) -> Finding | None:
    settings = novelai_settings(dict(texts))
    if settings is None:
        return None
    source = f" ({settings['source']})" if "source" in settings else ""
    return _decisive(settings, f"NovelAI generation settings{source}")


def _other_tools(texts: Mapping[str, str]) -> Finding | None:
    for key, tool in _OTHER_TOOLS.items():
        if key in texts:
            return _decisive({"tool": tool, "key": key}, f"generation settings of {tool} ('{key}')")
    return None


def _software(texts: Mapping[str, str]) -> Finding | None:
    """A ``Software`` chunk naming a generator (NovelAI's is reported by _novelai)."""
    software = texts.get("Software", "")
    name = generator_in(software)
    if name is None or name == "NovelAI":
        return None
    return _decisive({"tool": name, "key": "Software"}, f"PNG Software tag names {name}")
