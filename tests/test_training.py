import dataclasses
import json
import shutil

import pytest
import torch
from PIL import Image

from gan_art import losses
from gan_art.checkpoints import load_generator, read_config
from gan_art.errors import ConfigError, DatasetError, TrainingError
from gan_art.rundir import RunDir, step_of
from gan_art.training import train
from tests.conftest import REPO, tiny_train_config


@pytest.mark.parametrize("arch", ["stylegan", "dcgan"])
def test_tiny_run_writes_the_run_directory(image_folder, tmp_path, arch):
    cfg = tiny_train_config(image_folder, tmp_path / "run", arch)
    seen = []
    final = train(cfg, on_progress=seen.append)
    run = RunDir(cfg.out)
    assert step_of(final) == 6 and final == run.latest_checkpoint()
    assert [step_of(p) for p in run.sample_grids()] == [0, 3, 6]
    assert [m["step"] for m in run.read_metrics()] == [2, 4, 6]
    assert {"loss_d", "loss_g", "d_real", "d_fake", "r_t", "images_per_s"} <= set(run.read_metrics()[0])
    assert all(-1 <= m["r_t"] <= 1 for m in run.read_metrics())
    assert [p.step for p in seen] == [2, 4, 6]
    assert run.read_status()["state"] == "finished"
    config = read_config(final)
    assert config["data"]["num_images"] == 24 and config["step"] == 6
    load_generator(final)


def test_quality_score_is_logged_when_asked(image_folder, tmp_path):
    cfg = tiny_train_config(image_folder, tmp_path / "run", steps=4, quality_every=2)
    train(cfg)
    rows = RunDir(cfg.out).read_metrics()
    assert all(row["swd_avg"] > 0 for row in rows) and len(rows) == 2


def test_resume_continues_from_the_saved_step(image_folder, tmp_path):
    cfg = tiny_train_config(image_folder, tmp_path / "run", steps=3)
    train(cfg)
    final = train(dataclasses.replace(cfg, steps=7), resume=True)
    assert step_of(final) == 7
    assert read_config(final)["images_seen"] == 7 * cfg.batch_size
    assert [m["step"] for m in RunDir(cfg.out).read_metrics()] == [2, 3, 4, 6, 7]


def test_should_stop_checkpoints_and_marks_stopped(image_folder, tmp_path):
    cfg = tiny_train_config(image_folder, tmp_path / "run", steps=100)
    calls = []
    final = train(cfg, should_stop=lambda: calls.append(1) or len(calls) >= 4)
    assert step_of(final) == 4
    assert RunDir(cfg.out).read_status()["state"] == "stopped"


def test_divergence_is_reported_and_keeps_the_last_good_checkpoint(image_folder, tmp_path, monkeypatch):
    cfg = tiny_train_config(image_folder, tmp_path / "run", steps=10)
    real_d_loss = losses.d_loss
    step = {"n": 0}

    def exploding(real, fake):
        step["n"] += 1
        return real_d_loss(real, fake) * (float("nan") if step["n"] > 4 else 1.0)

    monkeypatch.setattr(losses, "d_loss", exploding)
    with pytest.raises(TrainingError, match="diverged"):
        train(cfg)
    run = RunDir(cfg.out)
    assert run.read_status()["state"] == "failed"
    assert step_of(run.latest_checkpoint()) == 3
    load_generator(run.latest_checkpoint())


def test_no_usable_images_fails_before_training(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "x.png").write_bytes(b"junk")
    with pytest.raises(DatasetError):
        train(tiny_train_config(tmp_path / "data", tmp_path / "run"))
    assert not RunDir(tmp_path / "run").checkpoints()


def test_only_the_newest_checkpoints_are_kept(image_folder, tmp_path):
    cfg = tiny_train_config(image_folder, tmp_path / "run", steps=8, checkpoint_every=1, keep_checkpoints=2)
    train(cfg)
    assert [step_of(p) for p in RunDir(cfg.out).checkpoints()] == [7, 8]


def test_saved_train_config_round_trips(image_folder, tmp_path):
    from gan_art.training import load_run_config

    cfg = tiny_train_config(image_folder, tmp_path / "run", steps=2)
    train(cfg)
    assert load_run_config(cfg.out) == cfg
    assert json.loads(RunDir(cfg.out).config_file.read_text())["model"]["arch"] == "stylegan"
    assert load_run_config(cfg.out, steps=9).steps == 9


