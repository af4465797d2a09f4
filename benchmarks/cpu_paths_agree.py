"""Do this CPU's native kernels and its forced AVX2 path (``ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2``, the
path of a CPU without AVX-512 BF16) train the transfer recipe alike? (issue 24: its recipe was tuned on the native
path of an AVX-512 BF16 CPU, while the hold-out figures and the independent check run without native bf16.)

    python benchmarks/cpu_paths_agree.py [--domain sketch] [--legs 1,2,5,20,50]

Trains the recipe in fp32 with one thread (seed 0, the domain's 100 training images as in transfer_quality.py) in
two processes, one per path, each in resumed legs that end at the given steps, and prints one JSON line: after
each leg, each network's relative difference between the two paths (|a - b| / |a| over its weights: G's, D's,
the feature discriminator's heads) and the last step's losses on both. Identical arithmetic gives 0;
rounding differences start near 1e-8 to 1e-6 and, a GAN being chaotic, grow with the steps whatever their source,
so what tells the paths apart is the first leg's figure, and later ones say how soon two runs become two samples.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from transfer_quality import DOMAINS, make_domain

from gan_art.checkpoints import STATE_FILE, read_tensors, save_tensors
from gan_art.machine import machine_info
from gan_art.paths import CHECKPOINTS, FACES, SHARED_DATA
from gan_art.rundir import RunDir
from gan_art.training import train, transfer_config

AVX2 = {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
NETWORKS = ("G.", "D.", "FD.")
LOSSES = ("loss_d", "loss_g", "loss_fd", "loss_fg", "loss_dc")


def train_legs(data: Path, out: Path, legs: list[int]) -> None:
    """The worker: train in legs, keeping each leg's weights and last metrics line under ``out``."""
    torch.set_num_threads(1)
    cfg = transfer_config(CHECKPOINTS / FACES, str(data), str(out / "run"), checkpoint_minutes=600.0,
                          sample_every=10**6, metrics_every=1, seed=0, precision="fp32", threads=1)
    for steps in legs:
        final = train(dataclasses.replace(cfg, steps=steps), resume=steps != legs[0])
        save_tensors({k: v for k, v in read_tensors(final / STATE_FILE).items() if k.startswith(NETWORKS)},
                     out / f"weights-{steps}.safetensors")
        last = RunDir(cfg.out).read_metrics()[-1]
        (out / f"metrics-{steps}.json").write_text(json.dumps({k: last[k] for k in LOSSES if k in last}))
    (out / "machine.json").write_text(json.dumps(machine_info()))


def relative_differences(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> dict[str, float]:
    result = {}
    for prefix in NETWORKS:
        names = [k for k in a if k.startswith(prefix) and a[k].is_floating_point() and not k.endswith("_const")]
        difference = sum(float((a[k] - b[k]).pow(2).sum()) for k in names) ** 0.5
        result[prefix[:-1]] = float(f"{difference / sum(float(a[k].pow(2).sum()) for k in names) ** 0.5:.3g}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--domain", choices=sorted(DOMAINS), default="sketch")
    parser.add_argument("--data", default=str(SHARED_DATA / "utkface" / "train-64.zip"))
    parser.add_argument("--legs", default="1,2,5,20,50")
    parser.add_argument("--worker", nargs=2, metavar=("DATA", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    legs = [int(s) for s in args.legs.split(",")]
    if args.worker:
        return train_legs(Path(args.worker[0]), Path(args.worker[1]), legs)
    with tempfile.TemporaryDirectory() as tmp:
        data, _ = make_domain(args.domain, Path(args.data), Path(tmp) / "data")
        outs = {"native": Path(tmp) / "native", "avx2": Path(tmp) / "avx2"}
        for path, out in outs.items():
            env = {**os.environ, "OMP_NUM_THREADS": "1", **(AVX2 if path == "avx2" else {})}
            subprocess.run([sys.executable, __file__, "--legs", args.legs, "--worker", str(data), str(out)],
                           env=env, check=True)
        result = {"benchmark": "cpu_paths_agree", "domain": args.domain,
                  "machine": {path: json.loads((out / "machine.json").read_text()) for path, out in outs.items()}}
        for steps in legs:
            weights = [read_tensors(out / f"weights-{steps}.safetensors") for out in outs.values()]
            result[f"step_{steps}"] = {"relative_difference": relative_differences(*weights),
                                       **{path: json.loads((out / f"metrics-{steps}.json").read_text())
                                          for path, out in outs.items()}}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
