"""Training throughput: our engine vs the classic pytorch/examples DCGAN loop, same run, same device.

The reference is written the way the pytorch DCGAN example does it: fp32, batch 128, sigmoid + BCELoss,
reading the losses every step. Ours is ``gan_art.training`` on the same ``dcgan`` architecture. Every figure is
timed the same way: steps after a warm-up, by one wall clock, the device synchronised at both ends.

Figures, so that each difference is shown on its own:

* ``engine_ratio``: ours at fp32 over the reference loop fed the same preloaded uint8 tensors: engine against
  engine (same precision, same data in memory, same timer);
* ``data_pipeline_gain``: the reference fed from memory over the example's own pipeline (an ImageFolder of files
  decoded by PIL in a DataLoader with 2 workers);
* ``precision_gain``: ours at ``--precision`` (``auto``: what the probe measured fastest here) over ours at fp32;
* ``ratio_ours_vs_reference``: ours as shipped over the example as written (the product of the three).

Also the modern default (stylegan) at its shipped resolution.

    python benchmarks/train_throughput.py [--steps 30] [--device auto] [--images 4096]

Prints one JSON line with the machine.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import torch
import torchvision.datasets as dset
import torchvision.transforms as transforms
from torch import nn

from gan_art.config import ModelConfig, TrainConfig, dcgan_config
from gan_art.data import load_images
from gan_art.machine import machine_info
from gan_art.models import build_discriminator, build_generator
from gan_art.paths import SHARED_DATA
from gan_art.training import resolve_device, train

DEFAULT_DATA = SHARED_DATA / "utkface" / "train-64.zip"


def extract_folder(archive: Path, folder: Path, count: int) -> None:
    """ImageFolder wants class sub-folders of files on disk."""
    (folder / "faces").mkdir(parents=True)
    with zipfile.ZipFile(archive) as z:
        for name in z.namelist()[:count]:
            (folder / "faces" / Path(name).name).write_bytes(z.read(name))


def file_batches(folder: Path, device: torch.device) -> Iterator[torch.Tensor]:
    """The example's pipeline: files decoded by PIL in a DataLoader, forever."""
    dataset = dset.ImageFolder(str(folder), transform=transforms.Compose([
        transforms.Resize(64), transforms.CenterCrop(64), transforms.ToTensor(),
        transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))]))
    loader = torch.utils.data.DataLoader(dataset, batch_size=128, shuffle=True, num_workers=2, drop_last=True,
                                         persistent_workers=True)
    while True:
        for real, _ in loader:
            yield real.to(device)


def memory_batches(folder: Path, device: torch.device) -> Iterator[torch.Tensor]:
    """What our engine is fed: the images decoded once into a uint8 tensor, shuffled batches scaled on the fly."""
    images, _ = load_images(folder, 64)
    generator = torch.Generator().manual_seed(0)
    while True:
        for index in torch.randperm(len(images), generator=generator).split(128)[:-1]:
            yield images[index].to(device).float() / 127.5 - 1


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reference_images_per_s(batches: Iterator[torch.Tensor], device: torch.device, steps: int, warmup: int) -> float:
    cfg = ModelConfig(arch="dcgan", resolution=64, z_dim=100, w_dim=100, width=64)
    netG, netD = build_generator(cfg).to(device), nn.Sequential(build_discriminator(cfg), nn.Sigmoid()).to(device)
    criterion = nn.BCELoss()
    optD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    for done in range(warmup + steps):
        if done == warmup:
            synchronise(device)
            start = time.perf_counter()
        real = next(batches)
        b = real.size(0)
        netD.zero_grad()
        errD_real = criterion(netD(real), torch.full((b,), 1.0, device=device))
        errD_real.backward()
        fake = netG(torch.randn(b, 100, device=device))
        errD_fake = criterion(netD(fake.detach()), torch.full((b,), 0.0, device=device))
        errD_fake.backward()
        optD.step()
        netG.zero_grad()
        errG = criterion(netD(fake), torch.full((b,), 1.0, device=device))
        errG.backward()
        optG.step()
        errG.item()  # the example prints losses every step, which synchronises
    synchronise(device)
    return steps * 128 / (time.perf_counter() - start)


def engine_images_per_s(cfg: TrainConfig, steps: int, warmup: int) -> tuple[float, dict]:
    """Images/s of gan_art.training over ``steps`` after ``warmup``, by the reference's clock (a progress
    callback after every step, the device synchronised), and the precision it trained in (with the probe's
    timings when ``auto`` chose it)."""
    cfg = dataclasses.replace(cfg, steps=warmup + steps, metrics_every=1, sample_every=10**9,
                              checkpoint_every=10**9, checkpoint_minutes=1e9)
    device, clock = resolve_device(cfg.device), {}

    def on_progress(progress) -> None:
        if progress.step in (warmup, warmup + steps):
            synchronise(device)
            clock[progress.step] = time.perf_counter()

    checkpoint = train(cfg, on_progress=on_progress)
    seconds = clock[warmup + steps] - clock[warmup]
    return steps * cfg.batch_size / seconds, json.loads((checkpoint / "config.json").read_text())["precision"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--images", type=int, default=4096)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--compile", action="store_true", help="torch.compile our models (GPU)")
    parser.add_argument("--stylegan-resolution", type=int, default=64)
    parser.add_argument("--precision", default="auto", help="our engine's precision (auto, fp32, bf16, fp16)")
    args = parser.parse_args()
    device = resolve_device(args.device)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        extract_folder(Path(args.data), tmp / "folder", args.images)
        common = dict(data=str(tmp / "folder"), device=str(device), compile=args.compile)
        ours, ours_precision = engine_images_per_s(
            dcgan_config(out=str(tmp / "dcgan"), precision=args.precision, **common), args.steps, args.warmup)
        ours_fp32, _ = engine_images_per_s(dcgan_config(out=str(tmp / "dcgan-fp32"), precision="fp32", **common),
                                           args.steps, args.warmup)
        from_memory = reference_images_per_s(memory_batches(tmp / "folder", device), device, args.steps, args.warmup)
        from_files = reference_images_per_s(file_batches(tmp / "folder", device), device, args.steps, args.warmup)
        model = ModelConfig(resolution=args.stylegan_resolution)
        stylegan, stylegan_precision = engine_images_per_s(
            TrainConfig(out=str(tmp / "stylegan"), model=model, precision=args.precision, **common), args.steps,
            args.warmup)
    print(json.dumps({
        "benchmark": "train_throughput", "machine": machine_info(device), "steps": args.steps,
        "reference_dcgan_images_per_s": round(from_files, 1), "reference_in_memory_images_per_s": round(from_memory, 1),
        "ours_dcgan_fp32_images_per_s": round(ours_fp32, 1), "ours_dcgan_images_per_s": round(ours, 1),
        "ours_precision": ours_precision,
        "engine_ratio": round(ours_fp32 / from_memory, 2),
        "data_pipeline_gain": round(from_memory / from_files, 2),
        "precision_gain": round(ours / ours_fp32, 2),
        "ratio_ours_vs_reference": round(ours / from_files, 2),
        f"stylegan{args.stylegan_resolution}_images_per_s": round(stylegan, 1),
        "stylegan_precision": stylegan_precision}))


if __name__ == "__main__":
    main()
