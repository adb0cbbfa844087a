/*
 * sylph (Shaw & Yu 2024, linked into soilbiome through pysylph; docs/shotgun.md): in one task
 * per batch of samples (--sylph_batch_size), load the sheet's sylph database once, then sketch
 * the samples' reads (task.cpus samples side by side) and profile them against it (sylph
 * profile -u), one TSV per sample; for the run, the harmonised BIOM table (sequence abundance
 * + the unexplained share).
 */
include { fastpOptions; fastpVersion } from './fastq_qc'

process SYLPH_PROFILE {
    // a batch of --sylph_batch_size samples in one task: the database is loaded once (for
    // small samples loading it costs more than profiling), then task.cpus samples are sketched
    // at a time (one core each) and each is profiled
    tag "${samples[0][0]}: ${samples.size()} sample(s)"
    label 'process_low'
    publishDir "${params.outdir}", mode: params.publish_dir_mode,
        saveAs: { fn -> fn == 'versions.yml' ? null :
                        fn.endsWith('.fastp.json') || fn.endsWith('.fastp.html') ? "qc/fastp/${fn}" :
                        fn.endsWith('.qc.json') ? (params.shotgun_qc == 'none' ? "qc/reads/${fn}" : "qc/fastp/${fn}") :
                        "sylph/${fn}" }

    input:
    // [ [sample ID, [staged read file names]], ... ], and the batch's files: a folder per file
    // (samples' raw files may share names)
    tuple val(samples), path(reads, stageAs: 'reads*/*')
    path db
    val database_memory  // bytes the database's tasks ask for (conf/base.config; 0: the label's)
    // the reads' QC here: 'none' (as sequenced: the sketching pass checks and counts them),
    // 'fastp' (fastp streams into the sketcher, the check beside it), '' (done before)
    val reads_qc

    output:
    path '*.sylph.tsv', emit: profile
    path '*.qc.json', emit: qc_records, optional: true   // QC here: the samples' QC records
    path '*.fastp.json', emit: fastp_json, optional: true
    path '*.fastp.html', emit: fastp_html, optional: true
    path 'versions.yml', emit: versions

    script:
    def files = reads instanceof List ? reads : [reads]  // one staged file is a Path
    def k = 0
    def batch = samples.collect { id, names -> [id, names.collect { files[k++] }] }
    def manifest = batch.collect { id, staged -> ([id] + staged).join('\t') }
    def quoted = { String s -> "'" + s.replace("'", "'\\''") + "'" }
    // reads as sequenced (--shotgun_qc none): the sketching pass checks them (mates too) and
    // its counts are each sample's QC record; fastp here: its command per sample (one thread:
    // task.cpus samples run side by side), the filtered reads to the sketcher
    def fastp = reads_qc != 'fastp' ? [] : batch.collect { id, staged ->
        "${id}\t" + fastpOptions([id: id, single_end: staged.size() == 1], staged, 1, true) }
    def qc = reads_qc == 'none' ? '--qc-records' : reads_qc == 'fastp' ? '--fastp fastp.tsv' : ''
    """
    printf '%s\\n' ${manifest.collect { "'${it}'" }.join(' ')} > batch.tsv
    ${fastp ? "printf '%s\\n' ${fastp.collect { quoted(it as String) }.join(' ')} > fastp.tsv" : ''}
    soilbiome shotgun sylph-profile --batch batch.tsv --db ${db} --outdir . --threads ${task.cpus} ${qc}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        ${reads_qc == 'fastp' ? fastpVersion() : ''}
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
        --table-id '${workflow.runName}' --out sylph_taxon_table.biom --validate

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        soilbiome: \$(soilbiome --version | sed 's/.*version //')
    END_VERSIONS
    """
}
