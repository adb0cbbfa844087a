/*
 * FASTQ_QC_STREAM (shotgun): the reads are read once. `soilbiome fastq-check --emit` checks a
 * sample's files (gzip integrity, record structure, mates in step) and streams the checked
 * records through a named pipe into fastp (adapters, quality, length, low complexity), pairs
 * interleaved: no second full read and decompression of the files beside fastp's.
 * fastp turns off adapter auto-detection on a stream, so it is run first on the files'
 * first reads only (--reads_to_process 1: the detection looks at the head of the file, as
 * fastp does before a normal run) and the adapters it finds are given to the streaming run
 * (same output as fastp reading the files). An empty sample goes through with 0 reads.
 */
process FASTQ_QC_STREAM {
    tag "${meta.id}"
    label 'process_single'
    publishDir "${params.outdir}/qc/fastp", mode: params.publish_dir_mode,
        saveAs: { fn -> fn.endsWith('.fastq.gz') || fn == 'versions.yml' || fn.startsWith('adapters.') ? null : fn }

    input:
    tuple val(meta), path(reads, stageAs: 'input/*')

    output:
    tuple val(meta), path('*.fastp.fastq.gz'), emit: reads, optional: true
    tuple val(meta), path("${meta.id}.qc.json"), emit: record
    path "${meta.id}.fastp.json", emit: fastp_json
    path "${meta.id}.fastp.html", emit: fastp_html
    path 'versions.yml', emit: versions

    script:
    def id = meta.id
    def pe = !meta.single_end
    def files = reads instanceof List ? reads : [reads]
    def detect_in = pe ? "-i ${files[0]} -I ${files[1]} --detect_adapter_for_pe" : "-i ${files[0]}"
    def out_args = pe ? "--interleaved_in -o ${id}_1.fastp.fastq.gz -O ${id}_2.fastp.fastq.gz" : "-o ${id}.fastp.fastq.gz"
    """
    # adapter detection on the head of the files (a broken file is left to the check's message)
    fastp ${detect_in} --reads_to_process 1 --thread 1 --json adapters.json \\
        --html adapters.html 2> adapters.log < /dev/null || true
    adapter_args=\$(soilbiome shotgun fastp-adapters adapters.json)

    mkfifo checked.fastq
    fastp --stdin ${out_args} --compression 1 \$adapter_args \\
        --thread ${task.cpus} \\
        --length_required ${params.fastp_min_length} \\
        --qualified_quality_phred ${params.fastp_qualified_quality} \\
        --low_complexity_filter \\
        --json ${id}.fastp.json --html ${id}.fastp.html \\
        ${params.fastp_extra_args} 2> ${id}.fastp.log < checked.fastq &
    fastp_pid=\$!
    # the check's verdict decides: when it fails, fastp is stopped and the check's message shown
    soilbiome fastq-check --sample '${id}' --out ${id}.check.json --emit checked.fastq \\
        ${files.join(' ')} || {
        check_rc=\$?; kill \$fastp_pid 2>/dev/null || true; wait \$fastp_pid 2>/dev/null || true
        exit "\$check_rc"; }
    fastp_rc=0; wait \$fastp_pid || fastp_rc=\$?
    [ "\$fastp_rc" -eq 0 ] || { cat ${id}.fastp.log >&2; exit "\$fastp_rc"; }
    rm -f checked.fastq

    # fastp writes a zero-byte file for an empty sample; make it a valid empty gzip
    for f in *.fastp.fastq.gz; do [ ! -e "\$f" ] || [ -s "\$f" ] || gzip -c < /dev/null > "\$f"; done

    soilbiome qc-record --check ${id}.check.json --fastp ${id}.fastp.json --out ${id}.qc.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        fastp: \$(fastp --version 2>&1 | sed 's/^fastp //')
        soilbiome: \$(soilbiome --version | sed 's/.*version //')
    END_VERSIONS
    """
}
