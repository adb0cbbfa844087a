#!/usr/bin/env bash
# Installs everything soilbiome needs on a fresh Debian 12 machine, from package registries only:
# Debian packages (field tools), a Python venv (.venv) with the soilbiome package, and a real
# Nextflow assembled from Maven Central (.runtime/nextflow). Idempotent: a second run only checks.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
say() { printf 'setup: %s\n' "$*"; }

# 1. Debian packages ---------------------------------------------------------------------------
# the one package list (runtime/packages.txt): the tasks' tools and what only the host needs
mapfile -t apt_pkgs < <(runtime/packages.sh task host)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  sudo_cmd=(); [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
else
  say "Debian packages present"
fi

# 2. Python environment ------------------------------------------------------------------------
py=${PYTHON:-python3}
[[ -x .venv/bin/python ]] || { say "creating .venv"; "$py" -m venv .venv; }
stamp=.venv/.soilbiome-installed
# reinstalled when the package's build changes: its metadata, or the C code setup.py compiles
want=$(cat pyproject.toml setup.py src/soilbiome/*/_*_native.c | sha256sum | cut -c1-64)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  say "installing the soilbiome package and its Python dependencies into .venv"
  .venv/bin/pip install -q --upgrade pip >/dev/null
  .venv/bin/pip install -q -e '.[test]'
  echo "$want" > "$stamp"
else
  say "Python environment up to date"
fi

# Compile once here what every run would otherwise compile: the package's bytecode (a shell with
# PYTHONDONTWRITEBYTECODE set never caches it, so each task would recompile the modules it
# imports, about 0.25 s per soilbiome call) and the diversity kernels (numba, about 25 s in the
# first run after an install; soilbiome.diversity.warmup). Both are no-ops when up to date.
.venv/bin/python -m compileall -q src/soilbiome
say "$(.venv/bin/python -m soilbiome.diversity.warmup)"

# taxpasta, the independent reference the import tests compare with: it pins pandas 1.x and
# numpy 1.x, so it cannot share .venv and gets its own (.runtime/taxpasta, runtime/taxpasta.txt)
tp=.runtime/taxpasta
want_tp=$(sha256sum runtime/taxpasta.txt | cut -c1-64)
if [[ ! -f $tp/.installed || $(cat "$tp/.installed") != "$want_tp" ]]; then
  say "installing taxpasta (test reference) into $tp"
  rm -rf "$tp"
  mkdir -p .runtime
  "$py" -m venv "$tp"
  "$tp/bin/pip" install -q -r runtime/taxpasta.txt
  echo "$want_tp" > "$tp/.installed"
else
  say "taxpasta present"
fi

# 3. Nextflow from Maven Central ---------------------------------------------------------------
ver=$(sed -n 's:.*<nextflow.version>\(.*\)</nextflow.version>.*:\1:p' runtime/nextflow/pom.xml)
lib=.runtime/nextflow/$ver/lib
if [[ ! -f $lib/.complete ]]; then
  say "assembling Nextflow $ver from Maven Central into $lib"
  rm -rf "$lib.tmp"
  mkdir -p .runtime
  if ! mvn -B -Dstyle.color=never -f runtime/nextflow/pom.xml dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$root/$lib.tmp" > .runtime/mvn.log 2>&1; then
    grep -E 'ERROR|Could not' .runtime/mvn.log | head -20 >&2
    echo "setup: Maven could not assemble Nextflow $ver (full log: .runtime/mvn.log)" >&2
    exit 1
  fi
  [[ -f $lib.tmp/nextflow-$ver.jar ]] || { echo "setup: nextflow-$ver.jar did not resolve" >&2; exit 1; }
  touch "$lib.tmp/.complete"
  rm -rf "$lib"; mv "$lib.tmp" "$lib"
else
  say "Nextflow $ver present"
fi
ln -sf "$root/runtime/nextflow/nextflow" .venv/bin/nextflow
# Put `nextflow` on the PATH of root shells too, only when no working Nextflow is there: another
# checkout's link (or any other Nextflow) is left as it is; a dangling link is replaced.
if [[ -w /usr/local/bin ]]; then
  if [[ ! -e /usr/local/bin/nextflow ]]; then
    ln -sfn "$root/runtime/nextflow/nextflow" /usr/local/bin/nextflow
  elif [[ $(readlink -f /usr/local/bin/nextflow) != "$root/runtime/nextflow/nextflow" ]]; then
    say "/usr/local/bin/nextflow belongs to another install ($(readlink -f /usr/local/bin/nextflow)); left as it is: use .venv/bin/nextflow"
  fi
fi
.venv/bin/nextflow -version | sed -n 's/^ *version/setup: Nextflow version/p'
runtime/nextflow/build_cds.sh "$lib"

# The shotgun demo Kraken2 database is not built here: -profile test_shotgun and the shotgun
# tests build it on first use (runtime/build_kraken2_demo.sh, from assets/test-data).
say "ready (activate with: source .venv/bin/activate)"
