#!/usr/bin/env bash
# Installs what tcet needs on Debian 12 with apt-get (no recommends), only
# when something is missing.  Usage: scripts/setup-deps.sh [--tests]
#   --tests  also what the test suite uses (SLURM daemons, rsvg-convert, python3)
set -euo pipefail

pkgs=(cmake ninja-build pkg-config gcc g++ libc6-dev make
      libopenmpi-dev openmpi-bin libhdf5-dev hdf5-tools
      libopenblas-dev liblapacke-dev libcmocka-dev)
# oneDNN: the CPU convolutions where it is faster (x86-64; optional at build time)
if [ "$(uname -m)" = "x86_64" ]; then
  pkgs+=(libdnnl-dev)
fi
if [ "${1:-}" = "--tests" ]; then
  pkgs+=(slurmctld slurmd slurm-client munge librsvg2-bin python3 python3-h5py python3-numpy procps psmisc shellcheck)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "tcet setup: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "tcet setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