def test_machine_settings_are_decided_on_the_machine_that_trains(image_folder, tmp_path):
    """The shipped face model was trained with bf16 on one thread; continued on another machine those
    settings would cost it 20x (issue 24), so a run from a checkpoint or a moved run decides them here."""
    from gan_art.training import load_run_config, run_from_checkpoint

    shipped = json.loads((REPO / "checkpoints" / "faces" / "config.json").read_text())["train"]
    assert (shipped["precision"], shipped["threads"]) == ("bf16", 1)  # what would be inherited
    fresh = run_from_checkpoint(REPO / "checkpoints" / "faces", tmp_path / "from-faces", steps=1)
    assert (fresh.precision, fresh.threads, fresh.device) == ("auto", 0, "auto")
    assert fresh.r1_gamma == shipped["r1_gamma"] and fresh.steps == 1  # the run's own settings do carry over
    chosen = run_from_checkpoint(REPO / "checkpoints" / "faces", tmp_path / "chosen", precision="fp32", threads=2)
    assert (chosen.precision, chosen.threads) == ("fp32", 2)

    cfg = tiny_train_config(image_folder, tmp_path / "run", steps=2)  # fp32 on one thread, device auto
    train(cfg)
    assert load_run_config(cfg.out) == cfg  # same machine: kept
    machine = RunDir(cfg.out).machine_file
    machine.write_text(json.dumps({"machine": "another CPU|64 cores|no GPU|"}))
    moved = load_run_config(cfg.out)
    assert (moved.precision, moved.threads) == ("auto", 0) and moved.steps == cfg.steps
    assert load_run_config(cfg.out, threads=1).threads == 1  # unless the user sets them


def test_a_transfer_run_starts_from_the_parent_with_its_first_blocks_frozen(image_folder, tmp_path):
    from gan_art.checkpoints import STATE_FILE, export_checkpoint, read_tensors
    from gan_art.models.config import ModelConfig
    from gan_art.training import generator_blocks_to_freeze, transfer_config

    parent_run = tiny_train_config(image_folder, tmp_path / "parent", steps=3)
    train(parent_run)
    parent = export_checkpoint(RunDir(parent_run.out).latest_checkpoint(), tmp_path / "parent-model",
                               with_training_state=True)
    cfg = transfer_config(parent, str(image_folder), str(tmp_path / "child"), steps=2, freeze_d=1, freeze_g=1,
                          batch_size=4, sample_every=1, sample_grid=2, precision="fp32", threads=1)
    assert cfg.model == parent_run.model and cfg.init_from == str(parent)
    final = train(cfg)
    assert read_config(final)["step"] == 2  # a new run: its own step count
    card = (export_checkpoint(final, tmp_path / "promoted") / "MODEL_CARD.md").read_text()
    assert "Fine-tuned from: `parent-model`" in card
    before, after = read_tensors(parent / STATE_FILE), read_tensors(final / STATE_FILE)
    for net, frozen_prefixes in [("D.", ("D.from_rgb.", "D.blocks.0.")),
                                 ("G.", ("G.mapping.", "G.synthesis.const", "G.synthesis.blocks.0.conv"))]:
        frozen = [k for k in after if k.startswith(frozen_prefixes) and not k.endswith("w_avg")]  # a statistic
        trained = [k for k in after if k.startswith(net) and k not in frozen and "weight" in k]
        assert frozen and all(torch.equal(after[k].float(), before[k].float()) for k in frozen)
        assert any(not torch.equal(after[k].float(), before[k].float()) for k in trained)
    assert not torch.equal(after["G.synthesis.blocks.0.to_rgb.weight"], before["G.synthesis.blocks.0.to_rgb.weight"])
    # the recipe leaves the two finest generator blocks to learn, and has nothing to freeze in a DCGAN
    assert [generator_blocks_to_freeze(ModelConfig(resolution=r), 3) for r in (16, 64, 128)] == [1, 3, 3]
    assert generator_blocks_to_freeze(ModelConfig(arch="dcgan", resolution=64), 3) == 0
    with pytest.raises(TrainingError, match="freeze_g 9 needs a style-based generator"):
        train(transfer_config(parent, str(image_folder), str(tmp_path / "deep"), freeze_g=9))
    with pytest.raises(TrainingError, match="resolution 16 there, 32 here"):
        transfer_config(parent, str(image_folder), str(tmp_path / "other"), model={"resolution": 32})
    with pytest.raises(TrainingError, match="no training state"):
        transfer_config(REPO / "checkpoints" / "faces-dcgan", str(image_folder), str(tmp_path / "x"))


