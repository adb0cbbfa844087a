/*
 * FASTQ_QC: check a sample's reads (gzip integrity, record structure, mates in step), then
 * fastp (adapters, quality, length). An empty sample goes through and is recorded with 0 reads.
 */
process FASTQ_QC {
    tag "${meta.id}"
    // one core: many samples run side by side (and beside DADA2) instead of queueing
    label 'process_single'
    publishDir "${params.outdir}/qc/fastp", mode: params.publish_dir_mode,
        saveAs: { fn -> fn.endsWith('.fastq.gz') || fn.endsWith('.fastq') || fn == 'versions.yml' ? null : fn }

    input:
    tuple val(meta), path(reads, stageAs: 'input/*')

    output:
    tuple val(meta), path('*.fastp.fastq*'), emit: reads, optional: true
    tuple val(meta), path("${meta.id}.qc.json"), emit: record
    path "${meta.id}.fastp.json", emit: fastp_json
    path "${meta.id}.fastp.html", emit: fastp_html
    path 'versions.yml', emit: versions

    script:
    def id = meta.id
    def pe = !meta.single_end
    // one staged file is a Path, not a list: reads[0] would be its first name part ('input')
    def files = reads instanceof List ? reads : [reads]
    // amplicon reads go to DADA2 unfiltered (its error model wants raw qualities): fastp only reports
    def write_reads = params.mode != 'amplicon'
    // the filtered reads are an intermediate: fast gzip level 1 by default (fastp's default 4
    // costs minutes); --qc_compression 0 writes them plain (per million 100 nt reads: fastp
    // 0.5-0.8 s and sylph's reading 0.6 s less CPU, 245 MB of disk instead of 45 MB)
    def gz = params.qc_compression > 0 ? '.gz' : ''
    def out_args = !write_reads ? '' : pe ? "-o ${id}_1.fastp.fastq${gz} -O ${id}_2.fastp.fastq${gz}" : "-o ${id}.fastp.fastq${gz}"
    out_args += write_reads && gz ? " --compression ${params.qc_compression}" : ''
    """
    ${checkAndFastp(meta, files, task.cpus as int, write_reads, out_args)}

    # fastp writes a zero-byte file for an empty sample; make it a valid empty gzip (a plain
    # zero-byte FASTQ is already a valid empty one)
    for f in *.fastp.fastq.gz; do [ ! -e "\$f" ] || [ -s "\$f" ] || gzip -c < /dev/null > "\$f"; done

    soilbiome qc-record --check ${id}.check.json --fastp ${id}.fastp.json --out ${id}.qc.json

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        ${fastpVersion()}
        soilbiome: \$(soilbiome --version | sed 's/.*version //')
    END_VERSIONS
    """
}

/* The versions.yml line of fastp, for every task that runs it. */
def fastpVersion() {
    return "fastp: \$(fastp --version 2>&1 | sed 's/^fastp //')"
}

/*
 * The bash that checks one sample's reads and runs fastp on them (FASTQ_QC; DADA2_BATCH, where
 * the amplicon QC runs beside DADA2): the integrity check and fastp read the same files at
 * once and the check's verdict decides: when it fails, fastp is stopped (nothing waits on a
 * failed sibling) and the check's one-line message is what the task says. Writes
 * <id>.check.json, <id>.fastp.json and <id>.fastp.html (and the reads, by out_args).
 */
def checkAndFastp(meta, files, int cpus, boolean write_reads, String out_args) {
    def id = meta.id
    return """\
    ${fastpOptions(meta, files, cpus, write_reads)} ${out_args} \\
        2> ${id}.fastp.log < /dev/null &
    fastp_pid=\$!
    soilbiome fastq-check --sample '${id}' --out ${id}.check.json ${files.join(' ')} || {
        check_rc=\$?; kill \$fastp_pid 2>/dev/null || true; wait \$fastp_pid 2>/dev/null || true
        exit "\$check_rc"; }
    fastp_rc=0; wait \$fastp_pid || fastp_rc=\$?
    [ "\$fastp_rc" -eq 0 ] || { cat ${id}.fastp.log >&2; exit "\$fastp_rc"; }"""
}

/*
 * fastp's inputs and filtering options for one sample (FASTQ_QC; QC_KRAKEN2, where fastp
 * streams into Kraken2): everything but where the filtered reads go.
 */
def fastpOptions(meta, files, int cpus, boolean write_reads) {
    def id = meta.id
    def pe = !meta.single_end
    def in_args = pe ? "-i ${files[0]} -I ${files[1]}" : "-i ${files[0]}"
    // adapter sequences are looked for (a costly pass over the first reads) only where fastp's
    // reads are used; amplicon pairs are still trimmed of read-through by their overlap
    def detect_adapters = pe && write_reads
    // fastp's duplication estimate zeroes a 1 GB table per task (0.45 s of system time for
    // 20,000 pairs, twice fastp's own work) and means nothing for amplicons, which are
    // duplicates by design; for shotgun reads it costs 1.1 GB more memory and about 1 s more
    // CPU per million reads (fastp 3.5 -> 4.9 s wall, docs/shotgun.md "Benchmark") and no
    // result depends on it: shotgun only, on request (--qc_duplication; the QC summary says NA)
    def eval_dup = params.mode == 'shotgun' && params.qc_duplication
    return "fastp ${in_args} --thread ${cpus} --length_required ${params.fastp_min_length} " +
        "--qualified_quality_phred ${params.fastp_qualified_quality} " +
        (detect_adapters ? '--detect_adapter_for_pe ' : '') +
        (params.mode == 'shotgun' ? '--low_complexity_filter ' : '') +
        (eval_dup ? '' : '--dont_eval_duplication ') +
        "--json ${id}.fastp.json --html ${id}.fastp.html ${params.fastp_extra_args}"
}
