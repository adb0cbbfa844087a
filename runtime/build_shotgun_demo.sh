#!/usr/bin/env bash
# Builds both demo databases of the shotgun test profile and one database sheet listing them:
# the Kraken2 demo database (runtime/build_kraken2_demo.sh) and a sylph database sketched from
# the same bundled genomes (assets/test-data/shotgun/kraken2_library/*.ffn.gz, GTDB lineages
# in assets/test-data/shotgun/sylph_demo_lineages.tsv) with `soilbiome refdb build-sylph`.
# Writes .runtime/sylph_demo/ and its sheet .runtime/sylph_demo/refdb.csv (both databases).
# Idempotent. Usage: runtime/build_shotgun_demo.sh [OUTDIR]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$root/.runtime/sylph_demo}
data=$root/assets/test-data/shotgun
"$root/runtime/build_kraken2_demo.sh"
if [[ -f $out/.complete ]]; then printf 'setup: sylph demo database present (%s)\n' "$out"; exit 0; fi
tmp=$out.tmp
rm -rf "$tmp"; mkdir -p "$tmp"
"$root/.venv/bin/soilbiome" refdb build-sylph "$data"/kraken2_library/*.ffn.gz \
  --lineages "$data/sylph_demo_lineages.tsv" --out "$tmp/db" --name humann_demo_sylph \
  --version humann-3.9-chocophlan-DEMO --licence MIT --taxonomy GTDB \
  --citation "Beghini F et al. (2021) eLife 10:e65088 (HUMAnN demo gene centroids); Shaw J, Yu YW (2024) Nat Biotechnol (sylph)" \
  > "$tmp/row.csv"
{
  head -n 1 "$tmp/row.csv"
  tail -n +2 "$root/.runtime/kraken2_demo/refdb.csv" | sed "s|,\.,\([0-9a-f]\{64\}\)\$|,$root/.runtime/kraken2_demo,\1,NCBI|"
  tail -n +2 "$tmp/row.csv" | sed "s|$tmp/db|db|"
} > "$tmp/refdb.csv"
touch "$tmp/.complete"
rm -rf "$out"; mv "$tmp" "$out"
printf 'setup: sylph demo database ready (%s/refdb.csv)\n' "$out"