def test_the_transfer_recipe_reads_whether_the_users_images_have_colours_of_their_own(tmp_path):
    from gan_art.checkpoints import read_config
    from gan_art.data import load_images
    from gan_art.paths import BUILTIN_FACES, CHECKPOINTS, FACES
    from gan_art.training import COLOUR_SET_LR_D_SCALE, COLOUR_SET_RECIPE, TRANSFER_RECIPE, transfer_config

    faces, grey = tmp_path / "faces", tmp_path / "grey"
    faces.mkdir(), grey.mkdir()
    for i, image in enumerate(load_images(BUILTIN_FACES, 32, max_images=24)[0]):
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(faces / f"{i}.png")
        Image.fromarray(image.permute(1, 2, 0).numpy()).convert("L").save(grey / f"{i}.png")
    colour = transfer_config(CHECKPOINTS / FACES, str(faces), str(tmp_path / "a"))
    monochrome = transfer_config(CHECKPOINTS / FACES, str(grey), str(tmp_path / "b"))
    assert {field: getattr(colour, field) for field in COLOUR_SET_RECIPE} == COLOUR_SET_RECIPE
    assert {field: getattr(monochrome, field) for field in COLOUR_SET_RECIPE} == {
        field: TRANSFER_RECIPE[field] for field in COLOUR_SET_RECIPE}
    parent_lr_d = read_config(CHECKPOINTS / FACES)["train"]["lr_d"]
    assert (colour.lr_d, monochrome.lr_d) == (parent_lr_d * COLOUR_SET_LR_D_SCALE, parent_lr_d)
    assert transfer_config(CHECKPOINTS / FACES, str(grey), str(tmp_path / "c"), augment="cutout").augment == "cutout"


def test_an_anchored_fine_tune_moves_a_fraction_of_the_way_back_to_the_parent_and_holds_there_after_a_resume(
        image_folder, tmp_path):
    from gan_art.checkpoints import STATE_FILE, export_checkpoint, read_tensors
    from gan_art.training import _Trainer, load_run_config, transfer_config

    parent_run = tiny_train_config(image_folder, tmp_path / "parent", steps=2)
    train(parent_run)
    parent = export_checkpoint(RunDir(parent_run.out).latest_checkpoint(), tmp_path / "parent-model",
                               with_training_state=True)
    runs = {anchor: train(transfer_config(parent, str(image_folder), str(tmp_path / f"anchor-{anchor}"), steps=1,
                                          anchor=anchor, batch_size=4, precision="fp32", threads=1))
            for anchor in (0.0, 0.25)}
    before = read_tensors(parent / STATE_FILE)
    free, held = (read_tensors(runs[anchor] / STATE_FILE) for anchor in (0.0, 0.25))
    trained = [k for k in free if k.startswith("G.synthesis.blocks.") and k.endswith("weight")
               and not torch.equal(free[k], before[k])]
    assert trained  # the same first step, then a quarter of the way back to the parent's weights
    for k in trained:
        torch.testing.assert_close(held[k] - before[k], 0.75 * (free[k] - before[k]))
    resumed = _Trainer(transfer_config(parent, str(image_folder), str(tmp_path / "anchor-0.25"), anchor=0.25,
                                       batch_size=4, precision="fp32", threads=1), resume=True).models
    parent_weights = dict(zip(map(id, resumed.anchored[0]), resumed.anchored[1]))
    for name, weight in resumed.G.named_parameters():
        if id(weight) in parent_weights:
            assert torch.equal(parent_weights[id(weight)], before["G." + name])
    with pytest.raises(ConfigError, match="anchor needs init_from"):
        tiny_train_config(image_folder, tmp_path / "scratch", anchor=0.1)
    shutil.rmtree(parent)
    with pytest.raises(TrainingError, match="holds its generator near .*parent-model, which is no longer there"):
        _Trainer(load_run_config(tmp_path / "anchor-0.25"), resume=True)
    assert _Trainer(load_run_config(tmp_path / "anchor-0.25", anchor=0.0, distance_consistency=0.0),
                    resume=True).step == 1


