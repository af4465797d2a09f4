"""Command line: ``python -m gan_art train|generate|eval|export|stylize|inpaint|...`` (``--help`` lists all)."""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import torch
from PIL import Image

from gan_art.attributes import fit_classifiers, load_classifier
from gan_art.checkpoints import export_checkpoint, load_generator
from gan_art.config import ModelConfig, TrainConfig, dcgan_config, field_help, from_dict
from gan_art.data import IMAGE_EXTENSIONS, load_images
from gan_art.directions import labelled_directions, load_directions, pca_directions, save_directions
from gan_art.encoder import (
    ENCODER_FILE,
    EncoderTraining,
    load_encoder,
    read_encoder_meta,
    save_encoder,
    train_encoder,
)
from gan_art.errors import ConfigError, DatasetError, GanArtError
from gan_art.evaluate import evaluate_checkpoint
from gan_art.explore import generate_seeds, parse_seeds, png_with_recipe
from gan_art.faces import paste_back, shows_a_face
from gan_art.images import decode_image, image_grid, to_float, to_uint8
from gan_art.inpaint import detect_damage, load_inpainter, load_segmenter, repair
from gan_art.masks import mask_from_upload
from gan_art.nets.vgg import load_vgg16
from gan_art.paths import CHECKPOINTS, INPAINTER, MTCNN, RUNS, SEGMENTER, STYLE_MAGENTA, UPSCALER, VGG16
from gan_art.repair_training import RepairTrainConfig, is_holdout, is_validation, train_repair
from gan_art.rundir import RunDir, register_process
from gan_art.runs import find_runs, stop_run
from gan_art.studio import Studio
from gan_art.style import DETAILED_DEFAULT_SIDE, builtin_styles, fast_stylizer, stylize_detailed, stylize_fast
from gan_art.training import (
    MACHINE_SETTINGS,
    TRANSFER_IMAGES,
    choose_precision,
    load_run_config,
    resolve_device,
    run_from_checkpoint,
    train,
    transfer_config,
)
from gan_art.upscale import DEFAULT_DETAIL, load_upscaler, upscale_photo
from gan_art.upscale_training import UpscaleTrainConfig, train_upscaler
from gan_art.worker import StopRequests


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows a flag's default after its help, except where there is none to show (config flags say theirs)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        if action.default in (None, False, argparse.SUPPRESS):
            return action.help or ""
        return super()._get_help_string(action)


def _add_dataclass_flags(parser: argparse.ArgumentParser, cls: type, skip: tuple[str, ...] = (),
                         defaults: dict | None = None) -> None:
    """One ``--flag`` per dataclass field, documented by the field's own comment; the flag's value is None
    unless given, so only given flags override a config (``defaults`` shows other defaults than the class's)."""
    comments = field_help(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        flag = "--" + f.name.replace("_", "-")
        default = (defaults or {}).get(f.name, f.default if f.default is not dataclasses.MISSING else None)
        help_text = f"{comments.get(f.name, '')} (default: {default!r})".replace("%", "%%")  # argparse formats help
        if f.type in ("bool", bool):
            parser.add_argument(flag, type=lambda s: s.lower() in ("1", "true", "yes"), default=None,
                                metavar="BOOL", help=help_text)
        elif f.type in ("dict", dict) or "Config" in str(f.type):  # nested configs come as JSON
            parser.add_argument(flag, type=json.loads, default=None, metavar="JSON", help=help_text)
        else:
            kind = {"int": int, "float": float}.get(str(f.type), str)
            parser.add_argument(flag, type=kind, default=None, metavar=kind.__name__.upper(), help=help_text)


def _given(args: argparse.Namespace, cls: type) -> dict:
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(cls)
            if getattr(args, f.name, None) is not None}


def _refuse_existing_run(out: str) -> None:
    if Path(out).joinpath("checkpoints").is_dir() and any(Path(out, "checkpoints").iterdir()):
        raise ConfigError(f"{out} already holds a run; pass --resume {out} to continue it")


