#!/usr/bin/env bash
# Installs every Debian package chatforge's build and tests need, only those missing.
# Idempotent: with everything present it prints nothing and returns in well under a second.
# Usage: scripts/setup.sh    (as root, or with sudo available)
set -euo pipefail

# Package lists live in scripts/deps/*.apt (one name per line), one file per area.
mapfile -t packages < <(cat "$(dirname "$0")"/deps/*.apt | sed 's/#.*//' | awk 'NF{print $1}' | sort -u)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# npm ships inside nodesource's nodejs; Debian's nodejs needs the separate npm package.
if ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi

if [ ${#missing[@]} -eq 0 ]; then exit 0; fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${#missing[@]} missing packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The OpenMP OpenBLAS must be the one libblas/libopenblas resolve to, so BLAS and our
# OpenMP kernels share one thread pool instead of fighting over the cores.
arch_dir=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
omp_lib=/usr/lib/$arch_dir/openblas-openmp/libopenblas.so.0
if [ -e "$omp_lib" ]; then
  $SUDO update-alternatives --set "libopenblas.so.0-$arch_dir" "$omp_lib" >/dev/null 2>&1 || true
  $SUDO update-alternatives --set "libblas.so.3-$arch_dir" "/usr/lib/$arch_dir/openblas-openmp/libblas.so.3" >/dev/null 2>&1 || true
fi
echo "setup: done"
