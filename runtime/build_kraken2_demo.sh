#!/usr/bin/env bash
# Builds the tiny Kraken2 database of the shotgun test profile from the public HUMAnN demo
# library (assets/test-data/shotgun/kraken2_library/: B. dorei + B. vulgatus gene centroids
# and a 10-node NCBI taxonomy), its Bracken-method k-mer distribution for 100 nt reads, and a
# database sheet (.runtime/kraken2_demo/refdb.csv) with the database's manifest digest
# (docs/references.md), written by 'soilbiome refdb add'.
# Idempotent: an existing complete build is kept; a build whose sheet records an older kind of
# checksum gets its sheet (and manifest) recorded again. Usage: build_kraken2_demo.sh [OUTDIR]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=${1:-$root/.runtime/kraken2_demo}
lib=$root/assets/test-data/shotgun/kraken2_library
say() { printf 'setup: %s\n' "$*"; }
# .complete holds the kind of checksum its sheet records
checksum_kind=manifest-1
record_sheet() {  # $1: database folder; (re)writes $1/refdb.csv and $1/soilbiome.manifest.sha256
  "$root/.venv/bin/soilbiome" refdb add humann_demo_kraken2 "$1" --sheet "$1/refdb.csv" \
    --replace --marker shotgun --format kraken2 --licence MIT --version humann-3.9-chocophlan-DEMO \
    --citation "Beghini F et al. (2021) Integrating taxonomic, functional, and \
strain-level profiling of diverse microbial communities with bioBakery 3. eLife 10:e65088; gene \
centroids of B. dorei and B. vulgatus from the HUMAnN demo ChocoPhlAn; Kraken2: Wood DE et al. \
(2019) Genome Biol 20:257" > /dev/null
  printf '%s\n' "$checksum_kind" > "$1/.complete"
}
if [[ -f $out/.complete ]]; then
  if [[ $(cat "$out/.complete") != "$checksum_kind" ]]; then
    say "recording the Kraken2 demo database's manifest digest ($out/refdb.csv)"
    record_sheet "$out"
  fi
  say "Kraken2 demo database present ($out)"; exit 0
fi
[[ -d $lib ]] || { echo "setup: $lib not found (bundled test data)" >&2; exit 1; }
say "building the Kraken2 demo database in $out (about a minute)"
tmp=$out.tmp
rm -rf "$tmp"; mkdir -p "$tmp/taxonomy"
cp "$lib/names.dmp" "$lib/nodes.dmp" "$tmp/taxonomy/"
# gene headers are '<taxid>__<gene>|...'; Kraken2 wants '>kraken:taxid|<taxid>|...'
zcat "$lib"/*.ffn.gz | sed -E 's/^>([0-9]+)__/>kraken:taxid|\1|/' > "$tmp/demo_library.fna"
kraken2-build --add-to-library "$tmp/demo_library.fna" --db "$tmp" --no-masking > "$tmp/build.log" 2>&1
rm "$tmp/demo_library.fna"
kraken2-build --build --db "$tmp" --threads "${SOILBIOME_BUILD_THREADS:-2}" >> "$tmp/build.log" 2>&1
"$root/.venv/bin/soilbiome" shotgun kmer-distribution --db "$tmp" --read-length 100 \
  --threads "${SOILBIOME_BUILD_THREADS:-2}" --out "$tmp/database100mers.kmer_distrib" >> "$tmp/build.log"
record_sheet "$tmp"
rm -rf "$out"; mv "$tmp" "$out"
say "Kraken2 demo database ready ($out/refdb.csv)"
