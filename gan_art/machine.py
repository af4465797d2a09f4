"""What this machine is, in the terms that decide speed: CPU model, native bf16, threads, GPU.

Every benchmark prints :func:`machine_info` and the precision auto-probe keys its cache on
:func:`machine_key`, because a figure measured on one CPU says little about another (bf16 autocast is
an order of magnitude slower on CPUs that only emulate it).
"""
from __future__ import annotations

import os
import platform
from functools import lru_cache
from pathlib import Path

import torch

# oneDNN runs bf16 natively only with AVX-512 BF16 or AMX; everything else emulates it
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
# ISA caps that make oneDNN/ATen skip native bf16 even where the CPU has it (how the slow path is forced)
ISA_ENV = ("ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY")
BF16_ISAS = ("AVX512_CORE_BF16", "AVX512_CORE_AMX", "AVX10_1_512_AMX", "AVX512_CORE_AMX_FP16", "ALL", "DEFAULT")


@lru_cache(maxsize=1)
def _cpuinfo() -> tuple[str, frozenset[str]]:
    fields: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())  # the first core speaks for all
    except OSError:  # not Linux: the name from platform, no flags
        pass
    name = fields.get("model name") or platform.processor() or platform.machine()
    return name, frozenset(fields.get("flags", "").split())


def cpu_name() -> str:
    return _cpuinfo()[0]


def native_bf16() -> bool:
    """True if this CPU runs bf16 convolutions natively and nothing in the environment forbids it."""
    if not any(flag in _cpuinfo()[1] for flag in NATIVE_BF16_FLAGS):
        return False
    cap = (os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or "ALL").upper()
    return cap in BF16_ISAS


def emulates_bf16() -> bool:
    """True where bf16 can only be emulated: an x86 CPU whose flags are known and lack AVX-512 BF16 and AMX (or
    whose use an ISA cap forbids). It computes bf16 as fp32 plus conversions, so bf16 is never faster there."""
    return bool(_cpuinfo()[1]) and platform.machine().lower() in ("x86_64", "amd64") and not native_bf16()


def gpu_name(device: torch.device | str | None = None) -> str | None:
    if not torch.cuda.is_available():
        return None
    return torch.cuda.get_device_name(device if device is not None and torch.device(device).type == "cuda" else 0)


def machine_info(device: torch.device | str = "cpu") -> dict:
    """One JSON-able dict describing where a figure was measured."""
    device = torch.device(device)
    info = {"cpu": cpu_name(), "cpu_cores": os.cpu_count(), "native_bf16": native_bf16(),
            "torch_threads": torch.get_num_threads(), "torch": torch.__version__, "device": str(device)}
    if device.type == "cuda":
        info["gpu"] = gpu_name(device)
    forced = {k: os.environ[k] for k in ISA_ENV if os.environ.get(k)}
    if forced:
        info["isa_limits"] = forced
    return info


def machine_identity() -> str:
    """Which machine this is, for telling a run moved here from the one that chose its settings: the
    hardware and ISA limits, not the thread count or the torch version (those are settings or upgrades)."""
    limits = ",".join(f"{k}={os.environ[k]}" for k in ISA_ENV if os.environ.get(k))
    return f"{cpu_name()}|{os.cpu_count()} cores|{gpu_name() or 'no GPU'}|{limits}"


def machine_key(device: torch.device | str = "cpu", threads: int | None = None) -> str:
    """Identifies the speed-relevant machine setup: CPU or GPU model, ISA limits, threads (default: this
    process's torch threads), torch version."""
    device = torch.device(device)
    threads = threads or torch.get_num_threads()
    hardware = gpu_name(device) if device.type == "cuda" else cpu_name()
    limits = ",".join(f"{k}={os.environ[k]}" for k in ISA_ENV if os.environ.get(k))
    return f"{device.type}|{hardware}|{limits}|threads={threads}|torch={torch.__version__}"
