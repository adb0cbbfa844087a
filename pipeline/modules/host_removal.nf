/*
 * Host-read removal with bowtie2 against the host genome of the database sheet: the index is
 * built once per run (BOWTIE2_BUILD) unless it already sits beside the FASTA (<fasta>.1.bt2 ...).
 * Reads that align to the host never leave the task folder: only unaligned reads go on.
 */
process BOWTIE2_BUILD {
    label 'process_low'

    input:
    path fasta

    output:
    path 'host_index', emit: index
    path 'versions.yml', emit: versions

    script:
    """
    mkdir host_index
    bowtie2-build --threads ${task.cpus} --seed ${params.seed} ${fasta} host_index/${fasta.name} > host_index.log

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        bowtie2: \$(bowtie2 --version 2>&1 | head -n 1 | sed 's/.*version //')
    END_VERSIONS
    """
}

process HOST_REMOVAL {
    tag "${meta.id}"
    label 'process_low'
    publishDir "${params.outdir}/host_removal", mode: params.publish_dir_mode,
        saveAs: { fn -> fn.endsWith('.bowtie2.log') ? fn : null }

    input:
    tuple val(meta), path(reads, stageAs: 'qc/*')
    path index
    val prefix
    val database_memory  // bytes its bowtie2 index asks for (conf/base.config; 0: the label's)

    output:
    tuple val(meta), path('*.nohost*.fastq.gz'), emit: reads
    path "${meta.id}.host.json", emit: record
    path "${meta.id}.bowtie2.log", emit: log
    path 'versions.yml', emit: versions

    script:
    def id = meta.id
    def files = reads instanceof List ? reads : [reads]
    def inputs = meta.single_end ? "-U ${files[0]} --un-gz ${id}.nohost.fastq.gz" :
        "-1 ${files[0]} -2 ${files[1]} --un-conc-gz ${id}.nohost_%.fastq.gz"
    def outs = meta.single_end ? "${id}.nohost.fastq.gz" : "${id}.nohost_1.fastq.gz ${id}.nohost_2.fastq.gz"
    """
    bowtie2 -x ${index}/${prefix} ${inputs} --threads ${task.cpus} --seed ${params.seed} \\
        -S /dev/null 2> ${id}.bowtie2.log || { cat ${id}.bowtie2.log >&2; exit 1; }
    # an empty sample: bowtie2 writes no file; keep a valid empty gzip
    for f in ${outs}; do [ -e "\$f" ] || gzip -c < /dev/null > "\$f"; done
    soilbiome fastq-check --sample '${id}' --out ${id}.host.json ${outs}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        bowtie2: \$(bowtie2 --version 2>&1 | head -n 1 | sed 's/.*version //')
    END_VERSIONS
    """
}
