#!/usr/bin/env bash
# The GPU check: MoE Lens's engine and llama.cpp's own llama-bench on a GPU machine that has CUDA's compiler,
# CMake, ninja and Python with numpy but no Node and no network (see DESIGN.md §11), in one call (< 8 minutes).
#
# Before (here, with Node):  npx tsx scripts/gpu-check/prepare.ts      -> .cache/gpu-check (≈4 MB)
# On the GPU machine:        bash scripts/gpu-check.sh                 (the device tool: carry [".cache/gpu-check"])
# CPU smoke test (here):     GPU_CHECK_CPU=1 GPU_CHECK_LLAMA_BUILD=<a CPU llama.cpp build dir> bash scripts/gpu-check.sh
#
# What it does and prints (a markdown report, also written to $OUT/gpu-check.md):
#  1. the GPU (nvidia-smi), nvcc, cores; its device memory bandwidth, measured with a 1 GiB copy (PyTorch);
#  2. builds llama.cpp from the compressed bundled source, CUDA for this GPU only (sm_90 unless
#     GPU_CHECK_CUDA_ARCH says otherwise), targets libllama and llama-bench; meanwhile writes the models with
#     the bundled gguf-py (scripts/gguf-py/write_model.py): the bench model (bench-moe: 32 layers, 8 experts,
#     top-2, n_embd 512, F16, 1.2 GB) and Mixtral-8x7B at full size in Q4_0 (32 layers, n_embd 4096, 8 experts
#     of n_ff 14336, top-2, 26 GB, random blocks);
#  3. compiles scripts/gpu-check/driver.cpp with the engine's own native/src/session.cpp, router_capture.cpp
#     and llama_api.cpp (no N-API) against that build;
#  4. the bench model with all layers on the GPU: decode (tg128) and prompt (pp512) with router capture on and
#     off, for MoE offload none (every expert on the GPU), auto (the planner's rule against free VRAM) and all
#     (every expert in RAM), with the buffers llama.cpp reports for each; llama-bench -ngl 99 for the same model
#     (and -ncmoe 32 for experts in RAM);
#  5. the Mixtral-shaped model the same way (auto also against a 24 GB budget, as on a 24 GB card), its decode
#     bytes/token × tok/s beside the measured bandwidth, and llama-bench's figures for it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
T0=$(date +%s)
PREP=${GPU_CHECK_PREP:-$ROOT/.cache/gpu-check}
WORK=${GPU_CHECK_WORK:-/tmp/moe-lens-gpu-check}
OUT=${OUT:-$ROOT/test-output/gpu-check}
CPU_ONLY=${GPU_CHECK_CPU:-0}
THREADS=${GPU_CHECK_THREADS:-$(nproc)}
BENCH=${GPU_CHECK_BENCH_MODEL:-bench-moe}
BIG=${GPU_CHECK_BIG_MODEL:-mixtral-8x7b-q4_0}
ROUNDS=${GPU_CHECK_ROUNDS:-3}
GEN=${GPU_CHECK_GEN:-128}
PROMPT=${GPU_CHECK_PROMPT:-512}
mkdir -p "$WORK" "$OUT"
REPORT=$OUT/gpu-check.md
: > "$REPORT"
say() { echo "$*" | tee -a "$REPORT"; }
step() { echo "[gpu-check +$(( $(date +%s) - T0 ))s] $*" >&2; }
run() { "$@" 2> >(grep -v -E '^(llama|load|print_info|gguf|~llama|graph|sched|common|main|system_info|ggml|init|Device|  Device)' >&2) | tee -a "$REPORT"; }

[ -f "$PREP/llama-src.tar.xz" ] && [ -f "$PREP/models.json" ] ||
  { echo "gpu-check: $PREP is missing: run 'npx tsx scripts/gpu-check/prepare.ts' first and carry .cache/gpu-check" >&2; exit 1; }

say "# MoE Lens GPU check ($(date -u +%FT%TZ))"
say ""
if [ "$CPU_ONLY" = 1 ]; then
  say "CPU smoke test (no GPU): $(nproc) cores"
else
  say '```'
  nvidia-smi --query-gpu=name,memory.total,memory.free,driver_version --format=csv | tee -a "$REPORT"
  nvcc --version | tail -n 2 | tee -a "$REPORT"
  say "cores: $(nproc)"
  say '```'
fi

step "unpacking the llama.cpp source"
rm -rf "$WORK/llama"
tar -xJf "$PREP/llama-src.tar.xz" -C "$WORK"
export GGUF_PY=$WORK/llama/gguf-py

