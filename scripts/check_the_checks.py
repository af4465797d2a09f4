"""Checks that can fail: each mended check of issue 25, run against a broken version of the product.

    python scripts/check_the_checks.py [NAME ...]     # all mutations, or those whose name contains NAME

Applies one textual mutation at a time to a source file, runs the test that should catch it, and restores the
file; prints one JSON line per mutation ("failed": true is what we want). Run it on a clean working tree.
"""
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# (what is broken, file, code, broken code, the test that must fail)
MUTATIONS = [
 ("feathering does nothing", "gan_art/fill.py", "    if feather <= 0:\n", "    if True:  # MUTANT\n",
  "tests/test_inpaint.py::test_feathering_smooths_the_seam_and_stays_inside_the_mask"),
 ("inversion keeps working after Stop", "gan_art/invert.py",
  "    yield InversionStep(0, ws.detach().clone(), _image(generator, ws), start_loss)\n",
  "    try:\n        yield InversionStep(0, ws.detach().clone(), _image(generator, ws), start_loss)\n"
  "    finally:\n        generator.synthesis(ws)  # MUTANT\n",
  "tests/test_faces.py::test_stopping_an_inversion_stops_at_once"),
 ("detailed style keeps working after Stop", "gan_art/style.py",
  "            yield step, tensor_to_pil(image)\n",
  "            try:\n                yield step, tensor_to_pil(image)\n"
  "            finally:\n                vgg(preprocess(image), STYLE_LAYERS)  # MUTANT\n",
  "tests/test_style.py::test_detailed_mode_streams_and_stops_promptly"),
 ("probe ignores its own timings", "gan_art/precision.py",
  '    choice = PrecisionChoice(precision, "auto", seconds, reason)\n',
  '    choice = PrecisionChoice("bf16", "auto", seconds, reason)  # MUTANT\n',
  "tests/test_precision.py::test_the_probe_command_times_both_and_chooses_by_its_own_timings"),
 ("find-damage reports a made-up coverage", "gan_art/inpaint.py",
  "    return float((np.asarray(mask) >= 128).mean())", "    return 0.5  # MUTANT",
  "tests/test_app_repair.py::test_repair_and_find_damage_through_the_named_api"),
 ("stylize returns the photo unchanged", "gan_art/style.py",
  "    result = stylizer.transform_image(content, vector)\n", "    result = content  # MUTANT\n",
  "tests/test_app_explore.py::test_stylize_in_chromium"),
 ("repair training records the default network", "gan_art/repair_training.py",
  '"model": to_dict(self.cfg.model),', '"model": to_dict(type(self.cfg.model)()),  # MUTANT\n',
  "tests/test_repair_training.py::test_train_checkpoint_and_resume"),
 ("inpainter weights random", "gan_art/checkpoints.py",
  "    load_weights(module, read_tensors(file), file)\n",
  "    load_weights(module, read_tensors(file), file) if kind != 'inpainter' else None  # MUTANT\n",
  "tests/test_shipped_models.py::test_inpainter_beats_telea_on_large_holes"),
 ("damage detector weights random", "gan_art/checkpoints.py",
  "    load_weights(module, read_tensors(file), file)\n",
  "    load_weights(module, read_tensors(file), file) if kind != 'segmenter' else None  # MUTANT\n",
  "tests/test_shipped_models.py::test_damage_detector_finds_synthetic_damage"),
 ("encoder guesses the average face", "gan_art/encoder.py",
  "    return encoder.eval()\n",
  "    encoder.load_state_dict({k: v * 0 if k != 'w_avg' else v for k, v in encoder.state_dict().items()})"
  "  # MUTANT\n    return encoder.eval()\n",
  "tests/test_shipped_models.py::test_the_face_encoder_guesses_real_faces_far_better_than_the_average_face"),
 ("built-in faces recorded by absolute path", "gan_art/studio.py",
  "            return str(BUILTIN_FACES.relative_to(REPO)), BUILTIN_LICENSE",
  "            return str(BUILTIN_FACES), BUILTIN_LICENSE  # MUTANT",
  "tests/test_app_train.py::test_start_watch_stop_and_explore_the_result"),
 ("auth ignored", "app.py", "auth=auth,", "auth=None,  # MUTANT\n",
  "tests/test_hardening.py::test_auth_protects_the_app"),
 ("classifier halves not restated", "gan_art/attributes.py",
  '    return {labelled[i] for i in training_halves(len(labelled))[classifier].tolist()}',
  '    return set(labelled[:32])  # MUTANT',
  "tests/test_untested_paths.py::test_attribute_classifiers_train_on_tiny_labelled_data_and_load"),
]


def main(only: list[str]) -> None:
    for name, file, old, new, test in MUTATIONS:
        if only and not any(word in name for word in only):
            continue
        path = REPO / file
        original = path.read_text()
        if old not in original:
            raise SystemExit(f"{name}: the code to break is no longer in {file}; update this mutation")
        path.write_text(original.replace(old, new, 1))
        try:
            command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-n", "0", test]
            run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=900)
        finally:
            path.write_text(original)
        summary = [line for line in run.stdout.splitlines() if line.strip()][-1]
        print(json.dumps({"mutation": name, "test": test, "failed": run.returncode != 0, "summary": summary}),
              flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
