import json

import pytest
import torch

from gan_art.checkpoints import flatten_optimizer, load_generator, unflatten_optimizer, write_checkpoint
from gan_art.config import to_dict
from gan_art.errors import CheckpointError
from gan_art.explore import generate_seeds
from gan_art.models import build_generator
from tests.conftest import REPO, tiny_model


def save_tiny(path, arch="stylegan", dtype=None):
    torch.manual_seed(0)
    cfg = tiny_model(arch)
    G = build_generator(cfg).eval()
    write_checkpoint(path, {"model": to_dict(cfg), "step": 5}, G, dtype=dtype)
    return G


@pytest.mark.parametrize("arch", ["stylegan", "dcgan"])
def test_round_trip_is_bit_exact(tmp_path, arch):
    G = save_tiny(tmp_path / "ckpt", arch)
    loaded = load_generator(tmp_path / "ckpt")
    for k, v in G.state_dict().items():
        assert torch.equal(v, loaded.generator.state_dict()[k]), k
    assert torch.equal(generate_seeds(G, [0, 1]), generate_seeds(loaded.generator, [0, 1]))
    assert loaded.config["step"] == 5 and len(loaded.id) == 12


def test_fp16_export_loads_as_fp32(tmp_path):
    G = save_tiny(tmp_path / "ckpt", dtype=torch.float16)
    loaded = load_generator(tmp_path / "ckpt")
    assert loaded.generator.synthesis.const.dtype == torch.float32
    assert torch.allclose(loaded.generator.synthesis.const, G.synthesis.const, atol=1e-2)


def test_rewrite_replaces_atomically_and_leaves_no_temp_folders(tmp_path):
    save_tiny(tmp_path / "ckpt")
    save_tiny(tmp_path / "ckpt")
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt"]


def test_missing_folder(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_generator(tmp_path / "none")


def test_damaged_weights_name_the_file(tmp_path):
    save_tiny(tmp_path / "ckpt")
    (tmp_path / "ckpt" / "generator.safetensors").write_bytes(b"\x00" * 100)
    with pytest.raises(CheckpointError, match="generator.safetensors is damaged"):
        load_generator(tmp_path / "ckpt")


def test_damaged_config(tmp_path):
    save_tiny(tmp_path / "ckpt")
    (tmp_path / "ckpt" / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="config.json is damaged"):
        load_generator(tmp_path / "ckpt")


def test_newer_format_version_is_refused_with_advice(tmp_path):
    save_tiny(tmp_path / "ckpt")
    config = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    config["format_version"] = 99
    (tmp_path / "ckpt" / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="format version 99"):
        load_generator(tmp_path / "ckpt")


def test_weights_that_do_not_match_the_config(tmp_path):
    save_tiny(tmp_path / "ckpt")
    config = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    config["model"]["width"] = 8
    (tmp_path / "ckpt" / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="does not match the architecture"):
        load_generator(tmp_path / "ckpt")


def test_optimizer_state_round_trip():
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    tensors, meta = flatten_optimizer("opt", opt)
    json.dumps(meta)  # the non-tensor part must be JSON
    fresh = torch.optim.Adam(model.parameters(), lr=0.5)
    unflatten_optimizer("opt", fresh, tensors, json.loads(json.dumps(meta)))
    assert fresh.param_groups[0]["lr"] == 0.01
    for a, b in zip(opt.state.values(), fresh.state.values()):
        assert all(torch.equal(a[k], b[k]) for k in a)


def test_shipped_configs_record_no_path_of_the_machine_that_trained_them():
    def strings(value):
        if isinstance(value, dict):
            for item in value.values():
                yield from strings(item)
        elif isinstance(value, list):
            for item in value:
                yield from strings(item)
        elif isinstance(value, str):
            yield value

    for config in sorted((REPO / "checkpoints").glob("*/*.json")):
        absolute = [s for s in strings(json.loads(config.read_text())) if s.startswith(("/", "~"))]
        assert not absolute, f"{config.relative_to(REPO)} records absolute paths {absolute[:3]}"
