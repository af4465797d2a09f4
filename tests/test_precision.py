"""Precision auto: the decision rule, the cache, the probe on a CPU that emulates bf16, and runs that record it."""
import json
import os
import subprocess
import sys
from dataclasses import replace

import pytest
import torch

from gan_art import precision
from gan_art.machine import machine_info, native_bf16
from gan_art.rundir import RunDir
from gan_art.training import precision_key, train
from tests.conftest import REPO, tiny_train_config

CPU = torch.device("cpu")


def test_a_lower_precision_is_kept_only_where_it_is_measurably_faster():
    assert precision.decide({"fp32": 1.0, "bf16": 12.0}, CPU)[0] == "fp32"
    assert "12.0x slower" in precision.decide({"fp32": 1.0, "bf16": 12.0}, CPU)[1]
    assert precision.decide({"fp32": 1.0, "bf16": 0.5}, CPU) == ("bf16", "bf16 — 2.0x faster than fp32 on this CPU")
    assert precision.decide({"fp32": 1.0, "bf16": 0.98}, CPU)[0] == "fp32"  # within timing noise


def fake_steps(seconds_per_image: dict[str, float], calls: dict[str, list[int]]):
    """make_step for precision.measure whose steps 'take' a time proportional to the batch on a fake clock."""
    clock = [0.0]

    def make_step(name, batch_size):
        def step():
            calls.setdefault(name, []).append(batch_size)
            clock[0] += seconds_per_image[name] * batch_size
        return step

    return make_step, clock


@pytest.fixture
def bf16_is_a_candidate(monkeypatch):
    """The fake-clock tests judge a bf16 that could win, as on a CPU with AVX-512 BF16 or AMX."""
    monkeypatch.setattr(precision, "emulates_bf16", lambda: False)


def test_a_far_slower_candidate_is_screened_at_a_small_batch_and_never_run_at_full_size(monkeypatch,
                                                                                        bf16_is_a_candidate):
    calls = {}
    make_step, clock = fake_steps({"fp32": 0.01, "bf16": 0.13}, calls)
    monkeypatch.setattr(precision.time, "perf_counter", lambda: clock[0])
    seconds = precision.measure(make_step, 32, CPU)
    assert set(calls["bf16"]) == {4}  # screened at an eighth of the batch only
    assert 32 in calls["fp32"] and calls["fp32"].count(32) >= 3  # a warm-up and at least two timed steps
    assert seconds == {"fp32": 0.32, "bf16": 4.16}  # bf16 extrapolated from the screening ratio


def test_fp32_alone_is_not_screened(monkeypatch):
    """Where bf16 would be emulated only fp32 is timed, and only at the full batch: screening decides nothing."""
    monkeypatch.setattr(precision, "emulates_bf16", lambda: True)
    calls = {}
    make_step, clock = fake_steps({"fp32": 0.01}, calls)
    monkeypatch.setattr(precision.time, "perf_counter", lambda: clock[0])
    assert precision.measure(make_step, 32, CPU) == {"fp32": 0.32}
    assert set(calls) == {"fp32"} and set(calls["fp32"]) == {32} and len(calls["fp32"]) >= 3


def test_auto_is_measured_once_per_machine_and_an_explicit_choice_wins(monkeypatch, bf16_is_a_candidate):
    calls = {}
    make_step, clock = fake_steps({"fp32": 0.02, "bf16": 0.01}, calls)
    monkeypatch.setattr(precision.time, "perf_counter", lambda: clock[0])
    assert precision.choose("fp32", "key-a", make_step, 16, CPU).precision == "fp32" and not calls
    first = precision.choose("auto", "key-a", make_step, 16, CPU)
    assert first.precision == "bf16" and first.seconds_per_step == {"fp32": 0.32, "bf16": 0.16}
    count = sum(map(len, calls.values()))
    assert precision.choose("auto", "key-a", make_step, 16, CPU) == first  # from the cache
    assert sum(map(len, calls.values())) == count
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "SSE41")  # another machine as far as speed goes
    precision.choose("auto", "key-a", make_step, 16, CPU)
    assert sum(map(len, calls.values())) > count


def test_forcing_avx2_hides_native_bf16(monkeypatch):
    monkeypatch.delenv("ATEN_CPU_CAPABILITY", raising=False)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert not native_bf16()
    assert machine_info()["isa_limits"] == {"ONEDNN_MAX_CPU_ISA": "AVX2"}


def test_the_probe_command_on_a_cpu_that_emulates_bf16_times_fp32_only_and_says_why(tmp_path, monkeypatch):
    """End to end on a CPU without AVX-512 BF16/AMX (forced here): bf16, which such a CPU computes as fp32 plus
    conversions, is not timed, and the reason says so (on an x86 CPU; elsewhere both are timed and the choice is
    the decision rule applied to the timings)."""
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2", "OMP_NUM_THREADS": "1",
           "GAN_ART_CACHE": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "gan_art", "probe-precision", "--resolution", "16",
                             "--z-dim", "64", "--w-dim", "64", "--width", "32", "--max-channels", "128",
                             "--batch-size", "16", "--threads", "1", "--device", "cpu", "--json"],
                            cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    choice = json.loads(result.stdout.splitlines()[-1])
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert set(choice["seconds_per_step"]) == set(precision.candidates(CPU)) and choice["requested"] == "auto"
    if precision.emulates_bf16():
        assert choice["precision"] == "fp32" and "no native bf16" in choice["reason"]
    expected, _ = precision.decide(choice["seconds_per_step"], CPU)
    assert choice["precision"] == expected and choice["reason"].startswith(expected)


