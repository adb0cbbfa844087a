/*
 * sylph (Shaw & Yu 2024, linked into soilbiome through pysylph; docs/shotgun.md): per sample,
 * sketch the reads and profile them against the sheet's sylph database (sylph profile -u);
 * for the batch, the harmonised BIOM table (sequence abundance + the unexplained share).
 */
process SYLPH_PROFILE {
    tag "${meta.id}"
    label 'process_low'
    publishDir "${params.outdir}/sylph", mode: params.publish_dir_mode,
        saveAs: { fn -> fn == 'versions.yml' ? null : fn }

    input:
    tuple val(meta), path(reads, stageAs: 'reads/*')
    path db

    output:
    path "${meta.id}.sylph.tsv", emit: profile
    path 'versions.yml', emit: versions

    script:
    def files = reads instanceof List ? reads : [reads]
    """
    soilbiome shotgun sylph-profile ${files.join(' ')} --db ${db} --sample '${meta.id}' \\
        --out ${meta.id}.sylph.tsv

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        sylph: \$(soilbiome shotgun sylph-version)
    END_VERSIONS
    """
}

process SYLPH_TABLE {
    label 'process_single'
    publishDir "${params.outdir}", mode: params.publish_dir_mode,
        saveAs: { fn -> fn == 'sylph_taxon_table.biom' ? (params.agreement ? null : "biom/${fn}") :
                        fn == 'sylph_summary.tsv' ? "qc/${fn}" : fn == 'versions.yml' ? null : fn }

    input:
    path profiles, stageAs: 'profiles/*'
    path db
    path samplesheet
    path qc_records, stageAs: 'qc/*'
    path host_records, stageAs: 'host/*'
    val reference
    val context
    path versions, stageAs: 'versions/versions*.yml'

    output:
    path 'sylph_taxon_table.biom', emit: biom
    path 'sylph_summary.tsv', emit: summary
    path 'versions.yml', emit: versions

    script:
    def as_list = { x -> x instanceof List ? x : [x] }
    def host = as_list(host_records).findAll { !it.toString().endsWith('NO_HOST') }.collect { "--host-check ${it}" }.join(' ')
    def qc = as_list(qc_records).collect { "--qc-record ${it}" }.join(' ')
    def context_json = groovy.json.JsonOutput.toJson(context).replace("'", "'\\''")
    """
    printf '%s\\n' '${context_json}' > processing_context.json
    soilbiome shotgun sylph-table profiles/*.sylph.tsv --db ${db} --samplesheet ${samplesheet} \\
        ${qc} ${host} --reference '${reference}' --summary sylph_summary.tsv \\
        --context processing_context.json ${as_list(versions).collect { "--versions ${it}" }.join(' ')} \\
        --table-id '${workflow.runName}' --out sylph_taxon_table.biom
    soilbiome biom validate sylph_taxon_table.biom

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        soilbiome: \$(soilbiome --version | sed 's/.*version //')
    END_VERSIONS
    """
}
