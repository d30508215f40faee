"""SpectralDefense (Harder et al., IJCNN 2021): detect adversarial examples in the Fourier domain.

Two registered detectors; both score P(adversarial) with a logistic regression on standardised
Fourier features (the paper's classifier), learned in closed form by `spotfake train` from a
listing of clean (label 0) and attacked (label 1) images, e.g. ``spotfake attack``'s
``adversarial.csv``:

- ``adv-spectral-input`` (the paper's InputMFS): the magnitude spectrum of the input. The
  centre crop of side ``crop`` at native resolution (the region a crop detector sees), per
  colour channel, pixels in [0, 1]; ``log(1 + |FFT|)``, centred, and averaged over blocks into a
  ``grid`` x ``grid`` map per channel (3 grid^2 features). At 32 x 32 with grid 32 this is the
  paper's exact feature (every coefficient); on larger crops the block average keeps the energy
  of each frequency band, which is where FGSM, BIM and PGD put theirs, at a size a linear model
  can fit from a few hundred images.
- ``adv-spectral-layer`` (LayerMFS and LayerPFS): the Fourier coefficients of the protected
  detector's feature maps at several layers (timm's feature stages, or the model's children):
  ``spectrum="magnitude"`` (LayerMFS), ``"phase"`` (LayerPFS) or ``"both"``. The paper
  flattens every channel's coefficients, which for an EfficientNet at 192 px is millions of
  values; here each layer gives, for the magnitude, the channel mean of ``log(1 + |FFT|)``
  block-averaged to ``grid`` x ``grid`` plus each channel's mean over frequencies, and for the
  phase, the cross-channel phase coherence ``|mean_c exp(i phase)|`` per frequency (block-
  averaged the same way) plus each channel's coherence over frequencies. Feature maps are those
  of the detector's own views (averaged over views). The spec names the protected model and
  its weights hash; loading fails if the protected model's weights are not those.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from spotfake.errors import ModelLoadError
from spotfake.models.base import Detector, FeatureDetector
from spotfake.models.registry import register_detector
from spotfake.models.spec import DetectorSpec, InputPolicy
from spotfake.models.spectral import LogisticHead, NotFittedError, _to_numpy

SPECTRA = ("magnitude", "phase", "both")
_MIN_STD = 1e-12


class SpectralDefense(FeatureDetector):
    """Standardised Fourier features and a logistic regression; P(adversarial) in [0, 1]."""

    def __init__(self, architecture: str, config: dict[str, Any], policy: InputPolicy) -> None:
        super().__init__(DetectorSpec(architecture=architecture, config=dict(config), input=policy))
        # Balanced classes: a listing holds several attacked versions of each clean image.
        self._head = LogisticHead(
            float(config.get("C", 1.0)), int(config.get("seed", 0)), balanced=True
        )
        self._state: dict[str, np.ndarray] | None = None
        self._width: int | None = None

    def fit(self, features: np.ndarray, labels: np.ndarray | None = None) -> SpectralDefense:
        """Learn from features (N, D); labels 1 = adversarial, 0 = clean (both needed)."""
        x = np.asarray(features, dtype=np.float64)
        y = np.asarray(labels).astype(int).ravel() if labels is not None else None
        if y is None or y.shape[0] != x.shape[0] or np.unique(y).size < 2:
            raise ValueError(f"{self.spec.architecture} needs clean (0) and attacked (1) images")
        mean, std = x.mean(axis=0), x.std(axis=0)
        std = np.where(std < _MIN_STD, 1.0, std)
        head, _ = self._head.fit((x - mean) / std, y)
        self._state = {"feature_mean": mean, "feature_std": std, **head}
        self._width = x.shape[1]
        self.spec.training["fit"] = {
            "n_samples": len(y), "n_adversarial": int(y.sum()), "n_features": int(x.shape[1])
        }  # fmt: skip
        self.weights_changed()
        return self

    def score(self, images: Sequence[np.ndarray]) -> np.ndarray:
        if self._state is None:
            raise self._not_fitted()
        return self.score_features(self.features(images))

    def score_features(self, features: np.ndarray) -> np.ndarray:
        """P(adversarial) for features computed by features()."""
        if self._state is None:
            raise self._not_fitted()
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or (len(x) and x.shape[1] != self._state["feature_mean"].shape[0]):
            raise ValueError(f"expected features of width {self._width}, got {x.shape}")
        if not len(x):
            return np.empty(0)
        z = (x - self._state["feature_mean"]) / self._state["feature_std"]
        return np.clip(self._head.score(z, self._state), 0.0, 1.0)

    def state_dict(self) -> dict[str, Any]:
        import torch

        if self._state is None:
            raise self._not_fitted()
        return {name: torch.from_numpy(array.copy()) for name, array in self._state.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        expected = {"feature_mean", "feature_std", "weight", "bias"}
        if set(state) != expected:
            raise KeyError(f"expected {sorted(expected)}, got {sorted(state)}")
        arrays = {name: _to_numpy(value) for name, value in state.items()}
        width = arrays["feature_mean"].shape[0]
        if arrays["feature_std"].shape != (width,) or arrays["weight"].shape != (width,):
            raise ValueError("feature_mean, feature_std and weight must have one width")
        self._state, self._width = arrays, width
        self.weights_changed()

    def _not_fitted(self) -> NotFittedError:
        return NotFittedError(
            f"{self.spec.architecture} is not fitted: train it on clean and attacked images "
            "(spotfake train), or load saved weights"
        )


def block_average(maps: Any, grid: int) -> Any:
    """N x C x H x W -> N x C x grid x grid means over near-equal blocks (adaptive pooling; a
    side shorter than the grid repeats its values, so every image gives the same width)."""
    import torch.nn.functional as F

    return F.adaptive_avg_pool2d(maps, (grid, grid))


def log_magnitude(maps: Any) -> Any:
    """log(1 + |FFT2|) of each map, zero frequency in the centre."""
    import torch

    return torch.log1p(torch.fft.fftshift(torch.fft.fft2(maps).abs(), dim=(-2, -1)))


class InputSpectrum(SpectralDefense):
    """InputMFS: the magnitude spectrum of the input crop (see the module doc).

    ``protected`` (a model name or file) only records whose attacks the model learned, with
    that model's weights hash, so that ``spotfake detect --check-adversarial`` finds it."""

    def __init__(
        self,
        crop: int | None = 192,
        grid: int = 32,
        C: float = 1.0,
        seed: int = 0,
        protected: str | None = None,
        protected_hash: str | None = None,
    ) -> None:
        if grid < 1:
            raise ValueError("grid must be >= 1")
        config: dict[str, Any] = {"crop": crop, "grid": grid, "C": C, "seed": seed}
        if protected is not None:
            if protected_hash is None:
                from spotfake.detect import load_detector

                protected_hash = load_detector(protected, device="cpu", backend="torch").model_hash
            config.update(protected=str(protected), protected_hash=protected_hash)
        super().__init__("adv-spectral-input", config, InputPolicy(crop=crop))
        self.crop, self.grid = crop, grid

    def features(self, images: Sequence[np.ndarray]) -> np.ndarray:
        import torch

        from spotfake.models.scoring import view_boxes

        rows = []
        for image in images:
            top, left, h, w = view_boxes(image.shape[0], image.shape[1], self.spec.input)[0]
            window = np.ascontiguousarray(image[top : top + h, left : left + w, :3])
            x = torch.from_numpy(window).permute(2, 0, 1)[None].float() / 255.0
            with torch.inference_mode():
                spectrum = block_average(log_magnitude(x), self.grid)
            rows.append(spectrum.reshape(-1).double().numpy())
        return np.stack(rows) if rows else np.empty((0, 3 * self.grid * self.grid))