def test_distance_consistency_compares_with_the_parents_generator_from_the_start_and_after_a_resume(image_folder,
                                                                                                   tmp_path):
    from gan_art.checkpoints import STATE_FILE, export_checkpoint, read_tensors
    from gan_art.training import _Trainer, transfer_config

    parent_run = tiny_train_config(image_folder, tmp_path / "parent", steps=2)
    train(parent_run)
    parent = export_checkpoint(RunDir(parent_run.out).latest_checkpoint(), tmp_path / "parent-model",
                               with_training_state=True)
    cfg = transfer_config(parent, str(image_folder), str(tmp_path / "child"), steps=2, batch_size=4, anchor=0.0,
                          precision="fp32", threads=1)
    assert cfg.distance_consistency > 0  # the recipe's
    train(cfg)
    assert all(m["loss_dc"] >= 0 for m in RunDir(cfg.out).read_metrics())
    before = read_tensors(parent / STATE_FILE)
    for trainer in (_Trainer(cfg, resume=True), _Trainer(dataclasses.replace(cfg, out=str(tmp_path / "new")), False)):
        kept = trainer.models.G_parent
        assert not kept.training and not any(p.requires_grad for p in kept.parameters())
        assert all(torch.equal(value, before["G." + name]) for name, value in kept.state_dict().items())
    with pytest.raises(ConfigError, match="distance_consistency needs init_from"):
        tiny_train_config(image_folder, tmp_path / "scratch", distance_consistency=1.0)


def test_a_reconstruction_loss_pulls_the_generator_towards_the_training_images_at_their_encoder_latents(
        image_folder, tmp_path):
    from gan_art.checkpoints import export_checkpoint
    from gan_art.encoder import load_encoder
    from gan_art.images import to_float
    from gan_art.paths import CHECKPOINTS, FACES
    from gan_art.training import _Trainer, transfer_config

    encoder = load_encoder(CHECKPOINTS / FACES)

    def trained_for_three_steps(weight: float) -> _Trainer:
        cfg = transfer_config(CHECKPOINTS / FACES, str(image_folder), str(tmp_path / f"weight-{weight}"),
                              batch_size=4, feature_d=0.0, reconstruction=weight, precision="fp32", threads=1)
        trainer = _Trainer(cfg, resume=False)
        trainer.load_data()
        for _ in range(3):
            trainer.train_step()
        return trainer

    pulled, free = trained_for_three_steps(100.0), trained_for_three_steps(0.0)
    ws, images = pulled.paired
    assert len(images) == len(free.images) and free.paired is None
    with torch.no_grad():
        torch.testing.assert_close(ws[:, -1], encoder(to_float(images)))
        errors = [losses.coarse_l1(trainer.models.G.synthesis(ws), to_float(images)) for trainer in (pulled, free)]
    assert errors[0] < 0.95 * errors[1]  # 0.88 here

    parent_run = tiny_train_config(image_folder, tmp_path / "parent", steps=1)  # a parent without an encoder
    train(parent_run)
    parent = export_checkpoint(RunDir(parent_run.out).latest_checkpoint(), tmp_path / "parent-model",
                               with_training_state=True)
    assert transfer_config(parent, str(image_folder), str(tmp_path / "child")).reconstruction == 0
    with pytest.raises(TrainingError, match="reconstruction needs an encoder beside"):
        train(transfer_config(parent, str(image_folder), str(tmp_path / "child"), reconstruction=1.0, steps=1))
    with pytest.raises(ConfigError, match="reconstruction needs init_from"):
        tiny_train_config(image_folder, tmp_path / "scratch", reconstruction=1.0)


