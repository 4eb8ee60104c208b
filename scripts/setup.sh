#!/usr/bin/env bash
# Everything a fresh Debian machine needs before `npm test`: system packages (scripts/setup-system.sh),
# the npm workspace (npm ci, which builds headless-gl from source when its build dependencies are present),
# and the CUDA addon when nvcc is available (it loads lazily; machines without nvcc skip it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-system.sh
npm ci --no-audit --no-fund
if node -e "require('gl')" 2>/dev/null; then echo "setup: headless-gl built"; else echo "setup: headless-gl NOT available (gpu.js GPU mode will report why)"; fi
npm run build --workspace @hplb/backend-cuda --if-present