def cmd_train(args: argparse.Namespace) -> None:
    train_values = _given(args, TrainConfig)
    model_values = _given(args, ModelConfig)
    if args.start_from:
        if not (train_values.get("data") and train_values.get("out")):
            raise ConfigError("--start-from needs --data (your images) and --out (the new run directory)")
        cfg = transfer_config(args.start_from, **train_values, model=model_values)
        _refuse_existing_run(cfg.out)
    elif args.resume_from:
        if not train_values.get("out"):
            raise ConfigError("--resume-from needs --out, the new run directory")
        cfg = run_from_checkpoint(args.resume_from, train_values.pop("out"), **train_values)
        args.resume = cfg.out
    elif args.resume:
        cfg = load_run_config(args.resume, **{k: train_values.get(k) for k in ("steps", *MACHINE_SETTINGS)})
        cfg = dataclasses.replace(cfg, out=args.resume)
    else:
        if not train_values.get("data"):
            raise ConfigError("--data is required (an image folder or a zip of images)")
        if model_values.get("arch") == "dcgan":
            base = dcgan_config(**train_values)
            cfg = dataclasses.replace(base, model=dataclasses.replace(base.model, **model_values))
        else:
            cfg = TrainConfig(**train_values, model=ModelConfig(**model_values))
        _refuse_existing_run(cfg.out)

    shown = []

    def report(progress) -> None:
        m = progress.metrics
        if not shown:
            shown.append(progress.precision)
            print(f"precision {progress.precision}", flush=True)
        print(f"step {progress.step}/{progress.steps}  {progress.images_per_s:.1f} img/s  "
              f"loss_d {m['loss_d']:.3f} loss_g {m['loss_g']:.3f} D(x) {m['d_real']:.2f} "
              f"D(G(z)) {m['d_fake']:.2f}  eta {progress.eta_s / 60:.1f} min", flush=True)

    run = RunDir(cfg.out)
    run.path.mkdir(parents=True, exist_ok=True)
    run.send("run")  # a stale "stop" from an earlier `runs stop` must not end this run at once
    stop = StopRequests(run)  # Ctrl-C, SIGTERM and `python -m gan_art runs stop` checkpoint, then stop
    with register_process(run, "cli"):
        final = train(cfg, on_progress=report, should_stop=stop, resume=bool(args.resume))
    if stop.reason:
        print(f"{stop.reason} at a checkpoint; continue with --resume {cfg.out}")
    if final is not None:  # None on the non-zero ranks of a multi-process run
        print(f"checkpoint: {final}")


def cmd_probe_precision(args: argparse.Namespace) -> None:
    if args.config:
        cfg = from_dict(TrainConfig, json.loads(Path(args.config).read_text()))
    else:
        cfg = TrainConfig(**_given(args, TrainConfig), model=ModelConfig(**_given(args, ModelConfig)))
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    choice = choose_precision(dataclasses.replace(cfg, precision="auto"), resolve_device(cfg.device))
    if args.json:
        print(json.dumps(choice.to_dict()))
        return
    for name, seconds in sorted(choice.seconds_per_step.items(), key=lambda item: item[1]):
        print(f"{name}: {seconds:.3f} s/step = {cfg.batch_size / seconds:.1f} images/s")
    print(f"auto chooses {choice.reason}")


def cmd_runs(args: argparse.Namespace) -> None:
    if args.action == "list":
        rows = find_runs(Path(args.runs_dir))
        if not rows:
            print(f"no runs in {args.runs_dir} and no training process running")
        for row in rows:
            speed = f"{row['images_per_s']:.1f} img/s" if row.get("images_per_s") else ""
            print(f"{row['name']:32s} {row['state']:9s} step {row['step']:>7}/{row['steps']:<7} {speed:>12s} "
                  f"{row.get('precision', ''):5s} pid {row.get('pid') or '-':>7}  {row['path']}")
        return
    if not args.run:
        raise ConfigError("name the run to stop (a name from `runs list` or a run directory)")
    print(stop_run(args.run, Path(args.runs_dir), args.wait))


def cmd_generate(args: argparse.Namespace) -> None:
    checkpoint = load_generator(args.checkpoint)
    upscaler = load_upscaler(Path(args.upscaler)) if args.upscale else None
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = parse_seeds(args.seeds)
    for seed in seeds:
        image = generate_seeds(checkpoint.generator, [seed], args.truncation)
        if upscaler is not None:
            image = to_uint8(upscaler(to_float(image), args.detail))
        image_grid(image, 1).save(out / f"seed{seed:06d}.png")
    print(f"wrote {len(seeds)} images ({image.shape[-1]} px) to {out}")


