/*
 * CUTADAPT: remove the forward/reverse primers; read pairs without both primers are discarded
 * and counted, so a sample whose reads lack the primer is flagged (PRIMER_SUMMARY).
 * The reverse complements are also cut at the 3' end (read-through on short ITS amplicons).
 */
process CUTADAPT {
    tag "${meta.id}"
    label 'process_low'
    publishDir "${params.outdir}/primers/cutadapt", mode: params.publish_dir_mode,
        pattern: '*.{json,log}'

    input:
    tuple val(meta), path(reads, stageAs: 'input/*')

    output:
    tuple val(meta), path('*.trim.fastq.gz'), emit: reads
    path "${meta.id}.cutadapt.json", emit: json
    path "${meta.id}.cutadapt.log", emit: log
    path 'versions.yml', emit: versions

    script:
    def id = meta.id
    def fwd = params.primer_fwd
    def rev = params.primer_rev
    def rc = { String s -> s.reverse().collect { c -> ['A':'T','T':'A','G':'C','C':'G','R':'Y','Y':'R','K':'M','M':'K','S':'S','W':'W','B':'V','V':'B','D':'H','H':'D','N':'N','I':'I'][c.toUpperCase()] ?: c }.join('') }
    def files = reads instanceof List ? reads : [reads]  // one staged file is a Path
    def args = meta.single_end ?
        "-g ${fwd} ${rev ? "-a ${rc(rev)}" : ''} -o ${id}_1.trim.fastq.gz ${files[0]}" :
        "-g ${fwd} -G ${rev} -a ${rc(rev)} -A ${rc(fwd)} --pair-filter any " +
        "-o ${id}_1.trim.fastq.gz -p ${id}_2.trim.fastq.gz ${files[0]} ${files[1]}"
    """
    cutadapt -j ${task.cpus} -n 2 --discard-untrimmed --minimum-length 1 \\
        --json ${id}.cutadapt.json ${args} > ${id}.cutadapt.log

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        cutadapt: \$(cutadapt --version)
    END_VERSIONS
    """
}
