#!/usr/bin/env bash
# The CUDA backend's GPU check, in ONE device call (issue [cuda] / [gpu-verify]). Three modes:
#
#   bash backends/cuda/scripts/device-check.sh --prepare   # HERE: build the addon, pack Node + runtime packages
#   bash backends/cuda/scripts/device-check.sh --dry-run   # HERE: --prepare, then every step that needs no GPU
#   bash backends/cuda/scripts/device-check.sh             # ON THE GPU MACHINE, from the repo root, $OUT set
#
# The device call (device tool `run`), after --prepare here:
#   command: bash backends/cuda/scripts/device-check.sh      carry: [".device", "backends/cuda/build"]   timeout_s: 600
#
# On the GPU it: unpacks Node (packed by ../shared/tools/pack-node-for-device.sh) and the runtime node_modules;
# records the device (nvidia-smi: name, driver, date); runs the cuda conformance suite at fp32/bf16/fp16 with init
# required; runs scripts/bench-cuda.ts (kernel times, CUDA events; N = 8K/32K/128K, d 128, bf16, B 64, densities
# 1–20 % and dense, blockMass); runs scripts/torch_reference.py (SDPA forced to FLASH = FA2, and FlexAttention
# with the identical block masks); runs `hplb calibrate --backend cuda` and `hplb execute --backend cuda` of a plan
# made here from a real shared profile; runs examples/bench-kernels.ts --backend cuda (N = 8K, fp32); and writes $OUT/summary.md (device, driver, date, tables, every issue target with pass/fail) for the
# lead to paste into backends/cuda/RESULTS.md. Each step's status is in summary.md; the script exits non-zero if
# any step failed, after writing everything it could. $OUT holds at most 8 files (the device tool's limit):
# summary.md log.txt conformance.tap cuda-bench.json torch.json bench-kernels.txt calibration.json execute.txt
#
# Environment: HPLB_TOKENS (default 8192,32768,131072), HPLB_DENSITIES (default 1,2,5,10,20), HPLB_REPS (5),
# HPLB_SKIP (comma list of steps to skip: conformance,bench,bench-kernels,torch,calibrate,execute).
# Timing: every step times kernels by the runtime's timing protocol (@hplb/runtime/timing: warm-up apart, interleaved
# repeats, median and IQR, a reference kernel between points, contended runs re-measured); summary.md has a
# "Timing protocol" table with each measurement's spread and re-measures, and flags the noisy ones.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
cd "$root"
stage=.device/hplb-cuda
tokens=${HPLB_TOKENS:-8192,32768,131072}
densities=${HPLB_DENSITIES:-1,2,5,10,20}
reps=${HPLB_REPS:-5}
skip=",${HPLB_SKIP:-},"
mode=device
case "${1:-}" in
  --prepare) mode=prepare ;;
  --dry-run) mode=dry-run ;;
  "") ;;
  -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
  *) echo "device-check: unknown argument $1 (use --prepare, --dry-run or nothing)" >&2; exit 2 ;;
esac

failures=()
status_lines=()
step() { # step NAME COMMAND...: run, record ok/FAILED with the time it took
  local name=$1; shift
  if [[ "$skip" == *",$name,"* ]]; then status_lines+=("| $name | skipped (HPLB_SKIP) | |"); echo "== $name: skipped"; return 0; fi
  echo "== $name: $*"
  local t0=$SECONDS
  if "$@"; then status_lines+=("| $name | ok | $((SECONDS - t0)) s |"); echo "== $name: ok ($((SECONDS - t0)) s)"
  else local rc=$?; status_lines+=("| $name | FAILED (exit $rc) | $((SECONDS - t0)) s |"); failures+=("$name"); echo "== $name: FAILED (exit $rc)"; fi
}

# ------------------------------------------------------------------------------------------------ here: prepare

