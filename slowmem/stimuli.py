"""Stimuli: handwritten digits embedded into 2-D latents by a small VAE.

The paper showed the networks 2-D latent vectors of a variational autoencoder
trained on MNIST. Here the default images are scikit-learn's bundled
handwritten digits (1797 images of 8x8 pixels, no download needed), embedded by
our own VAE. The latents (posterior means of every image) and the VAE's decoder
ship inside the package as ``slowmem/data/digits_vae.safetensors``, so nothing
is trained at import. Regenerate them with::

    python -m slowmem.stimuli build            # scikit-learn digits (default)
    python -m slowmem.stimuli build --source mnist --mnist-root DIR

The MNIST route needs ``torchvision`` and a local copy of MNIST (nothing is
downloaded); it writes ``mnist_vae.safetensors`` next to the digits file, or
where ``$SLOWMEM_STIMULI_DIR`` points, and ``TaskConfig(stimuli="mnist")``
then uses it.
"""
from __future__ import annotations

import argparse
import json
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from . import __version__
from .config import ConfigError
from .errors import SlowmemError, StoredFileError

__all__ = ["StimulusBank", "VAE", "load_stimuli", "train_vae", "build_stimuli", "stimuli_path",
           "check_stimuli_available"]

_DATA_DIR = Path(__file__).parent / "data"
_FILES = {"digits": "digits_vae.safetensors", "mnist": "mnist_vae.safetensors"}
LATENT_DIM = 2


def stimuli_path(source: str) -> Path:
    """Where the latents of ``source`` live (``$SLOWMEM_STIMULI_DIR`` overrides for mnist)."""
    if source not in _FILES:
        raise ConfigError(f"stimuli must be one of {', '.join(map(repr, _FILES))}; got {source!r}")
    folder = Path(os.environ.get("SLOWMEM_STIMULI_DIR", _DATA_DIR)) if source == "mnist" else _DATA_DIR
    return folder / _FILES[source]


def _how_to_build(source: str) -> str:
    return ("python -m slowmem.stimuli build --source mnist --mnist-root DIR" if source == "mnist"
            else "python -m slowmem.stimuli build")


def check_stimuli_available(source: str) -> None:
    """Raise :class:`ConfigError` before any work when the latents of ``source`` are not on this machine."""
    path = stimuli_path(source)
    if not path.is_file():
        raise StoredFileError(f"stimuli {source!r}: no latents at {path}; make them with `{_how_to_build(source)}`"
                          + (" (or set SLOWMEM_STIMULI_DIR to the folder holding them)" if source == "mnist" else ""))


