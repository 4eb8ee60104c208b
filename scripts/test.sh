#!/usr/bin/env bash
# The whole test suite: type-check every package (tsc -b), then every *.test.ts through Node's test runner.
# gpu.js's GPU mode needs an X display: when xvfb-run exists and no display is set, the run goes under Xvfb.
# Safety nets so a stuck test fails instead of hanging CI: each test has 10 minutes, and a test file whose process
# keeps a handle open after its tests finished (a worker thread, a GPU device) is made to exit.
set -euo pipefail
cd "$(dirname "$0")/.."
# Build first: every package compiles to dist/ (what users install and what the bin and workers run), so a stale
# dist/ can never be tested.
npx tsc -b
mapfile -t files < <(find core solvers spec backends planner runtime engines hplb cli examples web -path '*/node_modules' -prune -o -name '*.test.ts' -print | sort)
if [ ${#files[@]} -eq 0 ]; then echo "no test files found" >&2; exit 1; fi
if [ -z "${DISPLAY:-}" ] && command -v xvfb-run >/dev/null 2>&1; then
  exec xvfb-run -a -s "-screen 0 1280x1024x24" node --import tsx --test --test-force-exit --test-timeout=600000 "${files[@]}"
fi
exec node --import tsx --test --test-force-exit --test-timeout=600000 "${files[@]}"
