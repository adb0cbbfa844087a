include { checkAndFastp; fastpVersion } from './fastq_qc'

/*
 * DADA2_BATCH: the whole batch in ONE R process (bin/dada2_single.R: filterAndTrim, per run
 * learnErrors, dada + mergePairs, removeBimeraDenovo), used when every sequencing run of the
 * batch fits in one chunk (docs/dada2.md#chunks): on a machine where chunk tasks could not run
 * side by side anyway, the split steps would only add R start-ups. Same outputs as DADA2_MERGE.
 * Every thread of the R process works on every step (filterAndTrim per file, dada and
 * removeBimeraDenovo multithreaded), so the task's cores are all used.
 *
 * With batch.qc (reads without primers, as sequenced): the per-sample QC of FASTQ_QC (integrity
 * check, fastp report, QC record) runs here too, beside DADA2 and at a lower CPU priority,
 * instead of as tasks DADA2 waits for: DADA2 keeps its cores busy only part of the time (about
 * 1.5 of 2 on average), and QC fills the rest. A sample that fails its check stops DADA2 (R and
 * its forked workers), and the check's one-line message is the task's error (also when DADA2
 * failed on that file first).
 */
process DADA2_BATCH {
    tag "${batch.ids.size()} samples"
    label 'process_medium'
    publishDir "${params.outdir}/dada2", mode: params.publish_dir_mode,
        saveAs: { fn -> fn in ['asv_counts.tsv', 'asv.fasta', 'read_tracking.tsv'] ? fn : null }
    publishDir "${params.outdir}/qc/fastp", mode: params.publish_dir_mode,
        saveAs: { fn -> fn.endsWith('.qc.json') || fn.endsWith('.fastp.json') || fn.endsWith('.fastp.html') ? fn : null }

    input:
    tuple val(batch), path(reads, stageAs: 'reads*/*')

    output:
    path 'asv_counts.tsv', emit: counts
    path 'asv.fasta', emit: fasta
    path 'read_tracking.tsv', emit: tracking
    path '*.qc.json', emit: qc_records, optional: true
    path '*.fastp.json', emit: fastp_json, optional: true
    path '*.fastp.html', emit: fastp_html, optional: true
    path 'versions.yml', emit: versions

    script:
    def files = reads instanceof List ? reads : [reads]  // one staged file is a Path
    def lines = []
    def qc = []
    def k = 0
    batch.ids.eachWithIndex { id, i ->
        def mine = batch.single_end[i] ? [files[k++]] : [files[k++], files[k++]]
        lines << "${id}\t${mine[0]}\t${mine.size() > 1 ? mine[1] : ''}\t${batch.runs[i]}"
        if (batch.qc) {
            qc << checkAndFastp([id: id, single_end: batch.single_end[i]], mine, 1, false, '')
            qc << "soilbiome qc-record --check ${id}.check.json --fastp ${id}.fastp.json --out ${id}.qc.json"
        }
    }
    def dada2 = """dada2_single.R --samples samples.tsv --threads ${task.cpus} --seed ${params.seed} \\
        --pool ${params.dada2_pool} --min-overlap ${params.dada2_min_overlap} \\
        --trunc-len-f ${params.dada2_trunc_len_f} --trunc-len-r ${params.dada2_trunc_len_r} \\
        --max-ee-f ${params.dada2_max_ee_f} --max-ee-r ${params.dada2_max_ee_r} \\
        --trunc-q ${params.dada2_trunc_q} --min-len ${params.dada2_min_len}"""
    // DADA2 stays in the task's process group, so that a run stopped from outside stops it
    // too; a failed check stops R and the workers it forked (filterAndTrim's mclapply)
    def run = !batch.qc ? dada2 : """\
    qc_batch() {
        renice -n 19 -p \$BASHPID > /dev/null
        ${qc.join('\n')}
    }
    stop_tree() {
        local child
        for child in \$(cat /proc/\$1/task/*/children 2>/dev/null); do stop_tree "\$child"; done
        kill -TERM "\$1" 2>/dev/null || true
    }
    qc_batch 2> qc.err &
    qc_pid=\$!
    ${dada2} &
    dada2_pid=\$!
    qc_rc=0; wait \$qc_pid || qc_rc=\$?
    if [ "\$qc_rc" -ne 0 ]; then
        stop_tree \$dada2_pid; wait \$dada2_pid 2>/dev/null || true
        cat qc.err >&2; exit "\$qc_rc"
    fi
    wait \$dada2_pid"""
    // every line at the script's indentation, so that Nextflow strips it evenly
    run = run.readLines()*.trim().findAll { it }.join('\n    ')
    def fastp_version = batch.qc ? fastpVersion() : ''
    """
    printf 'sample\\tfastq_1\\tfastq_2\\trun\\n${lines.join('\\n')}\\n' > samples.tsv
    # R's and dada2's versions are asked for now, beside DADA2, not after it (0.2 s less)
    Rscript -e 'cat(as.character(getRversion()), as.character(packageVersion("dada2")))' \\
        > r_versions.txt &
    versions_pid=\$!
    ${run}
    rm -rf filtered
    wait \$versions_pid
    r_versions=\$(cat r_versions.txt)
    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        R: \${r_versions% *}
        dada2: \${r_versions#* }
        ${fastp_version}
    END_VERSIONS
    """
}
