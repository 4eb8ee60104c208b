#!/usr/bin/env bash
# Builds the CUDA addon (build/Release/hplb_cuda.node) with node-gyp and nvcc: `npm run build -w @hplb/backend-cuda`
# (scripts/setup.sh calls it). Without nvcc it is a no-op that says so and exits 0: everything else in hplb installs
# and runs without the addon, and the cuda backend's init() then reports that the addon is not built.
# Incremental: make rebuilds only what changed. Environment: CUDA_HOME (toolkit root; found from nvcc otherwise),
# NVCC (compiler path), NODE_GYP_JOBS (parallel jobs, default 2).
set -euo pipefail
cd "$(dirname "$0")/.."

nvcc_bin=${NVCC:-$(command -v nvcc || true)}
if [ -z "$nvcc_bin" ]; then
  echo "backend-cuda: nvcc not found; skipping the CUDA addon build (the cuda backend will report it is not built)"
  exit 0
fi

has_headers() { [ -n "$1" ] && [ -f "$1/include/cuda_runtime.h" ]; }
if ! has_headers "${CUDA_HOME:-}"; then
  CUDA_HOME=""
  for c in "${CUDA_PATH:-}" "$(dirname "$(dirname "$(readlink -f "$nvcc_bin")")")" \
           "$(sed -n 's|^exec \(.*\)/bin/nvcc .*|\1|p' "$nvcc_bin" 2>/dev/null | head -1)" /usr/local/cuda; do
    if has_headers "$c"; then CUDA_HOME=$c; break; fi
  done
fi
if [ -z "$CUDA_HOME" ]; then
  echo "backend-cuda: nvcc is $nvcc_bin but no CUDA toolkit with include/cuda_runtime.h was found; set CUDA_HOME" >&2
  exit 1
fi
CUDA_LIB=""
for d in "$CUDA_HOME/lib64" "$CUDA_HOME/lib" "$CUDA_HOME/targets/x86_64-linux/lib" "$CUDA_HOME/targets/sbsa-linux/lib"; do
  if [ -f "$d/libcudart_static.a" ]; then CUDA_LIB=$d; break; fi
done
if [ -z "$CUDA_LIB" ]; then
  echo "backend-cuda: libcudart_static.a not found under $CUDA_HOME (lib64, lib, targets/*/lib)" >&2
  exit 1
fi
export CUDA_HOME CUDA_LIB NVCC=$nvcc_bin

# Node's headers: from the running Node's install prefix when it ships them (no download; there may be no network).
node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
nodedir_arg=()
if [ -f "$node_prefix/include/node/node_api.h" ]; then nodedir_arg=(--nodedir="$node_prefix"); fi

# node-gyp: the workspace's (installed today through gpu.js → gl), else the copy npm bundles with itself.
npm_gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
if npx --no-install node-gyp --version >/dev/null 2>&1; then gyp=(npx --no-install node-gyp)
elif [ -f "$npm_gyp" ]; then gyp=(node "$npm_gyp")
else echo "backend-cuda: node-gyp not found (neither in node_modules nor bundled with npm)" >&2; exit 1; fi
if [ ! -f build/Makefile ] || [ binding.gyp -nt build/Makefile ]; then
  "${gyp[@]}" configure "${nodedir_arg[@]}" --loglevel=warn
fi
start=$(date +%s)
"${gyp[@]}" build "${nodedir_arg[@]}" --jobs "${NODE_GYP_JOBS:-2}" --loglevel=warn
echo "backend-cuda: built build/Release/hplb_cuda.node ($(( $(date +%s) - start )) s; CUDA $("$nvcc_bin" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'), $CUDA_HOME)"