class VAE(torch.nn.Module):
    """A small fully connected VAE: D pixels -> hidden -> 2-D latent -> hidden -> D."""

    def __init__(self, n_pixels: int, hidden: int = 256, latent: int = LATENT_DIM):
        super().__init__()
        self.enc = torch.nn.Sequential(torch.nn.Linear(n_pixels, hidden), torch.nn.ReLU())
        self.mu = torch.nn.Linear(hidden, latent)
        self.logvar = torch.nn.Linear(hidden, latent)
        self.decoder = torch.nn.Sequential(
            torch.nn.Linear(latent, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, n_pixels))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.enc(x)
        return self.mu(h), self.logvar(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Pixel intensities in [0, 1]; ``z: (M, 2) -> (M, D)``."""
        return torch.sigmoid(self.decoder(z))


def train_vae(images: np.ndarray, *, seed: int = 0, epochs: int = 300, batch: int = 128,
              lr: float = 2e-3, hidden: int = 256, progress: bool = True) -> tuple[VAE, np.ndarray]:
    """Fit a VAE to ``images: (M, D)`` with intensities in [0, 1].

    Returns the model and the latents (posterior means), ``(M, 2)`` float64.
    Deterministic for a given seed on CPU.
    """
    from tqdm import tqdm

    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    x = torch.as_tensor(images, dtype=torch.float32)
    model = VAE(x.shape[1], hidden=hidden)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in tqdm(range(epochs), desc="VAE", disable=not progress):
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), batch):
            xb = x[perm[i:i + batch]]
            mu, logvar = model.encode(xb)
            z = mu + torch.exp(0.5 * logvar) * torch.randn(mu.shape, generator=gen)
            logits = model.decoder(z)
            rec = torch.nn.functional.binary_cross_entropy_with_logits(logits, xb, reduction="sum")
            kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            loss = (rec + kl) / len(xb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        latents = model.encode(x)[0].double().numpy()
    return model, latents


def _load_images(source: str, mnist_root: str | None) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    if source == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        return d.data / 16.0, d.target.astype(np.int64), (8, 8)
    if source == "mnist":
        try:
            from torchvision.datasets import MNIST
        except ImportError:
            raise ConfigError("stimuli 'mnist' needs torchvision (pip install torchvision); "
                              "allowed without it: 'digits'") from None
        if not mnist_root:
            raise ConfigError("--mnist-root is required for --source mnist (a folder holding MNIST/raw)")
        try:
            ds = MNIST(mnist_root, train=True, download=False)
        except RuntimeError as e:
            raise ConfigError(f"no MNIST found under {mnist_root!r} ({e}); nothing is downloaded") from None
        x = ds.data.reshape(len(ds), -1).numpy() / 255.0
        return x, ds.targets.numpy().astype(np.int64), (28, 28)
    raise ConfigError(f"source must be 'digits' or 'mnist'; got {source!r}")


def build_stimuli(source: str = "digits", *, mnist_root: str | None = None, seed: int = 0,
                  epochs: int | None = None, out: Path | None = None, progress: bool = True) -> Path:
    """Train the VAE on ``source`` and write latents + decoder to a safetensors file."""

    images, labels, shape = _load_images(source, mnist_root)
    epochs = epochs if epochs is not None else (300 if source == "digits" else 20)
    model, latents = train_vae(images, seed=seed, epochs=epochs, progress=progress)
    out = Path(out) if out is not None else stimuli_path(source)
    out.parent.mkdir(parents=True, exist_ok=True)
    tensors = {"latents": torch.as_tensor(latents), "labels": torch.as_tensor(labels)}
    tensors.update({f"decoder.{k}": v.detach().clone() for k, v in model.decoder.state_dict().items()})
    meta = {"source": source, "image_shape": json.dumps(list(shape)), "seed": str(seed),
            "epochs": str(epochs), "hidden": str(model.enc[0].out_features),
            "slowmem_version": __version__,
            "command": f"python -m slowmem.stimuli build --source {source} --seed {seed} --epochs {epochs}"}
    tmp = out.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    os.replace(tmp, out)
    return out


@dataclass(frozen=True)
class StimulusBank:
    """Latents of every image of a digit data set.

    Attributes:
        latents: ``(M, 2)`` float64, posterior means of the VAE.
        labels: ``(M,)`` int64 digit class of each image.
        source: ``digits`` or ``mnist``.
        image_shape: pixel shape of the images (8x8 or 28x28).
        decoder: a :class:`VAE` whose ``decode`` maps latents to images.
    """

    latents: torch.Tensor
    labels: torch.Tensor
    source: str
    image_shape: tuple[int, int]
    decoder: VAE

    def class_latents(self, digit: int) -> torch.Tensor:
        """``(M_digit, 2)`` latents of all images of ``digit``."""
        sel = self.latents[self.labels == digit]
        if len(sel) == 0:
            raise ConfigError(f"digit {digit} has no images in the {self.source!r} stimuli")
        return sel

    def class_mean(self, digit: int) -> torch.Tensor:
        """``(2,)`` mean latent of ``digit`` -- the paper's memory target."""
        return self.class_latents(digit).mean(0)

    def decode(self, z: torch.Tensor) -> np.ndarray:
        """Images ``(M, H, W)`` for latents ``z: (M, 2)``."""
        with torch.no_grad():
            img = self.decoder.decode(torch.as_tensor(z, dtype=torch.float32).reshape(-1, LATENT_DIM))
        return img.reshape(-1, *self.image_shape).numpy()


@lru_cache(maxsize=4)
def load_stimuli(source: str = "digits") -> StimulusBank:
    """Read the shipped (or user-built) latents for ``source``; checks their integrity."""
    path = stimuli_path(source)
    check_stimuli_available(source)
    try:
        from safetensors import safe_open

        t = load_file(str(path))
        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
        latents, labels = t["latents"].double(), t["labels"].long()
        shape = tuple(json.loads(meta["image_shape"]))
        dec_state = {k[len("decoder."):]: v for k, v in t.items() if k.startswith("decoder.")}
        hidden = int(meta.get("hidden", 256))
    except Exception as e:  # corrupted / truncated / foreign file
        raise StoredFileError(f"stimuli file {path} is unreadable ({e}); rebuild it with "
                          f"`python -m slowmem.stimuli build --source {source}`") from None
    if latents.ndim != 2 or latents.shape[1] != LATENT_DIM or len(labels) != len(latents) \
            or not torch.isfinite(latents).all():
        raise StoredFileError(f"stimuli file {path} holds malformed latents {tuple(latents.shape)}; rebuild it")
    vae = VAE(shape[0] * shape[1], hidden=hidden)
    vae.decoder.load_state_dict(dec_state)
    vae.eval()
    return StimulusBank(latents, labels, source, shape, vae)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m slowmem.stimuli",
                                description="(Re)build the 2-D VAE latents of the digit stimuli.")
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="train the VAE and write the latents file")
    b.add_argument("--source", choices=tuple(_FILES), default="digits")
    b.add_argument("--mnist-root", default=None, help="folder holding a local MNIST copy")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--epochs", type=int, default=None)
    b.add_argument("--out", type=Path, default=None)
    a = p.parse_args(argv)
    try:
        path = build_stimuli(a.source, mnist_root=a.mnist_root, seed=a.seed, epochs=a.epochs, out=a.out)
    except SlowmemError as e:
        p.error(str(e))
    print(path)


if __name__ == "__main__":
    main()