# Runtime packages only (no dev tools, no webgpu/gpu.js natives): the dependency closure of the workspaces the
# check runs, resolved in node_modules, plus the @hplb workspace links. One tar.xz under $stage.
stage_node_modules() {
  local list
  if [ -s "$stage/node_modules.tar.xz" ] && [ "$stage/node_modules.tar.xz" -nt package-lock.json ]; then
    echo "runtime packages already staged ($(du -h "$stage/node_modules.tar.xz" | cut -f1), newer than package-lock.json)"; return 0
  fi
  list=$(node -e '
    const fs = require("fs"), path = require("path");
    const read = (d) => { try { return JSON.parse(fs.readFileSync(path.join(d, "package.json"), "utf8")); } catch { return undefined; } };
    const roots = ["core", "solvers", "spec", "backends/cpu", "backends/cuda", "cli", "examples"];
    const skip = new Set(["node-addon-api", "node-gyp"]);
    const want = ["tsx"]; const seen = new Set();
    for (const r of roots) for (const d of Object.keys((read(r) || {}).dependencies || {})) want.push(d);
    while (want.length) {
      const name = want.pop();
      if (seen.has(name) || name.startsWith("@hplb/") || skip.has(name)) continue;
      const dir = path.join("node_modules", name); const pj = read(dir);
      if (!pj) continue; // optional dependency not installed for this platform
      seen.add(name);
      for (const k of ["dependencies", "optionalDependencies", "peerDependencies"]) for (const d of Object.keys(pj[k] || {})) want.push(d);
    }
    console.log([...seen].sort().join("\n"));')
  mkdir -p "$stage"
  # shellcheck disable=SC2086
  tar -C node_modules -cJf "$stage/node_modules.tar.xz" @hplb $list
  echo "staged $(echo "$list" | wc -l) packages + @hplb links: $(du -h "$stage/node_modules.tar.xz" | cut -f1)"
}

# A plan for `hplb execute`, made here from a real shared profile (../shared/data does not travel).
stage_plan() {
  local data="${HPLB_SHARED_DATA:-$root/../shared/data}"
  local profile="$data/minference/Llama_3.1_8B_Instruct_128k_kv_out_v32_fit_o_best_pattern.json"
  if [ ! -f "$profile" ]; then echo "shared profile not found: $profile (set HPLB_SHARED_DATA)" >&2; return 1; fi
  mkdir -p "$stage"
  cp "$profile" "$stage/"  # keeps its name: the CLI reads the model from it
  node cli/bin/hplb.mjs plan --profile "$stage/$(basename "$profile")" --gpus 2 --context 32768 --out "$stage/plan.json"
}

# The compiled packages (every workspace's dist/: the bin, the workers and @hplb/* imports run compiled JavaScript),
# ignored by git, so they travel packed, one tar.xz under $stage.
stage_dist() {
  local dirs
  dirs=$(ls -d ./*/dist backends/*/dist 2>/dev/null | sed 's|^\./||')
  [ -n "$dirs" ] || { echo "no dist/ folders: run npx tsc -b first" >&2; return 1; }
  mkdir -p "$stage"
  # shellcheck disable=SC2086
  tar -cJf "$stage/dist.tar.xz" $dirs && echo "staged $(echo "$dirs" | wc -w) dist/ folders: $(du -h "$stage/dist.tar.xz" | cut -f1)"
}

prepare() {
  step compile npx tsc -b
  step build bash backends/cuda/scripts/build.sh
  [ -f backends/cuda/build/Release/hplb_cuda.node ] || { echo "device-check: the addon was not built (nvcc missing?)" >&2; failures+=(addon); }
  step pack-node bash "$root/../shared/tools/pack-node-for-device.sh"
  step stage-node-modules stage_node_modules
  step stage-dist stage_dist
  step stage-plan stage_plan
  grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
}

# What the device call will carry, measured: tracked + untracked-not-ignored files + the carried paths < 64 MiB.
check_transfer_size() {
  local tree carried total
  tree=$( (git ls-files -z; git ls-files -z --others --exclude-standard) | xargs -0 du -cb 2>/dev/null | awk 'END{print $1}')
  carried=$(du -cb .device backends/cuda/build 2>/dev/null | awk 'END{print $1}')
  total=$((tree + carried))
  echo "transfer: tree $((tree / 1048576)) MiB + carried $((carried / 1048576)) MiB = $((total / 1048576)) MiB (limit 64)"
  [ "$total" -lt $((64 * 1048576)) ]
}

# Rebuild the device's view in a temp dir (the tree as git sees it, the carried paths, nothing else) and run the
# device-side unpacking and the non-GPU parts of every step from there: proves the carry plan is complete.
simulate_device_tree() {
  local sim
  sim=$(mktemp -d /tmp/hplb-device-sim.XXXXXX)
  (git ls-files -z; git ls-files -z --others --exclude-standard) | xargs -0 -I{} cp --parents -P {} "$sim/" 2>/dev/null
  cp -r --parents .device/hplb-cuda .device/node.* backends/cuda/build/Release/hplb_cuda.node "$sim/"
  (
    cd "$sim" || exit 1
    unpack_runtime || exit 1
    export PATH=/tmp/hplb-node-sim:$PATH
    node --version
    node --import tsx -e 'const m = await import("@hplb/backend-cuda"); const b = m.createBackend(); const i = await b.init(); console.log("init here (expected Left):", JSON.stringify(i.left?.issues?.[0]?.actual ?? i.right?.device)); await b.dispose();' || exit 1
    node --import tsx --test backends/cuda/test/conformance.test.ts 2>&1 | grep -E '^# (pass|fail|skip)|SKIP' || exit 1
    node cli/bin/hplb.mjs calibrate --help >/dev/null || exit 1
  ) ; local rc=$?
  rm -rf "$sim" /tmp/hplb-node-sim
  return $rc
}

# ------------------------------------------------------------------------------------------------ device side

unpack_runtime() {
  local bin=/tmp/hplb-node; [ "$mode" = device ] || bin=/tmp/hplb-node-sim
  mkdir -p "$bin"
  # xz -dc, else Python's lzma (the GPU image has python3; xz is not guaranteed)
  unxz_to() { if command -v xz >/dev/null; then xz -dc "$1"; else python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$1"; fi; }
  if [ ! -x "$bin/node" ]; then
    if [ -f .device/node.xz ]; then unxz_to .device/node.xz > "$bin/node"; else gzip -dc .device/node.gz > "$bin/node"; fi \
      || { echo "no packed node in .device/" >&2; return 1; }
    chmod +x "$bin/node"
  fi
  if [ ! -d node_modules/tsx ]; then
    mkdir -p node_modules && unxz_to "$stage/node_modules.tar.xz" | tar -C node_modules -x || return 1
  fi
  if [ ! -f cli/dist/main.js ]; then
    unxz_to "$stage/dist.tar.xz" | tar -x || return 1
  fi
  export PATH="$bin:$PATH"
}

record_device() {
  {
    echo "date: $(date -u +'%Y-%m-%d %H:%M UTC')"
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>&1 | sed 's/^/gpu: /'
    echo "node: $(node --version); nvcc used for the addon: $(node -e 'console.log(require("./backends/cuda/build/Release/hplb_cuda.node").build.cudaRuntime)')"
    python3 -c 'import torch; print("torch:", torch.__version__, "cuda", torch.version.cuda)' 2>&1
  } | tee "$work/device.txt"
}

run_conformance() {
  HPLB_CUDA_REQUIRE_INIT=1 HPLB_CUDA_SKIP_BUILD=1 node --import tsx --test --test-reporter=tap backends/cuda/test/conformance.test.ts backends/cuda/test/addon.test.ts > "$OUT/conformance.tap" 2>&1
  local rc=$?
  grep -E '^# (tests|pass|fail|skipped)' "$OUT/conformance.tap"
  return $rc
}

run_bench() {
  node --import tsx backends/cuda/scripts/bench-cuda.ts --out "$work" --tokens "$tokens" --densities "$densities" --reps "$reps" \
    && cp "$work/cuda-bench.json" "$OUT/cuda-bench.json"
}

# examples/bench-kernels.ts takes one context and runs at fp32 (on this backend: the fp32 CUDA-core path); its table 3
# times a TypeScript GEMM of the kernel's FLOPs on the CPU, which grows as N², so it runs at N = 8K only (about a
# minute); the issue's N = 8K/32K/128K bf16 shapes are bench-cuda.ts's. It runs last: the least needed step.
run_bench_kernels() {
  if [ ! -f examples/bench-kernels.ts ]; then echo "examples/bench-kernels.ts is not in this tree" > "$OUT/bench-kernels.txt"; cat "$OUT/bench-kernels.txt"; return 1; fi
  node --import tsx examples/bench-kernels.ts --backend cuda --context 8192 --head-dim 128 --block 64 --repeats 3 > "$OUT/bench-kernels.txt" 2>&1
  local rc=$?; tail -n 30 "$OUT/bench-kernels.txt"; return $rc
}

run_torch() {
  PYTHONUNBUFFERED=1 python3 backends/cuda/scripts/torch_reference.py --manifest "$work/manifest.json" --out "$OUT/torch.json" --reps "$reps"
}

# `hplb execute` runs its kernels at fp32 (the executor does not take a precision), so the calibration it predicts
# with is made at fp32 too; the bf16 kernels are characterized by bench-cuda.ts. Context 32K: the staged plan's.
# --force: a noisy calibration is still written (its `timing` says how noisy, and summary.md flags it) so the
# execute step can use it; without it `hplb calibrate` refuses to write a calibration over the spread threshold.
run_calibrate() {
  node cli/bin/hplb.mjs calibrate --backend cuda --precision fp32 --head-dim 128 --block 64 --contexts 8192,32768 \
    --force --out "$OUT/calibration.json"
}

run_execute() {
  local cal=(); [ -s "$OUT/calibration.json" ] && cal=(--calibration "$OUT/calibration.json")
  node cli/bin/hplb.mjs execute "$stage/plan.json" --backend cuda --context 32768 --layers 4 "${cal[@]}" > "$OUT/execute.txt" 2>&1
  local rc=$?; tail -n 30 "$OUT/execute.txt"; return $rc
}

summarize() {
  node --import tsx backends/cuda/scripts/summarize.ts --dir "$OUT" --work "$work" --status "$1" > "$OUT/summary.md"
}

# ------------------------------------------------------------------------------------------------ modes

if [ "$mode" = prepare ] || [ "$mode" = dry-run ]; then
  prepare
  if [ "$mode" = dry-run ]; then
    work=$(mktemp -d /tmp/hplb-device-dry.XXXXXX)
    step typecheck npx tsc -b backends/cuda
    step bench-layouts node --import tsx backends/cuda/scripts/bench-cuda.ts --out "$work" --tokens "$tokens" --densities "$densities" --dry-run
    step torch-args sh -c "python3 -c \"import py_compile,sys; py_compile.compile(sys.argv[1], cfile='$work/t.pyc', doraise=True)\" backends/cuda/scripts/torch_reference.py && python3 backends/cuda/scripts/torch_reference.py --manifest '$work/manifest.json' --out '$work/torch.json' --dry-run"
    step script-syntax bash -n backends/cuda/scripts/device-check.sh
    step cli-commands sh -c 'node cli/bin/hplb.mjs calibrate --help >/dev/null && node cli/bin/hplb.mjs execute --help >/dev/null'
    # bench-kernels has no --help: its flags parse, then it stops at the backend's init (no GPU here) with that reason.
    if [ -f examples/bench-kernels.ts ]; then step bench-kernels-args sh -c 'node --import tsx examples/bench-kernels.ts --backend cuda --context 8192 --head-dim 128 --block 64 --repeats 3 2>&1 | grep -q "no CUDA device"'
    else echo "device-check: WARNING: examples/bench-kernels.ts is not in this tree yet; its device step will fail and be reported"; status_lines+=("| bench-kernels-args | missing: examples/bench-kernels.ts | |"); fi
    # The timing code end to end without a GPU: bench-cuda against a simulated backend (its contention bursts must be
    # re-measured), then the summary of that JSON with its timing table.
    step bench-simulated sh -c "node --import tsx backends/cuda/scripts/bench-cuda.ts --out '$work' --tokens 8192 --densities 1,10 --reps 5 --simulate >/dev/null && node -e 'const j=require(process.argv[1]); if (!(j.timing.length === 1 && j.results.every((r) => r.runs >= 5) && j.results.some((r) => r.remeasures > 0))) process.exit(1)' '$work/cuda-bench.json'"
    step summary-format sh -c "node --import tsx backends/cuda/scripts/summarize.ts --dir '$work' --work '$work' --status '| dry-run | ok | |' > '$work/summary.md' && grep -q '^# CUDA backend' '$work/summary.md' && grep -q '^| bench-cuda N=8K | quiet: ' '$work/summary.md'"
    step transfer-size check_transfer_size
    step device-tree simulate_device_tree
    rm -rf "$work"
  fi
  printf '%s\n' "${status_lines[@]}"
  if [ ${#failures[@]} -gt 0 ]; then echo "device-check ($mode): FAILED: ${failures[*]}"; exit 1; fi
  echo "device-check ($mode): ok. Device call: command 'bash backends/cuda/scripts/device-check.sh', carry [\".device\", \"backends/cuda/build\"], timeout_s 600"
  exit 0
fi

# device mode
if [ -z "${OUT:-}" ]; then echo "device-check: \$OUT is not set (run it through the device tool, or use --dry-run here)" >&2; exit 2; fi
work=/tmp/hplb-device-work
mkdir -p "$work"
exec > >(tee "$OUT/log.txt") 2>&1
unpack_runtime || { echo "device-check: cannot unpack Node / node_modules from .device (run --prepare here first)"; exit 1; }
step device record_device
step conformance run_conformance
step bench run_bench
step torch run_torch
step calibrate run_calibrate
step execute run_execute
step bench-kernels run_bench_kernels
summarize "$(printf '%s\n' "${status_lines[@]}")"
echo "device-check: summary in \$OUT/summary.md; failed steps: ${failures[*]:-none}"
[ ${#failures[@]} -eq 0 ]
