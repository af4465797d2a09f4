#!/usr/bin/env bash
# The whole GPU job of one lent H100 session, in one command of about 9 minutes (issue #15):
#
#   OUT=/some/folder bash scripts/gpu_job.sh DATA_ZIP [TRAIN_MINUTES] [BENCH_MINUTES]
#
# 1. trains the 128 px face model (stylegan, width 32, channels up to 256, batch 64, precision auto,
#    channels_last) on DATA_ZIP for TRAIN_MINUTES of wall-clock time, checkpointing every minute;
# 2. every minute, and at the end, packs the newest checkpoint (EMA generator + training state, fp16) into
#    $OUT as faces128.tar.part-aa, -ab, ... (15 MiB each; at most 8 files come back), so a command cut
#    short still returns a model;
# 3. copies metrics.jsonl and the last sample grid into $OUT;
# 4. with the time left: our training loop vs the classic pytorch-example loop on the GPU, and Style's
#    detailed mode at 512 px (benchmarks.jsonl).
#
# The call (the device machine gets the working tree plus carried paths, 64 MiB in all; checkpoints/ is 54 MB,
# of which only the VGG16 that Style's detailed mode needs, 5.6 MB, travels):
#   mkdir -p gpu-data && cp ../shared/data/utkface/train-128-q80.zip gpu-data/     # 42 MB, ignored by git
#   git rm -r -q --cached checkpoints && echo /checkpoints/ >> .git/info/exclude     # keep the weights behind
#   git add -f checkpoints/vgg16-relu4_1                                             # but the VGG16
#   device run: command "OUT=$OUT bash scripts/gpu_job.sh gpu-data/train-128-q80.zip 6.0 1.5",
#               carry ["gpu-data"], timeout_s 600                                    # ~56 MB travel
#   git reset -q && sed -i '/^\/checkpoints\/$/d' .git/info/exclude                   # never commit that state
# Put the model back together here: cat faces128.tar.part-* | tar -x -C /some/folder
# Rehearsed end to end on a CPU, in a Python without Gradio, imageio or onnxruntime (as on the device):
#   GPU_JOB_TINY=1 OUT=/tmp/out bash scripts/gpu_job.sh ../shared/data/utkface/train-128-q80.zip 0.3 1
set -uo pipefail
DATA=${1:?usage: OUT=folder bash scripts/gpu_job.sh DATA_ZIP [TRAIN_MINUTES] [BENCH_MINUTES]}
TRAIN_MINUTES=${2:-6.0}
BENCH_MINUTES=${3:-1.5}
: "${OUT:?set OUT to the folder whose files come back}"
export PYTHONUNBUFFERED=1
RUN=$(mktemp -d)/faces128
LICENSE="UTKFace: non-commercial research use only; image copyright stays with the original owners (Zhang, Song, Qi, CVPR 2017)"
if [ -n "${GPU_JOB_TINY:-}" ]; then  # the CPU rehearsal: same code path, a model and batch a CPU trains in seconds
  MODEL=(--resolution 16 --z-dim 16 --w-dim 16 --mapping-layers 2 --width 4 --max-channels 8)
  TRAIN=(--batch-size 4 --device cpu --max-images 256 --checkpoint-minutes 0.1 --sample-every 20)
  BENCH=(--steps 2 --warmup 1 --images 256 --stylegan-resolution 16 --device cpu)
  STYLE=(--device cpu --detailed-size 64 --iterations 5 --repeats 1)
else
  MODEL=(--resolution 128 --z-dim 256 --w-dim 256 --mapping-layers 4 --width 32 --max-channels 256)
  TRAIN=(--batch-size 64 --device cuda --threads 8 --checkpoint-minutes 1 --sample-every 500)
  BENCH=(--steps 30 --warmup 10 --device cuda)
  STYLE=(--device cuda --detailed-size 512 --iterations 300 --threads 8)
fi

pack() {  # the newest complete checkpoint -> $OUT/faces128.tar.part-*
  local checkpoint
  checkpoint=$(ls -d "$RUN"/checkpoints/step-* 2>/dev/null | tail -1)
  [ -n "$checkpoint" ] || return 0
  rm -rf "$RUN/export" && python -m gan_art export --checkpoint "$checkpoint" --out "$RUN/export/faces128" \
    --with-training-state >/dev/null || return 0
  rm -f "$OUT"/faces128.tar.part-* && tar -C "$RUN/export" -cf - faces128 | split -b 15m - "$OUT/faces128.tar.part-"
  cp "$RUN/metrics.jsonl" "$OUT/" 2>/dev/null
  cp "$(ls "$RUN"/samples/*.png | tail -1)" "$OUT/samples.png" 2>/dev/null
  echo "packed $(basename "$checkpoint")"
}

started=$(date +%s)
python -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), \
torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"
python -m gan_art --debug train --data "$DATA" --out "$RUN" "${MODEL[@]}" "${TRAIN[@]}" --steps 100000000 \
  --max-minutes "$TRAIN_MINUTES" --metrics-every 100 --precision auto --data-license "$LICENSE" \
  > "$OUT/train.log" 2>&1 &
trainer=$!
while kill -0 "$trainer" 2>/dev/null; do  # pack every minute so that a cut-short command still returns a model
  sleep 60 & wait $!
  kill -0 "$trainer" 2>/dev/null && pack
done
wait "$trainer"; echo "training exited with $? after $(( $(date +%s) - started )) s"
tail -n 5 "$OUT/train.log"
pack

deadline=$(( $(date +%s) + ${BENCH_MINUTES%.*} * 60 + 30 ))
left() { echo $(( deadline - $(date +%s) )); }
if [ "$(left)" -gt 20 ]; then
  timeout "$(left)" python benchmarks/train_throughput.py --data "$DATA" "${BENCH[@]}" >> "$OUT/benchmarks.jsonl"
fi
if [ "$(left)" -gt 20 ]; then
  timeout "$(left)" python benchmarks/style_speed.py "${STYLE[@]}" >> "$OUT/benchmarks.jsonl"
fi
cat "$OUT/benchmarks.jsonl" 2>/dev/null
echo "done after $(( $(date +%s) - started )) s; in \$OUT: $(ls "$OUT" | tr '\n' ' ')"
