#!/usr/bin/env bash
# Installs the system packages hplb's full test suite needs on a Debian (bookworm) machine:
#  - Mesa 25 (lavapipe Vulkan) from bookworm-backports, for the WebGPU backend (Dawn) on CPU;
#  - the headless-gl build dependencies and Xvfb, for gpu.js in GPU mode;
#  - Chromium, to render plan.svg once in a test.
# Idempotent: packages already present are skipped. Needs root (or sudo) and apt-get.
# On other systems it prints what is missing and exits 0: the suites that need these
# packages then say exactly what is missing themselves.
set -euo pipefail

need_pkgs=(xvfb xauth libxi-dev libx11-dev libxext-dev libgl1-mesa-dev pkg-config python3 make g++ chromium fonts-dejavu-core)
backport_pkgs=(mesa-vulkan-drivers libvulkan1)

if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-system: apt-get not found; install by hand: ${need_pkgs[*]} and Mesa >= 25 with lavapipe (Vulkan)." >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup-system: not root and no sudo; install by hand: ${need_pkgs[*]} ${backport_pkgs[*]} (bookworm-backports)" >&2
    exit 0
  fi
fi

missing=()
for p in "${need_pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
mesa_ok=0
if dpkg -s mesa-vulkan-drivers >/dev/null 2>&1; then
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)
  case "$v" in 2[5-9].*|[3-9][0-9].*) mesa_ok=1 ;; esac
fi

if [ ${#missing[@]} -eq 0 ] && [ $mesa_ok = 1 ]; then
  echo "setup-system: all system packages present"
  exit 0
fi

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
if [ $mesa_ok = 0 ] && [ ! -f /etc/apt/sources.list.d/hplb-backports.sources ]; then
  src=/etc/apt/sources.list.d/debian.sources
  uris="http://deb.debian.org/debian"
  keyring="/usr/share/keyrings/debian-archive-keyring.gpg"
  if [ -f "$src" ]; then
    u=$(awk '/^URIs:/{print $2; exit}' "$src"); [ -n "$u" ] && uris="$u"
    k=$(awk '/^Signed-By:/{print $2; exit}' "$src"); [ -n "$k" ] && keyring="$k"
  fi
  printf 'Types: deb\nURIs: %s\nSuites: %s-backports\nComponents: main\nSigned-By: %s\n' \
    "$uris" "$codename" "$keyring" | $SUDO tee /etc/apt/sources.list.d/hplb-backports.sources >/dev/null
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ $mesa_ok = 0 ]; then
  $SUDO apt-get install -y -qq --no-install-recommends -t "${codename}-backports" "${backport_pkgs[@]}"
fi
echo "setup-system: done (mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers))"
