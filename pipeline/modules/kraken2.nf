/*
 * KRAKEN2: classify a sample's reads against the Kraken2 database of the database sheet.
 * Only the report is kept (per-read output only with --kraken2_save_reads).
 */
include { fastpOptions; fastpVersion } from './fastq_qc'

process KRAKEN2 {
    tag "${meta.id}"
    label 'process_low'
    publishDir "${params.outdir}/kraken2", mode: params.publish_dir_mode,
        saveAs: { fn -> fn == 'versions.yml' ? null : fn }

    input:
    tuple val(meta), path(reads, stageAs: 'reads/*')
    path db
    val database_memory  // bytes the database's tasks ask for (conf/base.config; 0: the label's)

    output:
    tuple val(meta), path("${meta.id}.kraken2.report.txt"), emit: report
    path "${meta.id}.kraken2.output.txt.gz", optional: true, emit: output
    path 'versions.yml', emit: versions

    script:
    def id = meta.id
    def files = reads instanceof List ? reads : [reads]
    def out = params.kraken2_save_reads ? "${id}.kraken2.output.txt" : '/dev/null'
    """
    kraken2 --db ${db} --threads ${task.cpus} --confidence ${params.kraken2_confidence} \\
        ${meta.single_end ? '' : '--paired'} --report ${id}.kraken2.report.txt \\
        --output ${out} ${files.join(' ')} 2> ${id}.kraken2.log || { cat ${id}.kraken2.log >&2; exit 1; }
    # a sample with no reads left (all N, everything removed by QC or host removal) gets an empty
    # report and an empty per-read output from Kraken2 -- or none at all: it flows through empty
    touch ${id}.kraken2.report.txt
    ${params.kraken2_save_reads ? "touch ${id}.kraken2.output.txt; gzip -f ${id}.kraken2.output.txt" : ''}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        kraken2: \$(kraken2 --version | head -n 1 | sed 's/.*version //')
    END_VERSIONS
    """
}

/*
 * QC_KRAKEN2: FASTQ_QC and KRAKEN2 in one pass where nothing else needs the filtered reads
 * (Kraken2 the only profiler, no host removal): fastp's filtered reads stream into Kraken2
 * through a named pipe (pairs interleaved), the FASTQ check reads the input beside them
 * (`soilbiome shotgun stream-kraken2`; docs/shotgun.md "Benchmark"). Same report as the two
 * tasks; the same QC record and fastp reports as FASTQ_QC.
 */
process QC_KRAKEN2 {
    tag "${meta.id}"
    label 'process_low'
    publishDir "${params.outdir}", mode: params.publish_dir_mode,
        saveAs: { fn -> fn.endsWith('.fastp.json') || fn.endsWith('.fastp.html') ? "qc/fastp/${fn}" :
                        fn.endsWith('.qc.json') ? (params.shotgun_qc == 'none' ? "qc/reads/${fn}" : "qc/fastp/${fn}") :
                        fn.startsWith("${meta.id}.kraken2.") ? "kraken2/${fn}" : null }

    input:
    tuple val(meta), path(reads, stageAs: 'input/*')
    path db
    val database_memory  // bytes the database's tasks ask for (conf/base.config; 0: the label's)

    output:
    tuple val(meta), path("${meta.id}.kraken2.report.txt"), emit: report
    path "${meta.id}.kraken2.output.txt.gz", optional: true, emit: output
    tuple val(meta), path("${meta.id}.qc.json"), emit: record
    path "${meta.id}.fastp.json", emit: fastp_json, optional: true  // not with --shotgun_qc none
    path "${meta.id}.fastp.html", emit: fastp_html, optional: true
    path 'versions.yml', emit: versions

    script:
    def id = meta.id
    def files = reads instanceof List ? reads : [reads]
    def out = params.kraken2_save_reads ? "${id}.kraken2.output.txt" : '/dev/null'
    def quoted = { String s -> "'" + s.replace("'", "'\\''") + "'" }
    // --shotgun_qc none: Kraken2 reads the files as sequenced, the check counts for the record
    def qc = params.shotgun_qc == 'none' ? '' :
        "--fastp-json ${id}.fastp.json --fastp ${quoted(fastpOptions(meta, files, task.cpus as int, true))}"
    def fastp_version = params.shotgun_qc == 'none' ? '' : fastpVersion()
    """
    soilbiome shotgun stream-kraken2 ${files.join(' ')} --sample ${quoted(id as String)} \\
        --check-out ${id}.check.json --db ${db} --threads ${task.cpus} \\
        --confidence ${params.kraken2_confidence} --report ${id}.kraken2.report.txt --output ${out} \\
        --qc-record ${id}.qc.json ${qc}
    # an empty sample gets an empty report (as in KRAKEN2)
    touch ${id}.kraken2.report.txt
    ${params.kraken2_save_reads ? "touch ${id}.kraken2.output.txt; gzip -f ${id}.kraken2.output.txt" : ''}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        ${fastp_version}
        kraken2: \$(kraken2 --version | head -n 1 | sed 's/.*version //')
        soilbiome: \$(soilbiome --version | sed 's/.*version //')
    END_VERSIONS
    """
}