def test_a_feature_discriminator_trains_and_saves_its_heads_only_and_a_resumed_run_gets_them_back(image_folder,
                                                                                                    tmp_path):
    from gan_art.checkpoints import STATE_FILE, export_checkpoint, read_tensors
    from gan_art.training import _Trainer, transfer_config

    parent_run = tiny_train_config(image_folder, tmp_path / "parent", steps=2)
    train(parent_run)  # a parent without feature heads: a transfer run starts them afresh
    parent = export_checkpoint(RunDir(parent_run.out).latest_checkpoint(), tmp_path / "parent-model",
                               with_training_state=True)
    cfg = transfer_config(parent, str(image_folder), str(tmp_path / "child"), steps=2, feature_d=1.0, batch_size=4,
                          sample_every=1, sample_grid=2, precision="fp32", threads=1)
    final = train(cfg)
    metrics = RunDir(cfg.out).read_metrics()[-1]
    assert all(0 < metrics[k] < 10 for k in ("loss_fd", "loss_fg"))
    saved = read_tensors(final / STATE_FILE)
    heads = {k[len("FD."):]: v for k, v in saved.items() if k.startswith("FD.")}
    assert heads and not any(k.startswith("features") for k in heads)  # the ImageNet network is not copied
    assert any(k.startswith("opt_fd.") for k in saved)
    resumed = _Trainer(cfg, resume=True).models.FD
    assert all(torch.equal(v, heads[k]) for k, v in resumed.heads.state_dict().items())
    assert not resumed.train().features.training  # ImageNet's batch-norm statistics, never a batch's
    with pytest.raises(ConfigError, match="feature_d"):
        dataclasses.replace(cfg, feature_d=-1.0)
    with pytest.raises(ConfigError, match="unknown augmentation"):
        dataclasses.replace(cfg, feature_d_augment="half_color,blur")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_tiny_run_trains_on_the_gpu_with_precision_auto(image_folder, tmp_path):
    checkpoint = train(tiny_train_config(image_folder, tmp_path / "run", device="cuda", precision="auto", threads=0))
    config = json.loads((checkpoint / "config.json").read_text())
    assert config["hardware"].startswith("1x ") and set(config["precision"]["seconds_per_step"]) >= {"fp32", "fp16"}


def test_a_discriminator_that_memorises_its_images_is_said_in_the_status(image_folder, tmp_path):
    """r_t (the mean sign of D on reals) above ADA's 0.6: the run's status message says so, where the tab shows it."""
    from gan_art.training import MEMORISING_R_T, memorising_note

    assert memorising_note({"r_t": MEMORISING_R_T - 0.1}) == ""
    assert "memorising" in memorising_note({"r_t": 0.9})
    assert "memorising" in memorising_note({"r_t": 0.9, "color_strength": 1.0})  # nothing left to raise
    assert memorising_note({"r_t": 0.9, "color_strength": 0.5}) == ""  # ada_target's colour has room to rise
    cfg = tiny_train_config(image_folder, tmp_path / "run", steps=30, max_images=2, augment="", mirror=False,
                            lr_d=0.01, metrics_every=10)
    train(cfg)
    run = RunDir(cfg.out)
    assert run.read_metrics()[-1]["r_t"] > MEMORISING_R_T  # two images, no augmentation: D learns them (0.9)
    assert "memorising the training images" in run.read_status()["message"]


def test_the_colour_augmentation_strength_follows_r_t_and_is_kept_on_resume(image_folder, tmp_path):
    """ADA's controller: down while D does not overfit (r_t below the target), up while it does, within [0, 1]."""
    from gan_art.augment import color
    from gan_art.training import ADA_INTERVAL, _Trainer

    x = torch.rand(2, 3, 8, 8) * 2 - 1
    assert torch.allclose(color(x, torch.Generator(), 0.0), x) and not torch.allclose(color(x, torch.Generator()), x)
    cfg = tiny_train_config(image_folder, tmp_path / "run", steps=8, augment="color,translation", ada_target=0.6,
                            ada_kimg=ADA_INTERVAL * 4 / 1000 / 0.5)  # half the range per adjustment
    trainer = _Trainer(cfg, resume=False)
    strengths = []
    for r_t in [0.5] * 8 + [0.7] * 4 + [1.0] * 4 + [-1.0] * 3:
        trainer.step += 1
        trainer.adapt_color_strength(torch.tensor(r_t))
        strengths.append(trainer.models.color_strength)
    assert strengths[3::4] == [0.5, 0.0, 0.5, 1.0] and strengths[-1] == 1.0  # adjusted every ADA_INTERVAL steps
    final = train(cfg)
    saved = read_config(final)["color_strength"]
    assert 0 <= RunDir(cfg.out).read_metrics()[-1]["color_strength"] <= 1 and saved in (0.0, 0.5, 1.0)
    assert _Trainer(cfg, resume=True).models.color_strength == saved
    with pytest.raises(ConfigError, match="ada_target"):
        dataclasses.replace(cfg, ada_target=1.5)
    uncoloured = dataclasses.replace(cfg, augment="translation", out=str(tmp_path / "uncoloured"))
    train(uncoloured)  # nothing to adapt: no strength in its metrics, so no memorising warning is held back
    assert "color_strength" not in RunDir(uncoloured.out).read_metrics()[-1]
