#!/usr/bin/env bash
# GPU measurements for docs/performance.md in one run of ~5-7 minutes (at most ~8) on a machine
# with one NVIDIA GPU: rlcli vs SB3 with device=cuda on Breakout (Nature CNN, 8 envs, 24,576
# steps) and HalfCheetah (256x256, 10,240 steps), one seed each, same run, interleaved; then env
# steps/s of sync vs async vectorization with 1, 2, 4, 8 and 16 copies of HalfCheetah and Breakout.
#
#   OUT=/tmp/gpu_check bash benchmarks/gpu_check.sh      # from the repository root
#
# Needs no network: it uses the first Python (PYTHON, then .venv/bin/python, then python3) whose
# torch sees a GPU, with this checkout on PYTHONPATH; that Python needs rlcli's dependencies and
# the bench, mujoco and atari extras (stable-baselines3, mujoco, ale-py). Everything it prints
# goes to $OUT/ (default ./gpu_check_out); each step has its own time limit.
set -uo pipefail
OUT="${OUT:-gpu_check_out}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export SDL_VIDEODRIVER=dummy

PY=""
for candidate in "${PYTHON:-}" .venv/bin/python python3 python; do
    [ -n "$candidate" ] || continue
    if "$candidate" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" \
        >/dev/null 2>&1; then
        PY="$candidate"
        break
    fi
done
{
    date -u
    nvidia-smi || true
    echo "cores: $(nproc)"
    uptime
    echo "python: ${PY:-none with a CUDA torch}"
    [ -n "$PY" ] && "$PY" -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))"
    [ -n "$PY" ] && "$PY" -c "import stable_baselines3, gymnasium, mujoco, ale_py; print('sb3', stable_baselines3.__version__, 'gymnasium', gymnasium.__version__)"
} >"$OUT/machine.txt" 2>&1
if [ -z "$PY" ]; then
    echo "no Python here has a torch that sees a GPU; see $OUT/machine.txt" | tee "$OUT/FAILED.txt"
    exit 2
fi

step() {  # step NAME SECONDS COMMAND...: run with a time limit, output to $OUT/NAME.txt
    local name="$1" limit="$2"
    shift 2
    echo "== $name (at most ${limit}s)"
    local started=$SECONDS
    timeout "$limit" "$@" >"$OUT/$name.txt" 2>&1
    local status=$?
    echo "exit $status after $((SECONDS - started))s; load: $(cut -d' ' -f1-3 /proc/loadavg)" \
        | tee -a "$OUT/$name.txt"
}

export RLCLI_BENCH_DEVICE=cuda
step vs_sb3_breakout_cuda 200 "$PY" benchmarks/vs_sb3.py --cases breakout --seeds 0 --scale 3
step vs_sb3_halfcheetah_cuda 130 "$PY" benchmarks/vs_sb3.py --cases halfcheetah --seeds 0 --scale 0.5
unset RLCLI_BENCH_DEVICE
step async_scaling 140 "$PY" benchmarks/async_scaling.py \
    --envs HalfCheetah-v5 ALE/Breakout-v5 --copies 1 2 4 8 16 --seconds 3
grep -h -E '^\||exit ' "$OUT"/*.txt >"$OUT/summary.md"
echo "done: $OUT/summary.md"
