/*
 * Bracken-method abundance re-estimation (Lu et al. 2017; see docs/shotgun.md) and the
 * harmonised shotgun BIOM table.
 */
process BRACKEN_DISTRIBUTION {
    label 'process_low'

    input:
    path db
    val database_memory  // bytes the database's tasks ask for (conf/base.config; 0: the label's)

    output:
    path "database${params.bracken_read_length}mers.kmer_distrib", emit: distribution

    script:
    """
    soilbiome shotgun kmer-distribution --db ${db} --read-length ${params.bracken_read_length} \\
        --threads ${task.cpus} --out database${params.bracken_read_length}mers.kmer_distrib
    """
}

process SHOTGUN_TABLE {
    label 'process_single'
    publishDir "${params.outdir}", mode: params.publish_dir_mode,
        saveAs: { fn -> fn == 'taxon_table.biom' ? (params.agreement ? null : "biom/${fn}") :
                        fn == 'shotgun_summary.tsv' ? "qc/${fn}" : fn == 'versions.yml' ? null : fn }

    input:
    path reports, stageAs: 'reports/*'
    path db
    path distribution
    path samplesheet
    path qc_records, stageAs: 'qc/*'
    path host_records, stageAs: 'host/*'
    val reference
    val context        // processing context (map): method, reference, classifier, ...
    path versions, stageAs: 'versions/versions*.yml'  // of KRAKEN2: the method's version

    output:
    path 'taxon_table.biom', emit: biom
    path 'shotgun_summary.tsv', emit: summary
    path 'abundance/*.bracken.tsv', emit: abundance
    path 'versions.yml', emit: versions

    script:
    def as_list = { x -> x instanceof List ? x : [x] }   // one staged file is a Path, not a list
    def host = as_list(host_records).findAll { !it.toString().endsWith('NO_HOST') }.collect { "--host-check ${it}" }.join(' ')
    def qc = as_list(qc_records).collect { "--qc-record ${it}" }.join(' ')
    def context_json = groovy.json.JsonOutput.toJson(context).replace("'", "'\\''")  // shell-quoted
    """
    printf '%s\\n' '${context_json}' > processing_context.json
    mkdir -p abundance
    soilbiome shotgun table reports/*.kraken2.report.txt --db ${db} --distribution ${distribution} \\
        --samplesheet ${samplesheet} ${qc} ${host} \\
        --threshold ${params.bracken_threshold} --reference '${reference.toString().replace("'", "'\\''")}' \\
        --abundance-dir abundance --summary shotgun_summary.tsv \\
        --context processing_context.json ${as_list(versions).collect { "--versions ${it}" }.join(' ')} \\
        --table-id '${workflow.runName}' --out taxon_table.biom --validate

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        soilbiome: \$(soilbiome --version | sed 's/.*version //')
    END_VERSIONS
    """
}
