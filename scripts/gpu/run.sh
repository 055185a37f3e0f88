#!/usr/bin/env bash
# Everything the GPU machine is needed for, in one call (device time is scarce): build the CUDA engine and its kernel
# checks, run the CUDA test suite, then the benchmark beside Hugging Face transformers on an IgBert-size random
# checkpoint. Logs and JSON under $OUT. Prepare here first:
#   npm ci && npm run build && ../shared/gpu/pack.sh && cp ../shared/gpu/hf_baseline.py ../shared/data/therasabdab_paired.csv .gpu-carry/
# then run on the GPU machine (carry .gpu-carry and dist):  bash scripts/gpu/run.sh [steps]
# steps (default build,kernels,tests,bench; e2e is the 100,000-row CLI run, e2e2 the same with two engines on GPU 0):
#   build kernels tests bench compile tuned e2e e2e2 (compile: with bench, transformers bf16 under torch.compile too,
#   ~3 more minutes; tuned: the benchmark again with GEMM algorithm timing on)
set -u
out=${OUT:-/tmp/igbert-out}; mkdir -p "$out"
steps=${1:-build,kernels,tests,bench}
has() { [[ ",$steps," == *",$1,"* ]]; }
source .gpu-carry/unpack.sh >/dev/null
pairs=.gpu-carry/therasabdab_paired.csv
ckpt=/tmp/igbert-random
log() { echo "== $* ($(date +%T))"; }
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.max.sm --format=csv > "$out/gpu.txt" 2>&1; cat "$out/gpu.txt"

# The IgBert-size checkpoint (1.68 GB) is written in the background while the engine builds.
if has bench || has tuned || has e2e || has e2e2; then (node bin/igbert.js init --random --preset igbert --output "$ckpt" > "$out/init.log" 2>&1 &) ; fi

if has build; then
  log build; (time node native/cuda/build.mjs --tests) > "$out/build.log" 2>&1; rc=$?; tail -5 "$out/build.log"
  [ $rc -eq 0 ] || { tail -40 "$out/build.log"; exit 1; }
fi
if has kernels; then
  log kernels_test; timeout 300 native/cuda/build/kernels_test > "$out/kernels.log" 2>&1; echo "kernels_test exit $?"; grep -iE "fail|tflop|error|tokens/s|profile|layer" "$out/kernels.log" | head -60
  log torch_kernels; timeout 120 python3 scripts/bench/torch_kernels.py > "$out/torch_kernels.log" 2>&1; echo "torch_kernels exit $?"; grep -v Warning "$out/torch_kernels.log"
  log smoke; timeout 120 node native/cuda/test/smoke.mjs > "$out/smoke.log" 2>&1; echo "smoke exit $?"; tail -5 "$out/smoke.log"
fi
if has tests; then
  log test:cuda; timeout 240 node --import tsx --test test/cuda.test.ts test/parity.test.ts test/score.test.ts test/mutate.test.ts test/fill.test.ts test/engineSeam.test.ts > "$out/tests.log" 2>&1
  echo "tests exit $?"; grep -E "^# (pass|fail|skipped)|^not ok|^    not ok" "$out/tests.log" | head -30
fi
if has bench || has tuned || has e2e || has e2e2; then
  log waiting for the checkpoint; while [ ! -f "$ckpt/model.safetensors" ] || pgrep -f "igbert.js init" >/dev/null; do sleep 2; done; tail -1 "$out/init.log"
fi
if has bench; then
  compile=""; if has compile; then compile="--compile"; fi
  log hf_baseline $compile; timeout 500 python3 .gpu-carry/hf_baseline.py "$ckpt" "$pairs" --out /tmp/hf_fp32.npy $compile > "$out/hf_baseline.log" 2>&1; cat "$out/hf_baseline.log" | grep -v Warning
  log hf_latency; timeout 120 python3 scripts/bench/hf_latency.py "$ckpt" "$pairs" > "$out/hf_latency.log" 2>&1; grep -v Warning "$out/hf_latency.log" | tail -2
  log hf_pll; timeout 300 python3 scripts/bench/hf_pll.py "$ckpt" "$pairs" --n 16 --out /tmp/hf_pll.json > "$out/hf_pll.log" 2>&1; cat "$out/hf_pll.log" | grep -v Warning
  log bench-cuda; timeout 300 node --import tsx scripts/bench-cuda.ts --checkpoint "$ckpt" --pairs "$pairs" --hf-embeddings /tmp/hf_fp32.npy --hf-pll /tmp/hf_pll.json --pll 16 --out "$out/bench-cuda.json" > "$out/bench.log" 2>&1
  echo "bench exit $?"; cat "$out/bench.log"
  node --import tsx scripts/bench-cuda.ts --checkpoint "$ckpt" --pairs "$pairs" --host-only 2>&1 | tail -1
fi
if has tuned; then
  log "bench-cuda bf16 with IGBERT_CUDA_GEMM_TUNE=1 (GEMM algorithm timing; off by default)"
  IGBERT_CUDA_GEMM_TUNE=1 timeout 120 node --import tsx scripts/bench-cuda.ts --checkpoint "$ckpt" --pairs "$pairs" --hf-embeddings /tmp/hf_fp32.npy --hf-pll /tmp/hf_pll.json --pll 16 --dtypes bf16 --out "$out/bench-cuda-tuned.json" > "$out/bench-tuned.log" 2>&1
  echo "bench (tuned) exit $?"; cat "$out/bench-tuned.log"
fi
if has e2e || has e2e2; then
  node -e 'const fs=require("fs");const l=fs.readFileSync(process.argv[1],"utf8").trim().split("\n");const rows=l.slice(1).filter(r=>{const c=r.split(",");return c[1]&&c[2]});const out=["id,heavy,light"];for(let i=0;out.length<=100000;i++){const c=rows[i%rows.length].split(",");out.push(`r${i},${c[1]},${c[2]}`)}fs.writeFileSync("/tmp/100k.csv",out.join("\n")+"\n")' "$pairs"
fi
e2e() {  # name, extra options
  log "$1: igbert embed --device cuda $2, 100,000 rows to Parquet"
  /usr/bin/time -v node bin/igbert.js embed --device cuda $2 --model "$ckpt" --input /tmp/100k.csv --output "/tmp/$1.parquet" > "$out/$1.log" 2>&1; echo "$1 exit $?"
  grep -E "Elapsed|Maximum resident|Percent of CPU|rows/s|igbert:" "$out/$1.log" | tail -8
}
if has e2e; then e2e e2e ""; fi
if has e2e2; then e2e e2e2 "--gpus 0,0"; fi
log done
# At most 8 files come back from the GPU machine: the logs travel as one archive beside the JSON.
(cd "$out" && tar czf logs.tar.gz --remove-files ./*.log ./*.txt)
