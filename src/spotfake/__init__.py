"""spotfake: find AI-generated images and say how far to trust the answer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Detector", "Prediction", "__version__", "iter_predict", "load_detector", "predict"]

if TYPE_CHECKING:
    from spotfake.detect import iter_predict, load_detector, predict
    from spotfake.models.base import Detector
    from spotfake.prediction import Prediction


def __getattr__(name: str) -> Any:
    # Lazy so that `import spotfake` (and `spotfake --help`) never pays for torch.
    if name in ("load_detector", "predict", "iter_predict"):
        from spotfake import detect

        return getattr(detect, name)
    if name == "Detector":
        from spotfake.models.base import Detector

        return Detector
    if name == "Prediction":
        from spotfake.prediction import Prediction

        return Prediction
    raise AttributeError(f"module 'spotfake' has no attribute {name!r}")