def cmd_upscale(args: argparse.Namespace) -> None:
    root = Path(args.checkpoints_dir)
    upscaler = load_upscaler(root / UPSCALER)

    def one(source: Path, out: Path) -> str:
        photo = decode_image(source)
        if not args.anyway and not shows_a_face(photo, root / MTCNN):
            return "no face found: skipped (the network learned faces; --anyway enlarges it all the same)"
        image, note = upscale_photo(photo, upscaler, args.scale, args.detail)
        image.save(out, format="PNG")
        return f"-> {out} ({image.width}x{image.height}) {note}".rstrip()

    if args.folder:
        files = [p for p in sorted(Path(args.folder).iterdir()) if p.suffix.lower() in IMAGE_EXTENSIONS]
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for i, path in enumerate(files, 1):
            try:
                print(f"[{i}/{len(files)}] {path.name} {one(path, out / f'{path.stem}.png')}", flush=True)
            except GanArtError as exc:  # one bad file does not stop the folder
                print(f"[{i}/{len(files)}] {path.name}: error: {exc}", flush=True)
        return
    if not args.image:
        raise ConfigError("give --image (one photo) or --folder (every image in it)")
    print(f"{args.image} {one(Path(args.image), Path(args.out))}")


def cmd_eval(args: argparse.Namespace) -> None:
    print(json.dumps(evaluate_checkpoint(args.checkpoint, args.data, num_images=args.num_images,
                                         seed=args.seed)))


def cmd_export(args: argparse.Namespace) -> None:
    print(f"exported to {export_checkpoint(args.checkpoint, args.out, with_training_state=args.with_training_state)}")


def cmd_fit_attributes(args: argparse.Namespace) -> None:
    print(json.dumps(fit_classifiers(args.data, args.labels, args.out, args.resolution, args.epochs)))


