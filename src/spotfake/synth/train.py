"""Train a generator-like autoencoder on random patches of real images.

The loss is L1 on pixels, plus L1 on image gradients and on log FFT magnitudes (sharpness
without a pretrained perceptual network), plus the VAE's weighted KL where there is one; after
`disc_start` steps a PatchGAN critic joins with the hinge loss, its weight balanced against the
reconstruction by their gradients at the output layer (VQGAN). Warming up on reconstruction
first keeps the critic from pushing an untrained decoder into artefacts of its own.

GEN_DIR gets generator.safetensors + generator.json (spec), fidelity.json (measured at the end
on held-out reals) and checkpoint.pt (generator, critic, optimisers, step and random states:
``resume`` continues a run to a larger number of steps).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import torch

from spotfake.data.sources import split_of
from spotfake.records import ImageRecord
from spotfake.synth.base import Generator, create_generator
from spotfake.synth.fidelity import Fidelity, measure
from spotfake.synth.losses import (
    PatchDiscriminator,
    adaptive_weight,
    gradient_l1,
    hinge_discriminator,
    hinge_generator,
    spectrum_l1,
)
from spotfake.synth.reals import PatchSampler, hashed_order, name_key
from spotfake.synth.spec import FIDELITY, GeneratorSpec, save_generator
from spotfake.synth.tiling import reconstruct_array

CHECKPOINT = "checkpoint.pt"
HELD_OUT_FRACTION = 0.1  # reals kept out of training to measure fidelity on


@dataclass
class TrainOptions:
    """How to train (the architecture's own options live in the spec's config)."""

    steps: int = 2000
    patch: int = 128
    batch: int = 8
    lr: float = 2e-4
    disc_start: int | None = None  # None: after a quarter of the steps
    disc_weight: float = 0.5
    disc_width: int = 32
    grad_weight: float = 1.0
    fft_weight: float = 0.1
    seed: int = 0
    device: str = "auto"
    log_every: int = 50
    save_every: int = 500  # checkpoint.pt every this many steps (0: only at the end)
    eval_limit: int = 16  # held-out reals the final fidelity is measured on
    tile: int = 512
    memory_mb: int = 2048  # decoded reals kept in memory
    threads: int | None = None  # torch CPU threads (1 on a busy machine: no spinning waits)

    @property
    def critic_from(self) -> int:
        return self.steps // 4 if self.disc_start is None else self.disc_start


@dataclass
class Run:
    """A training run in progress: models, optimisers, sampler and the step reached."""

    model: Generator
    disc: PatchDiscriminator
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    sampler: PatchSampler
    device: str
    step: int = 0
    seconds: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)


def split_reals(
    reals: Sequence[ImageRecord], limit: int
) -> tuple[list[ImageRecord], list[ImageRecord], bool]:
    """(train, evaluation, held_out): about a tenth held out by a hash of the names.

    Sets too small to spare any evaluate on training images, and say so (held_out False).
    """
    train = [r for r in reals if split_of(name_key(r), HELD_OUT_FRACTION) == "train"]
    held = [r for r in reals if split_of(name_key(r), HELD_OUT_FRACTION) == "val"]
    if held and train:
        return train, hashed_order(held, limit), True
    return list(reals), hashed_order(reals, limit), False


def train_generator(
    arch: str,
    config: dict[str, Any],
    reals: Sequence[ImageRecord],
    out: str | Path,
    options: TrainOptions,
    source: str = "",
    name: str | None = None,
    resume: bool = False,
    log: TextIO | None = None,
) -> tuple[GeneratorSpec, Fidelity]:
    """Train, save the generator into `out`, measure its fidelity; returns (spec, fidelity)."""
    from spotfake.detect import pick_device

    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    readable = [r for r in reals if r.error is None]
    train, held, held_out = split_reals(readable, options.eval_limit)
    device = pick_device(options.device)
    if options.threads:
        torch.set_num_threads(options.threads)
    torch.manual_seed(options.seed)
    model = create_generator(arch, **config)
    run = _new_run(model, train, options, device)
    if resume:
        _restore(run, root / CHECKPOINT)
    _fit(run, options, root, log)
    spec = GeneratorSpec(arch, dict(config), model.stride, name, training=_summary(run, options))
    spec.training.update(
        data=source,
        reals=len(train),
        held_out=len(held) if held_out else 0,
        unreadable=len(reals) - len(readable),
    )
    save_generator(run.model.eval(), spec, root)
    fidelity = measure(
        lambda p: reconstruct_array(run.model, p, options.tile, device=device),
        held,
        held_out,
    )
    (root / FIDELITY).write_text(json.dumps(fidelity.to_dict(), indent=2) + "\n")
    return spec, fidelity


def _new_run(
    model: Generator, train: Sequence[ImageRecord], options: TrainOptions, device: str
) -> Run:
    model.to(device).train()
    disc = PatchDiscriminator(options.disc_width).to(device).train()
    betas = (0.5, 0.9)  # VQGAN's: momentum that follows the adversarial game
    return Run(
        model=model,
        disc=disc,
        opt_g=torch.optim.Adam(model.parameters(), options.lr, betas=betas),
        opt_d=torch.optim.Adam(disc.parameters(), options.lr, betas=betas),
        sampler=PatchSampler(train, options.patch, options.seed, options.memory_mb),
        device=device,
    )


def _fit(run: Run, options: TrainOptions, root: Path, log: TextIO | None) -> None:
    """Steps until options.steps, logging running means and saving checkpoints."""
    window: list[dict[str, float]] = []
    while run.step < options.steps:
        started = time.perf_counter()
        _set_lr(run, options)
        window.append(train_step(run, options))
        run.step += 1
        run.seconds += time.perf_counter() - started
        if run.step % options.log_every == 0 or run.step == options.steps:
            keys = dict.fromkeys(k for w in window for k in w)  # the critic's appear late
            means = {k: float(np.mean([w[k] for w in window if k in w])) for k in keys}
            run.history.append({"step": run.step, **means})
            window = []
            if log is not None:
                losses = " ".join(f"{k} {v:.4f}" for k, v in means.items())
                rate = run.seconds / run.step
                print(f"step {run.step}/{options.steps} {losses} ({rate:.2f} s/step)", file=log)
        if options.save_every and run.step % options.save_every == 0:
            _save_checkpoint(run, root / CHECKPOINT)
    _save_checkpoint(run, root / CHECKPOINT)


def _set_lr(run: Run, options: TrainOptions) -> None:
    """Cosine decay from lr to lr/10 over the run: late steps refine detail."""
    lr = options.lr * (0.55 + 0.45 * math.cos(math.pi * run.step / max(options.steps, 1)))
    for opt in (run.opt_g, run.opt_d):
        for group in opt.param_groups:
            group["lr"] = lr


def _batch(run: Run, n: int) -> torch.Tensor:
    patches = torch.from_numpy(np.ascontiguousarray(run.sampler.batch(n)))
    x = patches.permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
    return x.to(run.device).contiguous(memory_format=torch.channels_last)


def train_step(run: Run, options: TrainOptions) -> dict[str, float]:
    """One generator step and, once the critic has started, one critic step."""
    x = _batch(run, options.batch)
    recon, regulariser = run.model(x)
    l1 = (recon - x).abs().mean()
    grad, fft = gradient_l1(recon, x), spectrum_l1(recon, x)
    rec_loss = l1 + options.grad_weight * grad + options.fft_weight * fft
    loss = rec_loss + regulariser
    stats = {"l1": l1.item(), "grad": grad.item(), "fft": fft.item(), "reg": regulariser.item()}
    critic = run.step >= options.critic_from
    if critic:
        run.disc.requires_grad_(False)
        adv = hinge_generator(run.disc(recon))
        weight = adaptive_weight(rec_loss, adv, run.model.last_layer) * options.disc_weight
        loss = loss + weight * adv
        stats.update(adv=adv.item(), adv_weight=weight.item())
    run.opt_g.zero_grad(set_to_none=True)
    loss.backward()
    run.opt_g.step()
    if critic:
        run.disc.requires_grad_(True)
        d_loss = hinge_discriminator(run.disc(x), run.disc(recon.detach()))
        run.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        run.opt_d.step()
        stats["disc"] = d_loss.item()
    return stats


def _summary(run: Run, options: TrainOptions) -> dict[str, Any]:
    """What the spec records about training."""
    settings = {
        k: v for k, v in asdict(options).items() if k not in ("log_every", "save_every", "threads")
    }
    return {
        **settings,
        "disc_start": options.critic_from,
        "steps_done": run.step,
        "device": run.device,
        "seconds": round(run.seconds, 1),
        "seconds_per_step": round(run.seconds / max(run.step, 1), 4),
        "final_losses": run.history[-1] if run.history else {},
        "patch_reals": len(run.sampler.records),  # reals at least `patch` px on both sides
        "skipped_files": dict(sorted(run.sampler.skipped.items())),
        "torch": torch.__version__,
    }


def _save_checkpoint(run: Run, path: Path) -> None:
    """Everything a resumed run needs; written atomically."""
    state = {
        "step": run.step,
        "seconds": run.seconds,
        "model": run.model.state_dict(),
        "disc": run.disc.state_dict(),
        "opt_g": run.opt_g.state_dict(),
        "opt_d": run.opt_d.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "sampler_rng": json.dumps(run.sampler.rng.bit_generator.state),
        "history": run.history,
    }
    partial = path.with_suffix(".partial")
    torch.save(state, partial)
    partial.replace(path)


def _restore(run: Run, path: Path) -> None:
    """Put a run back where its checkpoint left it (same architecture and options)."""
    if not path.is_file():
        raise FileNotFoundError(f"nothing to resume: {path} does not exist")
    state = torch.load(path, map_location="cpu", weights_only=True)
    run.model.load_state_dict(state["model"])
    run.disc.load_state_dict(state["disc"])
    run.opt_g.load_state_dict(state["opt_g"])
    run.opt_d.load_state_dict(state["opt_d"])
    torch.set_rng_state(state["torch_rng"])
    run.sampler.rng.bit_generator.state = json.loads(state["sampler_rng"])
    run.step, run.seconds = int(state["step"]), float(state["seconds"])
    run.history = list(state["history"])
