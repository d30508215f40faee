"""Adversarial examples against a spotfake detector, through its own preprocessing.

The attacks come from the Adversarial Robustness Toolbox (ART, MIT): FGSM, BIM and PGD under an
L-inf budget, DeepFool and Carlini-Wagner L2. ART was chosen over torchattacks (which pins
requests 2.25) and foolbox (GitPython, slower releases): it is maintained, its dependencies are
spotfake's own, and it has all five attacks with targeted variants.

What is attacked is the image file's pixels, not a tensor the detector never sees:
``DetectorModule`` maps an RGB image in [0, 1] (N x 3 x H x W, one size per batch) to the
detector's decision exactly as ``CNNDetector.score`` does (integer upscale, the centre crop or
the multi-crop windows at native resolution, normalisation, the backbone, mean or max of the
windows' logits) and returns two class logits ``[0, z - logit(threshold)]``, so that ART's
argmax is the verdict at the model's own threshold. Pixels outside every window get no gradient
and stay untouched. The attacked image is rounded to 8 bits, which is what a PNG holds, and
scored again from that array (``score_saved``): that is the figure that says whether the saved
file fools ``spotfake detect``.

Direction: ``target="real"`` (the default) pushes generated images to "real", the threat that
matters for a detector; ``"fake"`` pushes real images to "generated"; ``"both"`` does each.
FGSM, BIM, PGD and C&W are run as targeted attacks towards the other verdict; DeepFool is
untargeted, so only images on the wrong side of the threshold are attacked (an image already on
the target side is kept as it is, with zero perturbation).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from spotfake.models.base import Detector
from spotfake.models.cnn import CNNDetector
from spotfake.models.scoring import view_boxes

ATTACKS = ("fgsm", "bim", "pgd", "deepfool", "cw")
EPS_ATTACKS = ("fgsm", "bim", "pgd")  # L-inf budgets, given in 1/255 units
TARGETS = ("real", "fake", "both")
DEEPFOOL_OVERSHOOT = 0.02  # DeepFool's step past the boundary
CW_CONFIDENCE = 0.5  # C&W's logit margin past the threshold
# The minimal attacks (DeepFool, C&W) find perturbations far below one 8-bit level on most
# pixels, which rounding erases. Where the rounded image is not on the target side, the
# perturbation is scaled up along its own direction by these factors until it is.
QUANTISE_SCALES = (1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0)


@dataclass(frozen=True)
class AttackPlan:
    """One attack to run: its name and, for the L-inf attacks, eps in 1/255 units."""

    name: str
    eps: float | None = None

    @property
    def tag(self) -> str:
        """A short name for folders and tables: ``pgd-e4``, ``deepfool``."""
        if self.eps is None:
            return self.name
        return f"{self.name}-e{self.eps:g}"


def plans(attacks: Sequence[str], eps: Sequence[float]) -> list[AttackPlan]:
    """Every (attack, eps) pair to run: the L-inf attacks once per eps, the others once."""
    out: list[AttackPlan] = []
    for name in attacks:
        if name not in ATTACKS:
            raise ValueError(f"unknown attack {name!r}; choose from {', '.join(ATTACKS)}")
        if name in EPS_ATTACKS:
            if not eps:
                raise ValueError(f"{name} needs at least one eps (in 1/255 units)")
            for value in eps:
                if not value > 0:
                    raise ValueError(f"eps must be > 0, not {value}")
                out.append(AttackPlan(name, float(value)))
        else:
            out.append(AttackPlan(name))
    return out


def attackable(detector: Detector) -> CNNDetector:
    """The detector as a CNNDetector whose preprocessing can be differentiated, or ValueError."""
    if not isinstance(detector, CNNDetector):
        raise ValueError(
            f"{detector.spec.architecture} is not a pixel CNN: attacks need gradients through "
            "the detector (a cnn-* model)"
        )
    if detector.spec.input.resize is not None:
        raise ValueError("attacks need a detector that scores pixels at native resolution")
    return detector


def _logit(p: float) -> float:
    p = min(max(p, 1e-7), 1 - 1e-7)
    return math.log(p / (1 - p))


def detector_module(detector: CNNDetector, height: int, width: int, threshold: float) -> Any:
    """A torch module: RGB in [0, 1] (N x 3 x height x width) -> logits (N, 2) of the verdict."""
    import torch
    import torch.nn.functional as F

    policy = detector.spec.input
    factor, method = detector.upscale, detector.upscale_method
    boxes = view_boxes(height * factor, width * factor, policy)
    mean = torch.tensor(policy.mean, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(policy.std, dtype=torch.float32).view(1, 3, 1, 1)
    offset = _logit(threshold)
    multiple = detector.multiple

    class DetectorModule(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = detector.model

        def forward(self, x: Any) -> Any:
            if factor > 1:
                if method == "nearest":
                    x = x.repeat_interleave(factor, dim=2).repeat_interleave(factor, dim=3)
                else:  # torch's bicubic (a = -0.75) approximates Pillow's (a = -0.5)
                    x = F.interpolate(x, scale_factor=factor, mode="bicubic", align_corners=False)
            views = [_trim(x[:, :, t : t + h, c : c + w], multiple) for t, c, h, w in boxes]
            batch = (torch.cat(views, dim=0) - mean.to(x.device)) / std.to(x.device)
            logits = self.model(batch).reshape(len(views), x.shape[0])
            most = policy.aggregate == "max-logit"
            z = (logits.amax(dim=0) if most else logits.mean(dim=0)) - offset
            return torch.stack([torch.zeros_like(z), z], dim=1)

    return DetectorModule().to(detector.device).eval()


def _trim(x: Any, multiple: int) -> Any:
    """Trim each side to a multiple (centred), as CNNDetector._trim does."""
    if multiple <= 1:
        return x
    height = x.shape[2] - x.shape[2] % multiple
    width = x.shape[3] - x.shape[3] % multiple
    top, left = (x.shape[2] - height) // 2, (x.shape[3] - width) // 2
    return x[:, :, top : top + height, left : left + width]


def _estimator(detector: CNNDetector, height: int, width: int, threshold: float) -> Any:
    import torch
    from art.estimators.classification import PyTorchClassifier

    return PyTorchClassifier(
        model=detector_module(detector, height, width, threshold),
        loss=torch.nn.CrossEntropyLoss(),
        input_shape=(3, height, width),
        nb_classes=2,
        clip_values=(0.0, 1.0),
        device_type="gpu" if str(detector.device).startswith("cuda") else "cpu",
    )


def _attack(plan: AttackPlan, estimator: Any, batch_size: int) -> Any:
    from art.attacks.evasion import (
        BasicIterativeMethod,
        CarliniL2Method,
        DeepFool,
        FastGradientMethod,
        ProjectedGradientDescent,
    )

    eps = (plan.eps or 0.0) / 255.0
    common = {"batch_size": batch_size}
    if plan.name == "fgsm":
        return FastGradientMethod(estimator, norm=np.inf, eps=eps, targeted=True, **common)
    if plan.name == "bim":
        return BasicIterativeMethod(
            estimator, eps=eps, eps_step=eps / 4, max_iter=10, targeted=True, verbose=False,
            **common,
        )  # fmt: skip
    if plan.name == "pgd":
        return ProjectedGradientDescent(
            estimator, norm=np.inf, eps=eps, eps_step=eps / 4, max_iter=20, num_random_init=1,
            targeted=True, verbose=False, **common,
        )  # fmt: skip
    if plan.name == "deepfool":
        return DeepFool(
            estimator, max_iter=50, epsilon=DEEPFOOL_OVERSHOOT, nb_grads=2, verbose=False,
            **common,
        )  # fmt: skip
    return CarliniL2Method(
        estimator, confidence=CW_CONFIDENCE, targeted=True, learning_rate=0.05,
        binary_search_steps=2, max_iter=10, initial_const=1.0, verbose=False, **common,
    )  # fmt: skip


@dataclass
class Attacked:
    """One image after one attack: the 8-bit pixels and what they did to the detector."""

    pixels: np.ndarray  # HxWx3 uint8, what gets saved
    score_clean: float
    score_saved: float  # P(generated) of the 8-bit attacked image, through detector.score
    linf: float  # in 1/255 units
    l2: float  # over the whole image, pixels in [0, 1]
    psnr: float  # dB over the whole image (inf when untouched)
    attacked: bool  # False when DeepFool found the image already on the target side


def attack_images(
    detector: Detector,
    images: Sequence[np.ndarray],
    targets: Sequence[int],
    plan: AttackPlan,
    threshold: float | None = None,
    batch_size: int = 8,
    seed: int = 0,
    clean: np.ndarray | None = None,
) -> list[Attacked]:
    """Attack each RGB uint8 image towards its target verdict (1 generated, 0 real).

    Images of one size are attacked together, in batches; the result keeps the input order.
    ``clean``: the images' scores before the attack, when the caller has them already.
    """
    cnn = attackable(detector)
    limit = cnn.spec.threshold if threshold is None else threshold
    if len(images) != len(targets):
        raise ValueError(f"{len(images)} images for {len(targets)} targets")
    if clean is None:
        clean = cnn.score(list(images))
    out: list[Attacked | None] = [None] * len(images)
    by_shape: dict[tuple[int, int], list[int]] = {}
    for index, image in enumerate(images):
        by_shape.setdefault(image.shape[:2], []).append(index)
    for (height, width), indices in by_shape.items():
        estimator = _estimator(cnn, height, width, limit)
        runner = _attack(plan, estimator, batch_size)
        for start in range(0, len(indices), batch_size):
            chunk = indices[start : start + batch_size]
            todo = [i for i in chunk if _needs_attack(plan, clean[i], limit, targets[i])]
            adversarial = {i: images[i] for i in chunk}
            if todo:
                x = np.stack([images[i] for i in todo]).astype(np.float32).transpose(0, 3, 1, 2)
                x /= 255.0
                y = np.eye(2, dtype=np.float32)[[targets[i] for i in todo]]
                np.random.seed(seed + start)  # PGD's random start draws from numpy
                generated = runner.generate(x, y=None if plan.name == "deepfool" else y)
                delta = {}
                for i, array in zip(todo, generated, strict=True):
                    adversarial[i] = to_uint8(array)
                    delta[i] = array.transpose(1, 2, 0) * 255.0 - images[i]
                if plan.name in MINIMAL_ATTACKS:
                    _survive_rounding(cnn, images, adversarial, delta, targets, limit)
            saved = cnn.score([adversarial[i] for i in chunk])
            for i, score in zip(chunk, saved, strict=True):
                linf, l2, psnr = perturbation(images[i], adversarial[i])
                out[i] = Attacked(
                    adversarial[i], float(clean[i]), float(score), linf, l2, psnr, i in todo
                )
    return [item for item in out if item is not None]


MINIMAL_ATTACKS = ("deepfool", "cw")


def _survive_rounding(
    cnn: CNNDetector,
    images: Sequence[np.ndarray],
    adversarial: dict[int, np.ndarray],
    delta: dict[int, np.ndarray],
    targets: Sequence[int],
    threshold: float,
) -> None:
    """Scale each rounded-away perturbation (``delta``, float, 0..255 scale) up by
    QUANTISE_SCALES until the 8-bit image is on the target side, or the scales run out."""
    pending = list(delta)
    for scale in (1.0, *QUANTISE_SCALES):
        if scale > 1.0:
            for i in pending:
                adversarial[i] = np.clip(np.rint(images[i] + scale * delta[i]), 0, 255).astype(
                    np.uint8
                )
        if not pending:
            return
        scores = cnn.score([adversarial[i] for i in pending])
        pending = [
            i for i, p in zip(pending, scores, strict=True) if (p >= threshold) != bool(targets[i])
        ]


def _needs_attack(plan: AttackPlan, clean: float, threshold: float, target: int) -> bool:
    """DeepFool (untargeted) only moves images that are not yet on the target side."""
    if plan.name != "deepfool":
        return True
    return (clean >= threshold) != bool(target)


def to_uint8(chw: np.ndarray) -> np.ndarray:
    """A CHW float image in [0, 1] as HxWx3 uint8, rounded (what a PNG stores)."""
    hwc = np.clip(np.rint(np.asarray(chw).transpose(1, 2, 0) * 255.0), 0, 255)
    return np.ascontiguousarray(hwc.astype(np.uint8))


def perturbation(original: np.ndarray, attacked: np.ndarray) -> tuple[float, float, float]:
    """(L-inf in 1/255 units, L2 with pixels in [0, 1], PSNR in dB) of the 8-bit difference."""
    diff = attacked.astype(np.float64) - original.astype(np.float64)
    linf = float(np.abs(diff).max()) if diff.size else 0.0
    l2 = float(np.sqrt(np.sum((diff / 255.0) ** 2)))
    mse = float(np.mean(diff**2)) if diff.size else 0.0
    psnr = math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)
    return linf, l2, psnr
