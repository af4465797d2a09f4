"""Quality of the face upscaler against Lanczos, on faces no network of ours trained on.

    python benchmarks/upscale_quality.py [--split holdout|validation] [--details 0,0.6,1] [--seeds 2000]
        [--look old-photo|sketch --generator A_FINE_TUNE]

Real faces: the hashed hold-out of ``--data`` (the 200 px originals by default) at 128 px, split in two
halves A and B. A is shrunk to 64 px (Lanczos) and brought back by Lanczos and by the upscaler at each
``--details`` level; each is scored against the original A face (PSNR, a VGG16 feature distance of LPIPS's
form that no network here trained on) and as a set against the real faces B (multi-scale SWD x1e3 at 128 px;
A vs B is the real-vs-real floor). The shipped generator's faces (``--seeds`` seeds, psi 1) are scored the
same way against as many real faces (hold-out first, then validation faces if the hold-out is too small),
at 128 px and, shrunk back, at 64 px. ``--split validation`` measures on the validation faces instead:
the one to tune on. ``--look`` puts every real face (at 128 px, before shrinking) in one of the looks of
issue 24's transfer domains, for a fine-tune of the face model in that look (``--generator``), which keeps the
face model's upscaler. Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from transfer_quality import DOMAINS, in_look

from gan_art.checkpoints import load_generator
from gan_art.data import load_images
from gan_art.evaluate import SEED_STRIDE
from gan_art.explore import sample_images, seed_latent
from gan_art.images import resize_batch, to_float, to_uint8
from gan_art.machine import machine_info
from gan_art.metrics import feature_distance, psnr, swd
from gan_art.nets.vgg import load_vgg16, preprocess
from gan_art.paths import CHECKPOINTS, FACES, SHARED_DATA, UPSCALER
from gan_art.repair_training import is_holdout, is_validation
from gan_art.upscale import FaceUpscaler

DEFAULT_DATA = SHARED_DATA / "utkface" / "train-200.zip"
DISTANCE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_1")  # not the layers the upscaler trained on


@torch.no_grad()
def vgg_distance(vgg, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-image VGG16 feature distance of two uint8 image sets."""
    out = []
    for x, y in zip(a.split(64), b.split(64)):
        fx, fy = (vgg(preprocess((to_float(t) + 1) / 2), DISTANCE_LAYERS) for t in (x, y))
        out.append(feature_distance(fx, fy))
    return torch.cat(out)


def upscaled(upscaler: FaceUpscaler, small: torch.Tensor, detail: float) -> torch.Tensor:
    return torch.cat([to_uint8(upscaler(to_float(chunk), detail)) for chunk in small.split(64)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--split", choices=("holdout", "validation"), default="holdout")
    parser.add_argument("--checkpoint", default=str(CHECKPOINTS / UPSCALER))
    parser.add_argument("--generator", default=str(CHECKPOINTS / FACES))
    parser.add_argument("--details", default="0,0.6,1", help="comma-separated detail levels to measure")
    parser.add_argument("--seeds", type=int, default=2000, help="generator faces (0 skips that part)")
    parser.add_argument("--look", choices=sorted(DOMAINS), help="real faces in this transfer domain's look")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    details = [float(d) for d in args.details.split(",")]
    chosen, other = (is_holdout, is_validation) if args.split == "holdout" else (is_validation, is_holdout)
    images, summary = load_images(args.data, 128, select=lambda name: chosen(name) or other(name))
    if args.look:
        images = in_look(args.look, images, np.random.default_rng(0))
    faces = images[torch.tensor([chosen(n) for n in summary.names])]
    upscaler = FaceUpscaler(args.checkpoint)
    vgg = load_vgg16()

    real_a, real_b = faces[0::2], faces[1::2][: len(faces[0::2])]
    real_a = real_a[: len(real_b)]
    small = resize_batch(real_a, 64)
    candidates = {"lanczos": resize_batch(small, 128)} | {f"detail_{d:g}": upscaled(upscaler, small, d)
                                                          for d in details}
    baseline = vgg_distance(vgg, candidates["lanczos"], real_a)
    real = {"faces": len(real_a), "swd_real_vs_real": swd(real_b, real_a)}
    for name, restored in candidates.items():
        distance = vgg_distance(vgg, restored, real_a)
        real[name] = {"psnr": round(sum(psnr(r, a) for r, a in zip(restored, real_a)) / len(real_a), 3),
                      "vgg_distance": round(float(distance.mean()), 4),
                      "vgg_closer_than_lanczos": round(float((distance < baseline).float().mean()), 3),
                      "swd": swd(real_b, restored)}

    result = {"benchmark": "upscale_quality", "machine": machine_info(), "precision": "fp32",
              "checkpoint": args.checkpoint, "data": str(args.data), "split": args.split, "look": args.look,
              "shrink": "lanczos", "real_faces": real}
    if args.seeds:
        pool = torch.cat([faces, images[torch.tensor([other(n) for n in summary.names])]])[: args.seeds]
        generator = load_generator(args.generator)
        z = torch.cat([seed_latent(SEED_STRIDE + i, generator.model.z_dim) for i in range(len(pool))])
        fake = sample_images(generator.generator, z)
        generated = {"faces": len(pool), "real_faces_from": f"{args.split} then the other held-out split",
                     "64px_generator": swd(resize_batch(pool, 64), fake)}
        enlarged = {"lanczos": resize_batch(fake, 128)} | {f"detail_{d:g}": upscaled(upscaler, fake, d)
                                                            for d in details}
        for name, big in enlarged.items():
            generated[name] = {"swd128": swd(pool, big), "swd64_shrunk_back": swd(resize_batch(pool, 64),
                                                                                  resize_batch(big, 64))}
        result["generator_faces"] = generated
    result["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
