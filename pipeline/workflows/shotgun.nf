/*
 * Shotgun metagenome workflow, per sample in parallel:
 * fastp QC (adapters, quality, length, low complexity; with --shotgun_qc none, none: the
 * profiler reads the reads as sequenced, checked and counted beside it or in its own pass)
 * -> optional bowtie2 host-read removal ->
 * (with Kraken2 the only profiler and no host removal, fastp streams into Kraken2: QC_KRAKEN2)
 * the profilers of --shotgun_profiler: Kraken2 (then for the batch: Bracken-method
 * re-estimation -> taxon_table.biom) and/or sylph (one task for the batch, the database loaded
 * once: sketch + profile -> sylph_taxon_table.biom).
 * One harmonised BIOM table per profiler (same contract as amplicons, the unclassified /
 * unexplained share kept) -> stamp each -> diversity of the first profiler's table -> report
 * with the profilers side by side.
 */
include { FASTQ_QC          } from '../modules/fastq_qc'
include { QC_SUMMARY        } from '../modules/qc_summary'
include { BOWTIE2_BUILD; HOST_REMOVAL } from '../modules/host_removal'
include { KRAKEN2; QC_KRAKEN2 } from '../modules/kraken2'
include { BRACKEN_DISTRIBUTION; SHOTGUN_TABLE } from '../modules/shotgun_table'
include { SYLPH_PROFILE; SYLPH_TABLE } from '../modules/sylph'
include { DIVERSITY         } from '../modules/diversity'
include { SOFTWARE_VERSIONS } from '../modules/software_versions'
include { REPORT            } from '../modules/report'
include { STAMP             } from '../modules/stamp'
include { STAMP as STAMP_SECOND } from '../modules/stamp'

