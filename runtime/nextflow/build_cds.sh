#!/usr/bin/env bash
# Class data sharing for soilbiome's Nextflow: dumps the classes a run loads from the Nextflow
# jars into one archive (classes.jsa beside lib/) that the launcher maps at every start instead
# of reading, parsing and verifying some 5,000 classes from 54 jars: about 0.7 s less per start
# on a 2-core machine (docs/nextflow-runtime.md). This is the JDK's application class data
# sharing (JEP 310); the class list is the union of two runs: the pipeline refused at start-up
# (compiles the amplicon workflow, runs the parameter check) and a one-task workflow (the local
# executor's classes). The JVM checks the archive against itself and the jars at each start
# and, if they no longer match (a Java update, other jars), starts without it; a run of this
# script then renews it.
# Usage: build_cds.sh LIB_DIR   (called by runtime/setup.sh; idempotent)
set -euo pipefail

lib=$(cd "$1" && pwd)
here=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
jsa=$(dirname "$lib")/classes.jsa
# the Java the launcher starts (runtime/nextflow/nextflow): the archive fits only that JVM
if [[ -n "${NXF_JAVA_HOME:-}" ]]; then java=$NXF_JAVA_HOME/bin/java
elif [[ -n "${JAVA_HOME:-}" && -x "${JAVA_HOME}/bin/java" ]]; then java=$JAVA_HOME/bin/java
else java=$(command -v java)
fi

# -Xshare:on refuses to start when the archive does not fit this JVM and these jars
if [[ -f $jsa ]] && "$java" -Xshare:on -XX:SharedArchiveFile="$jsa" -cp "$lib/*" \
    nextflow.cli.Launcher -version > /dev/null 2>&1; then
  echo "setup: Nextflow class archive present"
  exit 0
fi
rm -f "$jsa"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/one_task.nf" <<'EOF'
process ONE { output: stdout; script: 'echo ok' }
workflow { ONE() | view }
EOF
run() {  # run LIST ARGS...: the launcher, loaded classes listed in LIST, in the temp folder
  local list=$1; shift
  (cd "$tmp" && NXF_HOME="$tmp/home" NXF_ANSI_LOG=false \
     NXF_OPTS="-XX:DumpLoadedClassList=$list" "$here/nextflow" -q "$@" > /dev/null 2>&1) || true
}
run "$tmp/refused.lst" run "$root/pipeline/main.nf" --mode amplicon --outdir "$tmp/results"
run "$tmp/one_task.lst" run "$tmp/one_task.nf"
cat "$tmp"/*.lst > "$tmp/classes.lst"
if [[ $(wc -l < "$tmp/classes.lst") -lt 1000 ]]; then
  echo "setup: no Nextflow class archive (the warm-up runs listed too few classes); starts stay uncached" >&2
  exit 0
fi
if "$java" -Xshare:dump -XX:SharedClassListFile="$tmp/classes.lst" \
    -XX:SharedArchiveFile="$tmp/classes.jsa" -cp "$lib/*" > "$tmp/dump.log" 2>&1 \
    && "$java" -Xshare:on -XX:SharedArchiveFile="$tmp/classes.jsa" -cp "$lib/*" \
      nextflow.cli.Launcher -version > /dev/null 2>&1; then
  mv "$tmp/classes.jsa" "$jsa"
  echo "setup: Nextflow class archive written ($(du -m "$jsa" | cut -f1) MB)"
else
  echo "setup: no Nextflow class archive (the JVM could not dump one; starts stay uncached):" >&2
  tail -3 "$tmp/dump.log" >&2
fi