def cmd_directions(args: argparse.Namespace) -> None:
    checkpoint = load_generator(args.checkpoint)
    directions = pca_directions(checkpoint.generator, args.components, args.samples)
    meta = {"checkpoint_id": checkpoint.id, "pca_samples": args.samples}
    if args.attributes:

        classifier = load_classifier(args.attributes, "a")
        directions += labelled_directions(checkpoint.generator, classifier, num_samples=args.samples // 2)
        meta["labelled_by"] = f"{Path(args.attributes).name}/classifier-a"
    custom = [d for d in load_directions(args.checkpoint) if d.kind == "custom"]
    save_directions(args.checkpoint, directions, meta)
    for d in directions:
        print(f"{d.name:8s} {d.kind:9s} {d.description}")
    if custom:
        print(f"kept {len(custom)} custom directions")


def cmd_train_encoder(args: argparse.Namespace) -> None:
    checkpoint = load_generator(args.checkpoint)
    settings = EncoderTraining(minutes=args.minutes, batch_size=args.batch_size, seed=args.seed,
                               photo_minutes=args.photo_minutes if args.photos else 0.0)
    start = load_encoder(args.checkpoint) if args.resume else None
    if args.resume and start is None:
        raise ConfigError(f"--resume: {args.checkpoint} has no encoder yet")
    photos = held = vgg = None
    if args.photos:
        # the hashed hold-out stays unseen (benchmarks measure on it); validation faces measure this stage
        images, summary = load_images(args.photos, checkpoint.model.resolution)
        train_rows = [i for i, name in enumerate(summary.names) if not (is_holdout(name) or is_validation(name))]
        held_rows = [i for i, name in enumerate(summary.names) if is_validation(name)][:64]
        if not train_rows or not held_rows:
            raise DatasetError(f"{args.photos}: too few faces to train on real faces and measure it")
        photos, held, vgg = images[train_rows], images[held_rows], load_vgg16(path=Path(args.checkpoints_dir) / VGG16)
    print(f"training an encoder for {args.checkpoint}: {args.minutes:g} min on its own faces"
          + (f", then {args.photo_minutes:g} min on {len(photos)} photos" if photos is not None else ""), flush=True)
    encoder, measured = train_encoder(checkpoint.generator, checkpoint.model.resolution, settings,
                                      progress=lambda what, step, loss: print(f"step {step} {what} {loss:.4f}",
                                                                              flush=True),
                                      start=start, photos=photos, held_photos=held, vgg=vgg)
    # a resumed encoder keeps the record of how it was trained before
    earlier = {"resumed_from": read_encoder_meta(args.checkpoint)} if start is not None else {}
    save_encoder(args.checkpoint, encoder, {"checkpoint_id": checkpoint.id, **measured, **earlier})
    print(f"wrote {Path(args.checkpoint) / ENCODER_FILE}: {json.dumps(measured)}")


def cmd_stylize(args: argparse.Namespace) -> None:
    content = decode_image(args.content)
    paintings = builtin_styles()
    style = decode_image(paintings[args.style] if args.style in paintings else args.style)
    root = Path(args.checkpoints_dir)
    if args.mode == "detailed":
        result = stylize_detailed(content, style, size=args.size, iterations=args.iterations, vgg_path=root / VGG16)
    else:
        mask = mask_from_upload(args.mask, content.size) if args.mask else None
        result = stylize_fast(content, [(style, 1.0)], strength=args.strength, style_scale=args.style_scale,
                              keep_colors=args.keep_colors, mask=mask, size=args.size,
                              stylizer=fast_stylizer(root / STYLE_MAGENTA))
    result.save(args.out)
    print(f"wrote {args.out} ({result.width}x{result.height})")


def cmd_train_repair(args: argparse.Namespace) -> None:
    cfg = RepairTrainConfig(**_given(args, RepairTrainConfig))
    if not cfg.data:
        raise ConfigError("--data is required (face images: a folder or a zip)")
    print(f"checkpoint: {train_repair(cfg)}")


def cmd_train_upscaler(args: argparse.Namespace) -> None:
    cfg = UpscaleTrainConfig(**_given(args, UpscaleTrainConfig))
    if not cfg.data:
        raise ConfigError("--data is required (face images: a folder or a zip, ideally above 128 px)")
    run = RunDir(cfg.out)
    run.path.mkdir(parents=True, exist_ok=True)
    run.send("run")
    stop = StopRequests(run)  # Ctrl-C, SIGTERM and `runs stop` write a checkpoint, then stop
    with register_process(run, "cli"):
        final = train_upscaler(cfg, should_stop=stop)
    if stop.reason:
        print(f"{stop.reason} at a checkpoint; run the same command again to continue")
    print(f"checkpoint: {final}")


def cmd_inpaint(args: argparse.Namespace) -> None:
    root = Path(args.checkpoints_dir)
    inpainter = load_inpainter(root / INPAINTER) if args.method == "learned" else None

    def one(image_path: Path, mask_path: Path | None, out: Path) -> str:
        image = decode_image(image_path)
        mask = mask_from_upload(mask_path, image.size) if mask_path else detect_damage(image,
                                                                                       load_segmenter(root / SEGMENTER))
        result = repair(image, mask, args.method, args.feather, inpainter)
        result.image.save(out)
        return result.note

    if args.folder:
        pairs = [(p, p.with_name(f"{p.stem}_mask{p.suffix}")) for p in sorted(Path(args.folder).glob("*"))
                 if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp") and not p.stem.endswith("_mask")]
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for i, (image_path, mask_path) in enumerate(pairs, 1):
            if not mask_path.is_file():
                print(f"[{i}/{len(pairs)}] {image_path.name}: no {mask_path.name}, skipped", flush=True)
                continue
            note = one(image_path, mask_path, out / f"{image_path.stem}.png")
            print(f"[{i}/{len(pairs)}] {image_path.name} -> {out / image_path.stem}.png {note}".rstrip(), flush=True)
        return
    if not args.image:
        raise ConfigError("give --image (and --mask, or none to detect the damage) or --folder")
    note = one(Path(args.image), Path(args.mask) if args.mask else None, Path(args.out))
    print(f"wrote {args.out} {note}".rstrip())


def cmd_invert(args: argparse.Namespace) -> None:
    studio = Studio(checkpoints_root=Path(args.checkpoints_dir), outputs_root=Path(args.out).resolve().parent)
    photo = decode_image(args.image)
    face, count = studio.pick_face(photo, args.checkpoint, args.face, args.aligned)
    if count > 1:
        print(f"{count} faces found; reconstructing face {args.face} (0 is the largest, see --face)")
    last = None
    for last in studio.invert_face(face, args.checkpoint, args.steps):
        step = last[0]
        if step % 50 == 0 or step == args.steps:
            print(f"step {step}/{args.steps}", flush=True)
    image, recipe = studio.render(last[2])
    Path(args.out).write_bytes(png_with_recipe(image, recipe))
    print(f"wrote {args.out} ({image.shape[1]}x{image.shape[0]}, its recipe inside: drop it on Explore to edit)")
    if args.paste_back:
        pasted = paste_back(photo, face, Image.fromarray(image))
        pasted.save(args.paste_back)
        print(f"wrote {args.paste_back} ({pasted.width}x{pasted.height})")


def cmd_edit(args: argparse.Namespace) -> None:
    studio = Studio(checkpoints_root=Path(args.checkpoints_dir), outputs_root=Path(args.out).resolve().parent)
    directions = {}
    for item in args.direction:
        name, _, value = item.partition("=")
        try:
            directions[name.strip()] = float(value)
        except ValueError:
            raise ConfigError(f"--direction {item!r}: write NAME=VALUE, e.g. age=2") from None
    photo = decode_image(args.image)
    face, count = studio.pick_face(photo, args.checkpoint, args.face)
    for note in studio.face_notes(face):
        print(f"note: {note}")
    if count > 1:
        print(f"{count} faces found; editing face {args.face} (0 is the largest, see --face)")
    last = None
    for last in studio.invert_face(face, args.checkpoint, args.steps):
        if last[0] % 50 == 0:
            print(f"reconstructing: step {last[0]}/{args.steps}", flush=True)
    note = studio.reconstruction_note(face, last[2])
    if note:
        print(f"note: {note}")
    recipe = dataclasses.replace(last[2], directions=directions)
    edited = studio.edited_photo(photo, recipe)
    edited.save(args.out)
    print(f"wrote {args.out} ({edited.width}x{edited.height}; {', '.join(args.direction) or 'no edit'})")
    if args.recipe_out:
        image, stamped = studio.render(recipe)
        Path(args.recipe_out).write_bytes(png_with_recipe(image, stamped))
        print(f"wrote {args.recipe_out} (the recipe: drop it on Explore with the photo to go on editing)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gan_art", description=__doc__, formatter_class=_HelpFormatter)
    parser.add_argument("--debug", action="store_true", help="print the traceback of an internal error")
    parser.add_argument("--checkpoints-dir", default=str(CHECKPOINTS),
                        help="folder of the shipped checkpoints the inpaint and stylize commands use")
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str, func) -> argparse.ArgumentParser:
        p = commands.add_parser(name, help=help_text, description=help_text, formatter_class=_HelpFormatter)
        p.set_defaults(func=func)
        return p

    p = command("train", "train a GAN on an image folder or zip", cmd_train)
    _add_dataclass_flags(p, TrainConfig, skip=("model",))
    _add_dataclass_flags(p, ModelConfig)
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its newest checkpoint")
    p.add_argument("--start-from", metavar="CHECKPOINT",
                   help="fine-tune a trained model (e.g. checkpoints/faces) on --data with the transfer recipe "
                        "for grey or for colour images (its architecture, FreezeD, FreezeG, DiffAugment, "
                        "a pull back to its weights, distance consistency with it; "
                        f"see the README); a new run at step 0 that ends after {TRANSFER_IMAGES:,} images unless "
                        "--steps says otherwise")
    p.add_argument("--resume-from", metavar="CHECKPOINT",
                   help="continue a checkpoint exported with --with-training-state in a new run (--out), "
                        "with its own recipe and step count")

    p = command("probe-precision", "time a training step in each precision on this machine and say what "
                "--precision auto chooses (cached per machine and model)", cmd_probe_precision)
    _add_dataclass_flags(p, TrainConfig, skip=("model", "data", "out"))
    _add_dataclass_flags(p, ModelConfig)
    p.add_argument("--config", help="a train_config.json to probe instead of the flags")
    p.add_argument("--json", action="store_true", help="print the choice as one JSON line")

    p = command("runs", "list training runs (started from the app or the CLI, anywhere) or stop one", cmd_runs)
    p.add_argument("action", choices=("list", "stop"), help="list the runs, or stop RUN at its next step")
    p.add_argument("run", nargs="?", help="stop: a run name from `runs list` or a run directory")
    p.add_argument("--runs-dir", default=str(RUNS), help="the app's runs folder, listed besides running processes")
    p.add_argument("--wait", type=float, default=120.0,
                   help="stop: seconds to wait for the run to write its checkpoint and exit")

    p = command("generate", "one PNG per seed from a checkpoint", cmd_generate)
    p.add_argument("--checkpoint", required=True, help="checkpoint folder to sample from")
    p.add_argument("--seeds", default="0-7", help="seeds, e.g. 0-63 or 1,5,9")
    p.add_argument("--out", required=True, help="output folder (seedNNNNNN.png)")
    p.add_argument("--truncation", type=float, default=1.0, help="truncation psi (0 = mean face, 1 = none)")
    p.add_argument("--upscale", action="store_true", help="enlarge 2x with the face upscaler (64 -> 128 px)")
    p.add_argument("--upscaler", default=str(CHECKPOINTS / UPSCALER), help="upscaler checkpoint folder")
    p.add_argument("--detail", type=float, default=DEFAULT_DETAIL,
                   help="upscaler detail: 0 = faithful (smooth), 1 = detailed (invented texture)")

    p = command("eval", "quality figures of a checkpoint against a dataset (one JSON line)", cmd_eval)
    p.add_argument("--checkpoint", required=True, help="checkpoint folder to evaluate")
    p.add_argument("--data", required=True, help="image folder or zip to compare with")
    p.add_argument("--num-images", type=int, default=5000, help="images per side (real and generated)")
    p.add_argument("--seed", type=int, default=0, help="picks the real images and the latents")

    p = command("export", "copy a checkpoint's EMA generator (fp16) into a shippable folder", cmd_export)
    p.add_argument("--checkpoint", required=True, help="run checkpoint folder (checkpoints/step-N)")
    p.add_argument("--out", required=True, help="the new, shippable checkpoint folder")
    p.add_argument("--with-training-state", action="store_true",
                   help="keep float16 G and D weights so training can continue from the export")

    p = command("fit-attributes", "train the gender/age classifiers used for labelled directions",
                cmd_fit_attributes)
    p.add_argument("--data", required=True, help="labelled face images (folder or zip)")
    p.add_argument("--labels", required=True, help="CSV with columns file, age, gender")
    p.add_argument("--out", default="checkpoints/attributes", help="output checkpoint folder")
    p.add_argument("--resolution", type=int, default=64, help="classifier input side in pixels")
    p.add_argument("--epochs", type=int, default=6, help="training passes over the data")

    p = command("directions", "compute (and cache beside it) a checkpoint's latent directions", cmd_directions)
    p.add_argument("--checkpoint", required=True, help="checkpoint folder (directions are saved in it)")
    p.add_argument("--attributes", help="classifier folder (e.g. checkpoints/attributes) for age/gender directions")
    p.add_argument("--components", type=int, default=12, help="principal directions to keep")
    p.add_argument("--samples", type=int, default=20_000, help="latents sampled for the PCA")

    p = command("train-encoder", "train the image-to-latent encoder that speeds up inverting photos", cmd_train_encoder)
    p.add_argument("--checkpoint", required=True, help="generator checkpoint folder (the encoder is saved in it)")
    p.add_argument("--minutes", type=float, default=20.0, help="training time on the generator's own faces")
    p.add_argument("--batch-size", type=int, default=64, help="generated faces per step")
    p.add_argument("--seed", type=int, default=0, help="seeds the weights and the generated faces")
    p.add_argument("--resume", action="store_true", help="go on from the checkpoint's encoder")
    p.add_argument("--photos", help="a zip or folder of real faces aligned like the training faces, to train on next")
    p.add_argument("--photo-minutes", type=float, default=10.0, help="training time on --photos")

    p = command("stylize", "restyle a photo with a painting (fast or detailed mode)", cmd_stylize)
    p.add_argument("--content", required=True, help="the photo to restyle")
    p.add_argument("--style", required=True, help="a style image, or great-wave, starry-night, udnie")
    p.add_argument("--out", required=True, help="output image file (PNG or JPEG)")
    p.add_argument("--mode", choices=("fast", "detailed"), default="fast",
                   help="fast: one network pass; detailed: Gatys optimisation (minutes on a CPU)")
    p.add_argument("--strength", type=float, default=1.0, help="0 = the photo, 1 = full style (fast)")
    p.add_argument("--style-scale", type=float, default=1.0, help="> 1 gives bigger strokes (fast)")
    p.add_argument("--keep-colors", action="store_true", help="keep the photo's colours (fast)")
    p.add_argument("--mask", help="restyle only where this mask is white (fast)")
    p.add_argument("--size", type=int, default=None,
                   help="output long side in px (default: the photo's own, at most 2048 in fast mode and "
                        f"{DETAILED_DEFAULT_SIDE} in detailed mode)")
    p.add_argument("--iterations", type=int, default=300, help="detailed mode: optimisation steps")

    p = command("invert", "find a photo's face in a generator's latent space; writes it as a recipe PNG", cmd_invert)
    p.add_argument("--image", required=True, help="a photo with a face (or a face crop, with --aligned)")
    p.add_argument("--out", required=True, help="the reconstruction (2x with the model's upscaler), recipe inside")
    p.add_argument("--checkpoint", default="faces", help="generator checkpoint name in --checkpoints-dir")
    p.add_argument("--steps", type=int, default=100, help="refinement steps (about 6 s per 100 on 2 cores)")
    p.add_argument("--aligned", action="store_true", help="the image already is a face crop like the training faces")
    p.add_argument("--face", type=int, default=0, help="which face when there are several (0 = the largest)")
    p.add_argument("--paste-back", help="also write the whole photo with the reconstruction blended in")

    p = command("edit", "edit the face in a photo (age, gender, ...) and write the whole photo at its size",
                cmd_edit)
    p.add_argument("--image", required=True, help="a photo with a face")
    p.add_argument("--out", required=True, help="the edited photo (its format from the file name)")
    p.add_argument("--direction", action="append", default=[], metavar="NAME=VALUE",
                   help="a slider to move, e.g. age=2 or gender=-1 (repeat for several)")
    p.add_argument("--face", type=int, default=0, help="which face when there are several (0 = the largest)")
    p.add_argument("--checkpoint", default="faces", help="generator checkpoint name in --checkpoints-dir")
    p.add_argument("--steps", type=int, default=100, help="reconstruction steps (about 6 s per 100 on 2 cores)")
    p.add_argument("--recipe-out", help="also write the edit's recipe PNG (the generator's face, recipe inside)")

    p = command("train-repair", "train the Repair tab's inpainter or damage segmenter on faces", cmd_train_repair)
    _add_dataclass_flags(p, RepairTrainConfig)

    p = command("train-upscaler", "train one stage (fidelity, then detailed) of the 2x face upscaler",
                cmd_train_upscaler)
    _add_dataclass_flags(p, UpscaleTrainConfig)

    p = command("upscale", "enlarge face photos 2x or 4x with the face upscaler", cmd_upscale)
    p.add_argument("--image", help="one photo to enlarge")
    p.add_argument("--folder", help="every image in this folder (written as NAME.png into --out)")
    p.add_argument("--out", required=True, help="output PNG (or folder with --folder)")
    p.add_argument("--scale", type=int, choices=(2, 4), default=2, help="2, or 4 by two passes")
    p.add_argument("--detail", type=float, default=DEFAULT_DETAIL,
                   help="0 = faithful (smooth), 1 = detailed (invented skin and hair texture)")
    p.add_argument("--anyway", action="store_true", help="enlarge photos in which no face is found too")

    p = command("inpaint", "repair a photo (or a folder of name.png + name_mask.png pairs)", cmd_inpaint)
    p.add_argument("--image", help="the damaged photo to repair")
    p.add_argument("--mask", help="white = repair; a transparent PNG works too; omit to detect the damage")
    p.add_argument("--folder", help="batch mode: every name.png with a name_mask.png beside it")
    p.add_argument("--out", required=True, help="output file (or folder in batch mode)")
    p.add_argument("--method", choices=("learned", "telea", "ns"), default="learned",
                   help="learned: our network (faces, large holes); telea / ns: OpenCV (thin scratches)")
    p.add_argument("--feather", type=float, default=0.0, help="blend this many px inside the mask edge")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (GanArtError, OSError) as exc:  # the user's to fix (or the machine's: disk full, permissions)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(f"internal error ({type(exc).__name__}: {exc}); run again with --debug for the traceback, and "
              "please report it", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
