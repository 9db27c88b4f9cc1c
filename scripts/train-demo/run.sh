#!/usr/bin/env bash
# Rebuilds the built-in demo model from scratch, or resumes where a stopped run left off (every step is
# skipped when its output exists): packages, corpus, tokenizer + training (~75 min on 2 CPU cores), export to
# models/demo/, and the figures of its model card.
#
#   bash scripts/train-demo/run.sh            # as root: installs Debian's PyTorch, SentencePiece, corpus packages
#
# WORK (default .cache/train-demo) holds the corpus, checkpoints and logs; nothing there is committed.
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=${WORK:-.cache/train-demo}
PY=/usr/bin/python3   # Debian's python3-torch is built for the system Python, not a pyenv one first on PATH
LLAMA_SRC=$(ls -d .cache/llama.cpp-* | head -1)   # cloned from node-llama-cpp's bundle by `npm run build:native`

if [ "$(id -u)" = 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq python3-torch python3-sentencepiece python3-numpy python3-matplotlib \
    libopenblas0-pthread wamerican python3.11-doc debian-handbook >/dev/null
fi
mkdir -p "$WORK"
[ -f "$WORK/corpus/train.jsonl" ] || $PY scripts/train-demo/corpus.py --node-modules node_modules --out "$WORK" --manifest scripts/train-demo/manifest.json
$PY scripts/train-demo/train.py --work "$WORK"
$PY scripts/train-demo/export.py --work "$WORK" --out models/demo --llama-src "$LLAMA_SRC"
npx tsx scripts/train-demo/measure.ts --work "$WORK" --out models/demo/figures.json
$PY scripts/train-demo/card.py --dir models/demo
echo "models/demo/ rewritten: demo-moe.gguf, reference.json, training.json, figures.json, loss.png, README.md"