workflow SHOTGUN {
    take:
    ch_samples   // [ meta, [reads] ]
    ch_sheet     // validated samplesheet
    refdb        // [ db map, Kraken2 database folder ]
    host_genome  // [ db map, host genome FASTA ] or null (no host removal)
    sylph_ref    // [ db map, sylph database folder ] or null (sylph not used)
    sharing      // [ agreement, signing key path ] or null (no stamp)
    memory       // [kraken2:, sylph:, host:] bytes their tasks ask for (0: the label's request)

    main:
    ch_versions = Channel.empty()
    def db = refdb[0]
    def sdb = sylph_ref ? sylph_ref[0] : null
    def sylph_folder = sylph_ref ? sylph_ref[1] : null
    def profilers = (params.shotgun_profiler as String).tokenize(',')*.trim().unique()
    if ('kraken2' in profilers && db.format != 'kraken2') {
        error "--refdb ${db.name} has format '${db.format}': the kraken2 profiler needs a kraken2 database"
    }
    if ('sylph' in profilers && !sdb) {
        error "--shotgun_profiler sylph needs a sylph database (--sylph_db NAME)"
    }

    def host_db = host_genome ? host_genome[0] : null
    def host_fasta = host_genome ? host_genome[1] : null
    // Kraken2 alone and no host removal: nothing else reads fastp's filtered reads, so they
    // stream into Kraken2 in one task (QC_KRAKEN2) instead of being written and read back
    def streamed = profilers == ['kraken2'] && !host_fasta
    // --shotgun_qc none (one profiler, no host removal: the start-up gate refused the rest):
    // no fastp; QC_KRAKEN2 runs Kraken2 on the reads as sequenced with the check beside it,
    // or sylph sketches them, checking them and counting them for the QC record in its pass
    def raw_sylph = params.shotgun_qc == 'none' && profilers == ['sylph']
    // sylph the only profiler and no host removal, with fastp: nothing else reads fastp's
    // filtered reads, so they stream into sylph's sketcher inside SYLPH_PROFILE (no FASTQ_QC
    // task, no filtered reads written), the check beside fastp (docs/shotgun.md)
    def fastp_sylph = params.shotgun_qc == 'fastp' && profilers == ['sylph'] && !host_fasta
    if (raw_sylph || fastp_sylph) {
        ch_qc_json = Channel.empty()  // from SYLPH_PROFILE, below
        ch_reads = ch_samples
    } else if (streamed) {
        QC_KRAKEN2(ch_samples, Channel.value(refdb[1]), memory.kraken2)
        ch_qc_json = QC_KRAKEN2.out.record.map { meta, json -> json }
        ch_versions = ch_versions.mix(QC_KRAKEN2.out.versions.first())
        ch_reads = Channel.empty()
    } else {
        FASTQ_QC(ch_samples)
        ch_qc_json = FASTQ_QC.out.record.map { meta, json -> json }
        ch_versions = ch_versions.mix(FASTQ_QC.out.versions.first())
        ch_reads = FASTQ_QC.out.reads
    }

    def prebuilt = host_fasta && (file("${host_fasta}.1.bt2").exists() || file("${host_fasta}.1.bt2l").exists())
    if (host_fasta) {
        if (host_db.format != 'host_fasta') {
            error "--host_db ${host_db.name} has format '${host_db.format}', expected host_fasta"
        }
        if (prebuilt) {
            ch_index = Channel.value(host_fasta.parent)
        } else {
            BOWTIE2_BUILD(Channel.value(host_fasta))
            ch_index = BOWTIE2_BUILD.out.index
            ch_versions = ch_versions.mix(BOWTIE2_BUILD.out.versions)
        }
        HOST_REMOVAL(ch_reads, ch_index, host_fasta.name, memory.host)
        ch_reads = HOST_REMOVAL.out.reads
        ch_host = HOST_REMOVAL.out.record.collect()
        ch_versions = ch_versions.mix(HOST_REMOVAL.out.versions.first())
    } else {
        ch_host = Channel.value(file("${projectDir}/../assets/NO_HOST"))
    }

    def tables = [:]     // profiler -> [ BIOM channel, read accounting TSV channel ]
    if ('kraken2' in profilers) {
        ch_db = Channel.value(refdb[1])
        if (streamed) {
            ch_reports = QC_KRAKEN2.out.report
            ch_kraken2_versions = QC_KRAKEN2.out.versions
        } else {
            KRAKEN2(ch_reads, ch_db, memory.kraken2)
            ch_reports = KRAKEN2.out.report
            ch_kraken2_versions = KRAKEN2.out.versions
            ch_versions = ch_versions.mix(KRAKEN2.out.versions.first())
        }

        def shipped = file("${refdb[1]}/database${params.bracken_read_length}mers.kmer_distrib")
        if (shipped.exists()) {
            ch_distribution = Channel.value(shipped)
        } else {
            BRACKEN_DISTRIBUTION(ch_db, memory.kraken2)
            ch_distribution = BRACKEN_DISTRIBUTION.out.distribution
        }

        SHOTGUN_TABLE(ch_reports.map { meta, report -> report }.collect(), ch_db,
                      ch_distribution, ch_sheet, ch_qc_json.collect(), ch_host,
                      "${db.name} ${db.version}",
                      [marker: 'shotgun', method: 'Kraken2', reference: db.name,
                       reference_version: db.version, reference_sha256: db.sha256,
                       classifier: 'Kraken2 + Bracken method (soilbiome)',
                       taxonomy_system: db.taxonomy ?: 'NCBI', read_qc: params.shotgun_qc],
                      ch_kraken2_versions.first())
        ch_versions = ch_versions.mix(SHOTGUN_TABLE.out.versions)
        tables.kraken2 = [SHOTGUN_TABLE.out.biom, SHOTGUN_TABLE.out.summary]
    }
    if ('sylph' in profilers) {
        ch_sylph_db = Channel.value(sylph_folder)
        // the samples in batches of --sylph_batch_size, in sample order: each task loads the
        // database once (for small samples loading it costs more than profiling them) and
        // sketches task.cpus samples at a time; batches run side by side (on SLURM, as jobs
        // of their own, so a large batch neither waits on two cores nor outlasts its time)
        ch_batches = ch_reads
            .map { meta, reads -> [meta.id, reads instanceof List ? reads : [reads]] }
            .toSortedList { a, b -> a[0] <=> b[0] }
            .flatMap { all -> all.collate(params.sylph_batch_size as int) }
            .map { batch -> [batch.collect { id, files -> [id, files*.name] },
                             batch.collect { id, files -> files }.flatten()] }
        SYLPH_PROFILE(ch_batches, ch_sylph_db, memory.sylph,
                      raw_sylph ? 'none' : fastp_sylph ? 'fastp' : '')
        ch_versions = ch_versions.mix(SYLPH_PROFILE.out.versions.first())
        if (raw_sylph || fastp_sylph) {
            ch_qc_json = SYLPH_PROFILE.out.qc_records.flatten()
        }
        SYLPH_TABLE(SYLPH_PROFILE.out.profile.collect(), ch_sylph_db, ch_sheet, ch_qc_json.collect(), ch_host,
                    "${sdb.name} ${sdb.version}",
                    [marker: 'shotgun', method: 'sylph', reference: sdb.name,
                     reference_version: sdb.version, reference_sha256: sdb.sha256,
                     classifier: 'sylph (pysylph)', taxonomy_system: sdb.taxonomy ?: 'GTDB',
                     read_qc: params.shotgun_qc],
                    SYLPH_PROFILE.out.versions.first())
        ch_versions = ch_versions.mix(SYLPH_TABLE.out.versions)
        tables.sylph = [SYLPH_TABLE.out.biom, SYLPH_TABLE.out.summary]
    }

    QC_SUMMARY(ch_qc_json.collect(), ch_sheet)
    ch_versions = ch_versions.mix(QC_SUMMARY.out.versions)

    // the first profiler named gives the table diversity is computed on; every table is
    // stamped and shown side by side in the report
    def first = tables[profilers[0]]
    ch_biom = first[0]
    ch_summary = first[1]
    ch_verification = Channel.value(file("${projectDir}/../assets/NO_FILE"))
    if (sharing) {
        STAMP(ch_biom, Channel.value(file(sharing[0])), Channel.value(sharing[1]))
        ch_biom = STAMP.out.biom
        ch_verification = STAMP.out.verification
    }
    ch_all_biom = ch_biom
    ch_others = Channel.value(file("${projectDir}/../assets/NO_FILE"))
    if (profilers.size() > 1) {
        ch_second = tables[profilers[1]][0]
        if (sharing) {
            STAMP_SECOND(ch_second, Channel.value(file(sharing[0])), Channel.value(sharing[1]))
            ch_second = STAMP_SECOND.out.biom
        }
        ch_all_biom = ch_biom.mix(ch_second)
        ch_others = ch_second
    }
    DIVERSITY(ch_biom, Channel.value(file("${projectDir}/../assets/NO_TREE")))  // no tree for taxa
    SOFTWARE_VERSIONS(ch_versions.collect(sort: true))  // fixed order: cached under -resume

    def info = "${workflow.workDir}/soilbiome-startup/${workflow.sessionId}"  // start-up records
    REPORT(ch_biom, DIVERSITY.out.dir, QC_SUMMARY.out.tsv, ch_summary,
           Channel.value(file("${projectDir}/../assets/NO_PRIMERS")), ch_versions.collect(sort: true),
           file("${info}/params.json"), file("${info}/reference_database.json"), ch_verification,
           Channel.value(file("${projectDir}/../assets/NO_CLEANUP")), ch_others)

    emit:
    biom       = ch_all_biom
    qc_summary = QC_SUMMARY.out.tsv
    report     = REPORT.out.html
}