class LayerSpectrum(SpectralDefense):
    """LayerMFS / LayerPFS over a protected CNN detector's feature maps (see the module doc)."""

    def __init__(
        self,
        protected: str = "default",
        protected_hash: str | None = None,
        spectrum: str = "both",
        layers: Sequence[str] | None = None,
        grid: int = 8,
        C: float = 1.0,
        seed: int = 0,
    ) -> None:
        from spotfake.detect import load_detector
        from spotfake.evaluate.latents import LayerSpec, default_layers

        if spectrum not in SPECTRA:
            raise ValueError(f"spectrum must be one of {list(SPECTRA)}, not {spectrum!r}")
        model = load_detector(protected, device="cpu", backend="torch")  # its feature maps
        if not hasattr(model, "model") or not callable(getattr(model, "views", None)):
            raise ValueError(f"{protected}: the protected model must be a CNN detector")
        if protected_hash is not None and model.model_hash != protected_hash:
            raise ModelLoadError(
                f"this SpectralDefense model was trained for {protected} with weights "
                f"{protected_hash}, but {protected} now has {model.model_hash}: retrain it"
            )
        found = [s for s in default_layers(model.model) if s.name != "pre_logits"]
        chosen = [LayerSpec(name) for name in layers] if layers else found
        config = {
            "protected": str(protected), "protected_hash": model.model_hash,
            "spectrum": spectrum, "layers": [s.name for s in chosen], "grid": grid,
            "C": C, "seed": seed,
        }  # fmt: skip
        super().__init__("adv-spectral-layer", config, model.spec.input)
        self.protected: Detector = model
        self.layers = chosen
        self.spectrum = spectrum
        self.grid = grid

    def features(self, images: Sequence[np.ndarray]) -> np.ndarray:
        from spotfake.evaluate.latents import view_features

        if not len(images):
            return np.empty((0, self._width or 0))
        per_layer = view_features(self.protected, images, self.layers, reduce=self._reduce)
        return np.concatenate([per_layer[s.name] for s in self.layers], axis=1)

    def _reduce(self, output: Any, channels: int | None) -> Any:
        """One feature row per map: the layer's spectral summary (see the module doc)."""
        import torch

        if output.ndim != 4:
            raise ValueError("SpectralDefense layers must output N x C x H x W maps")
        maps = output.float()
        coefficients = torch.fft.fftshift(torch.fft.fft2(maps), dim=(-2, -1))
        parts = []
        if self.spectrum in ("magnitude", "both"):
            magnitude = torch.log1p(coefficients.abs())
            parts += [block_average(magnitude.mean(dim=1, keepdim=True), self.grid).flatten(1),
                      magnitude.mean(dim=(-2, -1))]  # fmt: skip
        if self.spectrum in ("phase", "both"):
            unit = torch.polar(torch.ones_like(maps), torch.angle(coefficients))
            across = unit.mean(dim=1, keepdim=True).abs()  # coherence across channels
            within = unit.flatten(2).mean(dim=2).abs()  # each channel's coherence
            parts += [block_average(across, self.grid).flatten(1), within]
        return torch.cat(parts, dim=1)


@register_detector("adv-spectral-input")
def adv_spectral_input(
    crop: int | None = 192,
    grid: int = 32,
    C: float = 1.0,
    seed: int = 0,
    protected: str | None = None,
    protected_hash: str | None = None,
) -> InputSpectrum:
    """SpectralDefense InputMFS: magnitude spectrum of the input crop + logistic regression."""
    return InputSpectrum(crop, grid, C, seed, protected, protected_hash)


@register_detector("adv-spectral-layer")
def adv_spectral_layer(
    protected: str = "default",
    protected_hash: str | None = None,
    spectrum: str = "both",
    layers: Sequence[str] | None = None,
    grid: int = 8,
    C: float = 1.0,
    seed: int = 0,
) -> LayerSpectrum:
    """SpectralDefense LayerMFS / LayerPFS over a protected CNN's feature maps."""
    return LayerSpectrum(protected, protected_hash, spectrum, layers, grid, C, seed)
