/*
 * KRAKEN2: classify a sample's reads against the Kraken2 database of the database sheet.
 * Only the report is kept (per-read output only with --kraken2_save_reads).
 */
process KRAKEN2 {
    tag "${meta.id}"
    label 'process_low'
    publishDir "${params.outdir}/kraken2", mode: params.publish_dir_mode,
        saveAs: { fn -> fn == 'versions.yml' ? null : fn }

    input:
    tuple val(meta), path(reads, stageAs: 'reads/*')
    path db

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
