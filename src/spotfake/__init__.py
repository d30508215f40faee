"""spotfake: find AI-generated images and say how far to trust the answer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Detector", "Prediction", "__version__", "load_detector"]

if TYPE_CHECKING:
    from spotfake.detect import load_detector
    from spotfake.models.base import Detector
    from spotfake.prediction import Prediction


def __getattr__(name: str) -> Any:
    # Lazy so that `import spotfake` (and `spotfake --help`) never pays for torch.
    if name == "load_detector":
        from spotfake.detect import load_detector

        return load_detector
    if name == "Detector":
        from spotfake.models.base import Detector

        return Detector
    if name == "Prediction":
        from spotfake.prediction import Prediction

        return Prediction
    raise AttributeError(f"module 'spotfake' has no attribute {name!r}")
