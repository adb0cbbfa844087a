#!/usr/bin/env bash
# `make image`: soilbiome's container image from Debian's package archive alone, no registry.
#   1. debootstrap a minimal Debian 12 (bookworm) root into .runtime/image/soilbiome/
#   2. inside it (Charliecloud's ch-run, no daemon), runtime/image/install.sh system: the
#      [task] packages of runtime/packages.txt (the list runtime/setup.sh uses too)
#   3. the repository's tracked files copied to /opt/soilbiome, then install.sh app: the
#      package and its Python dependencies from wheels built here (offline inside the image)
#   4. a tarball of the directory image: .runtime/image/soilbiome.tar.gz, to copy to a
#      cluster (unpack it for ch-run, or `apptainer build soilbiome.sif DIR`: docs/install.md)
# Cached: step 1-2 are redone only when the [task] packages or install steps change (a [host]
# package, e.g. one only the tests use, leaves the image alone), step 3-4 only when the
# project's files change; a second run only checks.
# Usage: runtime/image/build.sh [--no-tarball] [OUT]   (--no-tarball: the directory image only,
# as the container test needs; `make image` writes both)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tarball=1
if [[ ${1:-} == --no-tarball ]]; then tarball=0; shift; fi
out=${1:-$root/.runtime/image}
image=$out/soilbiome
say() { printf 'image: %s\n' "$*"; }
export USER=${USER:-$(id -un)}
clean_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
in_image() { ch-run -w --unset-env='*' --set-env=PATH=$clean_path --set-env=HOME=/root \
               --set-env=LC_ALL=C.UTF-8 "$@"; }
for tool in debootstrap ch-run; do
  command -v "$tool" >/dev/null || { echo "image: '$tool' not found (Debian packages debootstrap, charliecloud: make setup)" >&2; exit 1; }
done

# the base layer's recipe: the [task] packages, the install steps, the Debian release and variant
base_recipe="bookworm minbase 1"
base_key=$( (cd "$root" && runtime/packages.sh task && sha256sum runtime/packages.sh runtime/image/install.sh;
             echo "$base_recipe") | sha256sum | cut -c1-64)
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
  list_files() { git -C "$root" ls-files -z; }
else
  list_files() { (cd "$root" && find . -path ./.venv -prune -o -path ./.runtime -prune -o -path ./.git -prune -o -type f -print0); }
fi
app_key=$( (cd "$root" && list_files | grep -zE '^(\./)?(src/|bin/|pyproject.toml|runtime/)' \
           | xargs -0 sha256sum) | sha256sum | cut -c1-64)

mkdir -p "$out"
if [[ ! -f $out/base.key || $(cat "$out/base.key") != "$base_key" || ! -d $image ]]; then
  [[ $(id -u) -eq 0 ]] || { echo "image: debootstrap needs root (or build runtime/image/Dockerfile or soilbiome.def where a registry is available)" >&2; exit 1; }
  mirror=${SOILBIOME_DEBIAN_MIRROR:-$(sed -n 's/^URIs: *\([^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)}
  mirror=${mirror:-http://deb.debian.org/debian}
  say "debootstrap Debian 12 from $mirror (about a minute)"
  rm -rf "$image.tmp" "$out/base.key" "$out/app.key"
  debootstrap --variant=minbase bookworm "$image.tmp" "$mirror" > "$out/debootstrap.log" 2>&1 \
    || { tail -20 "$out/debootstrap.log" >&2; exit 1; }
  cp /etc/resolv.conf "$image.tmp/etc/resolv.conf"
  mkdir -p "$image.tmp/opt/soilbiome/runtime/image"
  cp "$root/runtime/packages.txt" "$root/runtime/packages.sh" "$image.tmp/opt/soilbiome/runtime/"
  cp "$root/runtime/image/install.sh" "$image.tmp/opt/soilbiome/runtime/image/"
  say "installing the tasks' Debian packages in the image (runtime/packages.txt [task])"
  in_image "$image.tmp" -- /opt/soilbiome/runtime/image/install.sh system
  rm -rf "$image"; mv "$image.tmp" "$image"
  echo "$base_key" > "$out/base.key"
else
  say "base image up to date ($image)"
fi

if [[ ! -f $out/app.key || $(cat "$out/app.key") != "$app_key" ]]; then
  say "installing soilbiome into the image"
  rm -rf "$image/opt/soilbiome" "$out/wheels"
  mkdir -p "$image/opt/soilbiome"
  (cd "$root" && list_files | tar --null -T - -cf -) | tar -C "$image/opt/soilbiome" -xf -
  py=$root/.venv/bin/pip; [[ -x $py ]] || py="python3 -m pip"
  $py wheel -q -w "$out/wheels" "$root" > "$out/wheels.log" 2>&1 || { tail -20 "$out/wheels.log" >&2; exit 1; }
  cp -r "$out/wheels" "$image/opt/soilbiome/.wheels"
  in_image "$image" -- /opt/soilbiome/runtime/image/install.sh app /opt/soilbiome/.wheels
  rm -rf "$image/opt/soilbiome/.wheels"
  echo "$app_key" > "$image/opt/soilbiome/IMAGE_KEY"
  # the image's environment, read by `ch-run --set-env` (Nextflow's charliecloud runs)
  mkdir -p "$image/ch"
  printf '%s\n' "PATH=/opt/soilbiome/.venv/bin:/opt/soilbiome/bin:$clean_path" \
    "LC_ALL=C.UTF-8" "LANG=C.UTF-8" > "$image/ch/environment"
  rm -f "$out/soilbiome.tar.gz" "$out/tarball.key"
  echo "$app_key" > "$out/app.key"
else
  say "soilbiome in the image up to date"
fi
if ((tarball)); then
  if [[ ! -f $out/tarball.key || $(cat "$out/tarball.key") != "$app_key" ]]; then
    say "writing the tarball $out/soilbiome.tar.gz"
    tar -C "$image" -cf - . | pigz -1 > "$out/soilbiome.tar.gz.tmp"
    mv "$out/soilbiome.tar.gz.tmp" "$out/soilbiome.tar.gz"
    echo "$app_key" > "$out/tarball.key"
  fi
  say "ready: directory image $image, tarball $out/soilbiome.tar.gz"
else
  say "ready: directory image $image"
fi
