"""Training throughput: our engine vs the classic pytorch/examples DCGAN loop, same run, same device.

The reference is written the way the pytorch DCGAN example does it: an ImageFolder of image files
decoded by PIL in a DataLoader, fp32, batch 128, sigmoid + BCELoss. Ours is ``gan_art.training``
on the same ``dcgan`` architecture (preloaded uint8 tensors, precision ``auto`` - measured on this
machine - channels_last, optional torch.compile). Also reports the modern default (stylegan) at its
shipped resolution.

    python benchmarks/train_throughput.py [--steps 30] [--device auto] [--images 4096]

Prints one JSON line: images/s for each, the ratio ours/reference, the precision auto chose for each
model (and its measured seconds per step) and the machine.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
import zipfile
from pathlib import Path

import torch
import torchvision.datasets as dset
import torchvision.transforms as transforms
from torch import nn

from gan_art.config import ModelConfig, TrainConfig, dcgan_config
from gan_art.machine import machine_info
from gan_art.models import build_discriminator, build_generator
from gan_art.paths import SHARED_DATA
from gan_art.rundir import RunDir
from gan_art.training import resolve_device, train

DEFAULT_DATA = SHARED_DATA / "utkface" / "train-64.zip"


def extract_folder(archive: Path, folder: Path, count: int) -> None:
    """ImageFolder wants class sub-folders of files on disk."""
    (folder / "faces").mkdir(parents=True)
    with zipfile.ZipFile(archive) as z:
        for name in z.namelist()[:count]:
            (folder / "faces" / Path(name).name).write_bytes(z.read(name))


def reference_images_per_s(folder: Path, device: torch.device, steps: int, warmup: int) -> float:
    dataset = dset.ImageFolder(str(folder), transform=transforms.Compose([
        transforms.Resize(64), transforms.CenterCrop(64), transforms.ToTensor(),
        transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))]))
    loader = torch.utils.data.DataLoader(dataset, batch_size=128, shuffle=True, num_workers=2, drop_last=True,
                                         persistent_workers=True)
    cfg = ModelConfig(arch="dcgan", resolution=64, z_dim=100, w_dim=100, width=64)
    netG, netD = build_generator(cfg).to(device), nn.Sequential(build_discriminator(cfg), nn.Sigmoid()).to(device)
    criterion = nn.BCELoss()
    optD = torch.optim.Adam(netD.parameters(), lr=2e-4, betas=(0.5, 0.999))
    optG = torch.optim.Adam(netG.parameters(), lr=2e-4, betas=(0.5, 0.999))
    done, start = 0, None
    while done < warmup + steps:
        for real, _ in loader:
            if done == warmup:
                torch.cuda.synchronize() if device.type == "cuda" else None
                start = time.perf_counter()
            real = real.to(device)
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
            done += 1
            if done == warmup + steps:
                break
    torch.cuda.synchronize() if device.type == "cuda" else None
    return steps * 128 / (time.perf_counter() - start)


def engine_images_per_s(cfg: TrainConfig, steps: int, warmup: int) -> tuple[float, dict]:
    """Steady-state images/s of gan_art.training, from its own metrics lines after warm-up, and the precision
    it trained in (with the probe's timings when ``auto`` chose it)."""
    cfg = dataclasses.replace(cfg, steps=warmup + steps, metrics_every=warmup, sample_every=10**9,
                              checkpoint_every=10**9, checkpoint_minutes=1e9)
    checkpoint = train(cfg)
    rows = RunDir(cfg.out).read_metrics()
    # the first row is the warm-up interval; combine the rest by total images / total time
    intervals = [(b["step"] - a["step"]) * cfg.batch_size for a, b in zip(rows, rows[1:])]
    seconds = sum(n / row["images_per_s"] for n, row in zip(intervals, rows[1:]))
    return sum(intervals) / seconds, json.loads((checkpoint / "config.json").read_text())["precision"]


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
        common = dict(data=str(tmp / "folder"), device=str(device), compile=args.compile, precision=args.precision)
        ours, ours_precision = engine_images_per_s(dcgan_config(out=str(tmp / "dcgan"), **common), args.steps,
                                                   args.warmup)
        reference = reference_images_per_s(tmp / "folder", device, args.steps, args.warmup)
        model = ModelConfig(resolution=args.stylegan_resolution)
        stylegan, stylegan_precision = engine_images_per_s(TrainConfig(out=str(tmp / "stylegan"), model=model,
                                                                       **common), args.steps, args.warmup)
    print(json.dumps({
        "benchmark": "train_throughput", "machine": machine_info(device), "steps": args.steps,
        "reference_dcgan_images_per_s": round(reference, 1), "reference_precision": "fp32",
        "ours_dcgan_images_per_s": round(ours, 1), "ours_precision": ours_precision,
        "ratio_ours_vs_reference": round(ours / reference, 2),
        f"stylegan{args.stylegan_resolution}_images_per_s": round(stylegan, 1),
        "stylegan_precision": stylegan_precision}))


if __name__ == "__main__":
    main()
