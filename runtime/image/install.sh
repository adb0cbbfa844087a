#!/usr/bin/env bash
# Installs soilbiome inside a Debian 12 container image. The same steps back every image route:
# runtime/image/build.sh (debootstrap + Charliecloud, `make image`), runtime/image/Dockerfile and
# runtime/image/soilbiome.def (Apptainer). The project sits at /opt/soilbiome (a copy of the
# repository's tracked files); the image then mirrors a checkout: /opt/soilbiome/.venv (the
# package and its Python dependencies), /opt/soilbiome/bin (the R scripts and the soilbiome
# wrapper), the tasks' Debian tools from runtime/packages.txt [task].
#
# Usage (as root, inside the image):
#   install.sh system            # Debian packages of the [task] section
#   install.sh app [WHEELS_DIR]  # venv + package; with WHEELS_DIR, offline from those wheels
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
step=${1:?usage: install.sh system|app [WHEELS_DIR]}
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8

case $step in
system)
  mapfile -t pkgs < <("$root/runtime/packages.sh" task)
  apt-get -o Acquire::Retries=3 update -qq
  # a postinst that fails once (e.g. a trigger ordering issue) is retried by --configure -a
  if ! apt-get install -y -qq --no-install-recommends "${pkgs[@]}" > /tmp/apt-install.log 2>&1; then
    dpkg --configure -a >> /tmp/apt-install.log 2>&1 || true
    apt-get install -y -qq --no-install-recommends -f "${pkgs[@]}" >> /tmp/apt-install.log 2>&1 \
      || { tail -30 /tmp/apt-install.log >&2; exit 1; }
  fi
  apt-get clean
  rm -rf /var/lib/apt/lists/* /tmp/apt-install.log
  # every tool the tasks call must run: R loads DADA2 (it needs dpkg-architecture at load time)
  Rscript -e 'suppressPackageStartupMessages({library(dada2); library(phyloseq); library(rhdf5)})'
  ;;
app)
  wheels=${2:-}
  rm -rf "$root/.venv"
  python3 -m venv "$root/.venv"
  if [[ -n $wheels ]]; then
    "$root/.venv/bin/pip" install -q --no-index --find-links "$wheels" soilbiome
  else
    "$root/.venv/bin/pip" install -q "$root"
  fi
  "$root/.venv/bin/soilbiome" --version
  # the diversity kernels compiled into the image (numba's cache beside the installed package),
  # not in every container run (the image is read-only there)
  "$root/.venv/bin/python" -m soilbiome.diversity.warmup
  ;;
*)
  echo "install.sh: unknown step '$step' (system or app)" >&2
  exit 2
  ;;
esac