# Models, in the background while llama.cpp builds (one core and the disk against the compiler's many).
step "writing the models ($BENCH, $BIG) in the background"
mkdir -p "$WORK/models"
python3 scripts/gguf-py/write_model.py "$PREP/models.json" "$WORK/models" --only "$BENCH,$BIG" > "$WORK/models.log" 2>&1 &
MODELS_PID=$!

if [ "$CPU_ONLY" = 1 ]; then
  BUILD=${GPU_CHECK_LLAMA_BUILD:?GPU_CHECK_CPU=1 needs GPU_CHECK_LLAMA_BUILD, a CPU build of the same llama.cpp}
  step "configuring the unpacked source (CPU, checks that it is complete), using the build in $BUILD"
  cmake -S "$WORK/llama" -B "$WORK/build-check" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF > "$WORK/cmake.log" 2>&1 ||
    { cat "$WORK/cmake.log" >&2; exit 1; }
else
  BUILD=$WORK/build
  step "building llama.cpp (CUDA ${GPU_CHECK_CUDA_ARCH:-90}): libllama, llama-bench"
  cmake -S "$WORK/llama" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES="${GPU_CHECK_CUDA_ARCH:-90}" -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF > "$WORK/cmake.log" 2>&1 ||
    { tail -n 40 "$WORK/cmake.log" >&2; exit 1; }
  cmake --build "$BUILD" --target llama llama-bench -j "$(nproc)" > "$WORK/build.log" 2>&1 || { tail -n 40 "$WORK/build.log" >&2; exit 1; }
fi
BIN=$BUILD/bin
export LD_LIBRARY_PATH=$BIN${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

step "compiling the driver (native/src without N-API)"
g++ -O2 -std=c++17 -I"$WORK/llama/include" -I"$WORK/llama/ggml/include" scripts/gpu-check/driver.cpp native/src/session.cpp \
  native/src/router_capture.cpp native/src/rpc_devices.cpp native/src/llama_api.cpp -L"$BIN" -lllama -lggml -lggml-base -ldl -pthread \
  -Wl,-rpath,"$BIN" -o "$WORK/driver"
DRIVER=$WORK/driver

if [ "$CPU_ONLY" != 1 ]; then
  step "device memory bandwidth"
  BW=$(python3 -c '
import time, torch
x = torch.empty(1 << 30, dtype=torch.uint8, device="cuda"); y = torch.empty_like(x)
for _ in range(3): y.copy_(x)
torch.cuda.synchronize(); t = time.perf_counter(); n = 20
for _ in range(n): y.copy_(x)
torch.cuda.synchronize(); print(f"{2 * n * (1 << 30) / (time.perf_counter() - t) / 1e9:.0f}")' 2>/dev/null || echo "?")
  say ""
  say "device memory bandwidth (1 GiB copy, read + write, PyTorch): **$BW GB/s**"
fi

step "waiting for the models"
wait "$MODELS_PID" || { cat "$WORK/models.log" >&2; exit 1; }
cat "$WORK/models.log" >&2

# One model: the engine for MoE offload none / auto / all (capture on and off in each), then llama-bench.
check() {
  local name=$1 layers=$2 budget=${3:-} gen=${4:-$GEN} prompt=${5:-$PROMPT}
  local model=$WORK/models/$name.gguf
  say ""
  say "## $name"
  for moe in none auto all; do
    step "$name: engine, MoE offload $moe"
    local rounds=$ROUNDS g=$gen p=$prompt
    [ "$moe" = all ] && { rounds=1; g=$(( gen < 32 ? gen : 32 )); p=$(( prompt < 128 ? prompt : 128 )); }
    run "$DRIVER" --model "$model" --threads "$THREADS" --cpu-moe "$moe" --rounds "$rounds" --gen "$g" --prompt "$p" --label "$name"
  done
  if [ -n "$budget" ]; then
    step "$name: engine, MoE offload auto against a ${budget} MiB budget"
    run "$DRIVER" --model "$model" --threads "$THREADS" --cpu-moe auto --vram-budget-mib "$budget" --rounds "$ROUNDS" \
      --gen "$gen" --prompt "$prompt" --label "$name"
  fi
  step "$name: llama-bench"
  say ""
  say "llama-bench, all layers on the GPU, then every expert in RAM (-ncmoe $layers):"
  say ""
  run "$BIN/llama-bench" -m "$model" -t "$THREADS" -ngl 99 -p "$prompt" -n "$gen" -r "$ROUNDS" -o md
  run "$BIN/llama-bench" -m "$model" -t "$THREADS" -ngl 99 -ncmoe "$layers" -p "$(( prompt < 128 ? prompt : 128 ))" \
    -n "$(( gen < 32 ? gen : 32 ))" -r 1 -o md
}

check "$BENCH" 32
check "$BIG" 32 24000
say ""
say "total: $(( $(date +%s) - T0 )) s"
step "done: $REPORT"