def test_a_run_records_its_precision_and_why(image_folder, tmp_path):
    cfg = tiny_train_config(image_folder, tmp_path / "run", precision="auto")
    checkpoint = train(cfg)
    recorded = json.loads((checkpoint / "config.json").read_text())["precision"]
    assert recorded["requested"] == "auto" and recorded["precision"] in ("fp32", "bf16")
    assert set(recorded["seconds_per_step"]) == set(precision.candidates(CPU)) and recorded["reason"]
    status = RunDir(tmp_path / "run").read_status()
    assert status["precision"] == recorded["precision"] and status["precision_note"] == recorded["reason"]


@pytest.mark.parametrize("explicit", ["fp32", "bf16"])
def test_an_explicit_precision_is_used_as_given(image_folder, tmp_path, explicit):
    checkpoint = train(tiny_train_config(image_folder, tmp_path / "run", precision=explicit))
    recorded = json.loads((checkpoint / "config.json").read_text())["precision"]
    assert recorded["precision"] == explicit and recorded["seconds_per_step"] == {}


def test_a_transfer_run_is_timed_with_its_frozen_blocks_and_feature_discriminator(image_folder, tmp_path):
    # frozen blocks skip part of the backward and the feature discriminator adds to it, so a probe without them
    # would misjudge the Train tab's estimate
    scratch = tiny_train_config(image_folder, tmp_path / "run")
    transfer = replace(scratch, init_from=str(tmp_path / "parent"), freeze_d=1, freeze_g=1)
    assert len({precision_key(scratch, 8), precision_key(transfer, 8),
                precision_key(replace(transfer, feature_d=1.0), 8)}) == 3
    assert precision_key(scratch, 8) == precision_key(replace(scratch, init_from=str(tmp_path / "parent")), 8)


def test_the_tab_says_when_the_chosen_precision_was_not_timed():
    from gan_art.runs import Estimate
    from gan_art.ui.train import estimate_text

    choice = precision.PrecisionChoice("fp32", "auto", {"fp32": 1.0}, "fp32 — this CPU has no native bf16")
    assert "not timed" not in estimate_text(Estimate(choice, "fp32", 32.0), 100, 32)
    assert "bf16 (your choice; not timed here" in estimate_text(Estimate(choice, "bf16", 32.0), 100, 32)


def test_the_tab_says_how_long_a_fine_tune_takes_to_look_right_at_this_machines_speed():
    from gan_art.runs import Estimate
    from gan_art.ui.train import EXPECT_FROM_SCRATCH, estimate_text

    choice = precision.PrecisionChoice("fp32", "auto", {"fp32": 1.0}, "fp32")
    slow = estimate_text(Estimate(choice, "fp32", 10.0), 100, 32, start_from="faces")
    fast = estimate_text(Estimate(choice, "fp32", 100.0), 100, 32, start_from="faces")
    assert "5,000 images (≈ 8 min here)" in slow and "13,000 (≈ 22 min)" in slow
    assert "5,000 images (≈ 1 min here)" in fast and "13,000 (≈ 2 min)" in fast
    assert estimate_text(Estimate(choice, "fp32", 10.0), 100, 32).endswith(EXPECT_FROM_SCRATCH)


def test_a_fine_tunes_default_length_ends_at_the_recipes_images_on_a_fast_machine_only():
    from gan_art.paths import BUILTIN_FACES, CHECKPOINTS, FACES
    from gan_art.runs import Estimate, TrainRequest
    from gan_art.training import TRANSFER_IMAGES, transfer_config

    choice = precision.PrecisionChoice("fp32", "auto", {"fp32": 1.0}, "fp32")
    slow, fast = Estimate(choice, "fp32", 10.0), Estimate(choice, "fp32", 100.0)
    fine_tune = TrainRequest(start_from="faces", batch_size=16, minutes=12.0)
    assert slow.default_steps(fine_tune) == slow.steps_for(12.0, 16) == 450  # 7,200 images in 12 minutes
    assert fast.default_steps(fine_tune) == 813  # not 4,500: 13,008 images
    assert fast.default_steps(replace(fine_tune, batch_size=8)) * 8 >= TRANSFER_IMAGES  # images, not steps
    # the CLI's recipe ends at the same images, at its batch or the one asked for
    for batch_size in (None, 8):
        cfg = transfer_config(CHECKPOINTS / FACES, str(BUILTIN_FACES), "out", batch_size=batch_size)
        assert cfg.steps == fast.default_steps(replace(fine_tune, batch_size=cfg.batch_size))
    assert fast.default_steps(replace(fine_tune, start_from="")) == 4500  # from scratch: the minutes only
