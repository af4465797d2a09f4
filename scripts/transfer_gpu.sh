#!/usr/bin/env bash
# Issue 24 on a lent GPU: (a) how the sketch figure moves when the fine-tune runs far longer than a CPU's
# 10 minutes (recipe and no FreezeG, scored every "10 CPU minutes" of steps); (b) no FreezeG against the
# recipe with more seeds on old photo and sketch. fp32 without TF32, as the target CPUs train.
# TINY=1: the CPU rehearsal (same code path, a few steps). Issue 24's GPU session (8th) ran it as
#   mkdir -p gpu-data && cp ../shared/data/utkface/train-64.zip gpu-data/      # ignored via .git/info/exclude
#   git rm -r -q --cached checkpoints benchmarks/results data, the three listed in .git/info/exclude for the call
#   device run: "OUT=$OUT LIMIT=500 LONG_MIN=5 bash scripts/transfer_gpu.sh", carry ["gpu-data",
#               "checkpoints/faces"], timeout_s 560 (59 MB travel)                # then git reset, never commit that
# LIMIT must leave the long runs time to score every checkpoint they kept after LONG_MIN minutes of steps:
# 500 s with LONG_MIN=5 did not (11 and 10 checkpoints, still scoring), and they were scored in a second call.
set -uo pipefail
export PYTHONUNBUFFERED=1 NVIDIA_TF32_OVERRIDE=0 PYTHONPATH=.:benchmarks
: "${OUT:?}"
LIMIT=${LIMIT:-520}; LONG_MIN=${LONG_MIN:-5}
if [ -n "${TINY:-}" ]; then S1=4; S2=3; BIG=10; EVERY1=2; EVERY2=2; FIX="precision=fp32;batch_size=4"; LONG_MIN=0.2
else S1=545; S2=460; BIG=100000; EVERY1=545; EVERY2=460; FIX="precision=fp32;device=cuda"; fi
python -c "import torch; print('torch', torch.__version__, torch.cuda.is_available() and torch.cuda.get_device_name(0))"
nvidia-smi --query-gpu=name,memory.used --format=csv 2>/dev/null
search() { local name=$1; shift
  timeout "$LIMIT" python benchmarks/transfer_recipe_search.py --data gpu-data/train-64.zip --threads 4 "$@" \
    > "$OUT/$name.jsonl" 2>> "$OUT/errors.txt"  # one log for all: a call returns at most 8 files
  echo "$name rc $? after $SECONDS s"; }
long="steps=$BIG;max_minutes=$LONG_MIN;keep_checkpoints=1000;$FIX"
seeds() { local v="" s; for s in "$@"; do v+=" seed=$s;steps=$S1;$FIX freeze_g=0;seed=$s;steps=$S2;$FIX"; done; echo $v; }
search long_nofreezeg --domain sketch --variants "freeze_g=0;checkpoint_every=$EVERY2;$long" &
search long_recipe --domain sketch --variants "checkpoint_every=$EVERY1;$long" &
search seeds_old_photo --domain old-photo --variants "$(seeds 0 1 2 3)" &
search seeds_sketch --domain sketch --variants "$(seeds 2 3)" &
wait
tail -c 2000 "$OUT/errors.txt"
