"""The Repair networks' trainer on tiny networks: it trains, checkpoints in the shared schema and resumes."""
import pytest

from gan_art.checkpoints import read_config
from gan_art.inpaint import load_inpainter, load_segmenter
from gan_art.repair_training import RepairTrainConfig, train_repair
from gan_art.rundir import RunDir, step_of

TINY = {"inpainter": {"width": 4, "blocks": 1, "downsamples": 2}, "segmenter": {"width": 4}}


@pytest.mark.parametrize("kind", ["inpainter", "segmenter"])
def test_train_checkpoint_and_resume(image_folder, tmp_path, kind):
    cfg = RepairTrainConfig(kind=kind, model=TINY[kind], data=str(image_folder), out=str(tmp_path / "run"),
                            resolution=32, steps=3, batch_size=2, metrics_every=1, precision="fp32", threads=1)
    first = train_repair(cfg, log=lambda line: None)
    assert step_of(first) == 3
    config = read_config(first, kind)
    assert all(config["model"][k] == v for k, v in TINY[kind].items()) and config["training_state"]["opt"]
    resumed = train_repair(RepairTrainConfig(**{**cfg.__dict__, "steps": 5}), log=lambda line: None)
    assert step_of(resumed) == 5 and [m["step"] for m in RunDir(cfg.out).read_metrics()] == [1, 2, 3, 4, 5]
    network = (load_inpainter if kind == "inpainter" else load_segmenter)(resumed)
    assert sum(p.numel() for p in network.parameters()) < 50_000
