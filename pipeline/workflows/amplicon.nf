/*
 * Amplicon (16S / ITS) workflow:
 * QC report per sample -> primer removal (when primers are given) -> DADA2 ASVs ->
 * taxonomy (SINTAX or assignTaxonomy) -> harmonised lineage -> BIOM 2.1 -> diversity -> report.
 */
include { FASTQ_QC          } from '../modules/fastq_qc'
include { QC_SUMMARY        } from '../modules/qc_summary'
include { CUTADAPT          } from '../modules/cutadapt'
include { PRIMER_SUMMARY    } from '../modules/primer_summary'
include { DADA2_DENOISE     } from '../modules/dada2_denoise'
include { VSEARCH_SINTAX; DADA2_TAXONOMY; HARMONISE_TAXONOMY } from '../modules/taxonomy'
include { BUILD_BIOM        } from '../modules/biom'
include { DIVERSITY         } from '../modules/diversity'
include { SOFTWARE_VERSIONS } from '../modules/software_versions'
include { REPORT            } from '../modules/report'
include { STAMP             } from '../modules/stamp'
include { INTEROP           } from '../modules/interop'
include { MULTIQC           } from '../modules/multiqc'

workflow AMPLICON {
    take:
    ch_samples   // [ meta, [reads] ]
    ch_sheet     // validated samplesheet
    refdb        // [ db map, reference file ]
    sharing      // [ agreement, signing key path ] or null (no stamp)

    main:
    ch_versions = Channel.empty()

    FASTQ_QC(ch_samples)
    QC_SUMMARY(FASTQ_QC.out.record.map { meta, json -> json }.collect(), ch_sheet)
    ch_versions = ch_versions.mix(FASTQ_QC.out.versions.first(), QC_SUMMARY.out.versions)

    if (params.primer_fwd) {
        CUTADAPT(ch_samples)
        PRIMER_SUMMARY(CUTADAPT.out.json.collect())
        ch_reads = CUTADAPT.out.reads
        ch_primers = PRIMER_SUMMARY.out.tsv
        ch_versions = ch_versions.mix(CUTADAPT.out.versions.first())
    } else {
        ch_reads = ch_samples
        ch_primers = Channel.value(file("${projectDir}/../assets/NO_PRIMERS"))
    }

    // DADA2 starts only once every sample's reads passed FASTQ_QC's integrity check, so a
    // corrupt or truncated file is reported by name there, never as DADA2's pair mismatch
    ch_qc_done = FASTQ_QC.out.record.collect().map { true }
    ch_batch = ch_reads
        .toSortedList { a, b -> a[0].id <=> b[0].id }
        .map { items -> [items] }
        .combine(ch_qc_done)
        .map { items, ok -> [items.collect { it[0].id }, items.collect { it[0].single_end }, items.collect { it[1] }.flatten()] }
    DADA2_DENOISE(ch_batch)
    ch_versions = ch_versions.mix(DADA2_DENOISE.out.versions)

    ch_cutadapt_logs = params.primer_fwd ? CUTADAPT.out.log.collect() : Channel.value([])
    MULTIQC(FASTQ_QC.out.fastp_json.collect(), ch_cutadapt_logs, DADA2_DENOISE.out.tracking)
    ch_versions = ch_versions.mix(MULTIQC.out.versions)

    def db = refdb[0]
    ch_ref = Channel.value(refdb)
    if (db.format == 'sintax') {
        VSEARCH_SINTAX(DADA2_DENOISE.out.fasta, ch_ref)
        ch_raw_tax = VSEARCH_SINTAX.out.raw
        ch_versions = ch_versions.mix(VSEARCH_SINTAX.out.versions)
    } else {
        DADA2_TAXONOMY(DADA2_DENOISE.out.fasta, ch_ref)
        ch_raw_tax = DADA2_TAXONOMY.out.raw
        ch_versions = ch_versions.mix(DADA2_TAXONOMY.out.versions)
    }
    HARMONISE_TAXONOMY(ch_raw_tax, Channel.value(db))

    BUILD_BIOM(DADA2_DENOISE.out.counts, HARMONISE_TAXONOMY.out.lineage, ch_sheet)
    ch_biom = BUILD_BIOM.out.biom
    ch_verification = Channel.value(file("${projectDir}/../assets/NO_FILE"))
    if (sharing) {
        STAMP(BUILD_BIOM.out.biom, Channel.value(file(sharing[0])), Channel.value(sharing[1]))
        ch_biom = STAMP.out.biom
        ch_verification = STAMP.out.verification
    }
    DIVERSITY(ch_biom)
    INTEROP(ch_biom)
    ch_versions = ch_versions.mix(INTEROP.out.versions)
    SOFTWARE_VERSIONS(ch_versions.collect())

    def info = "${workflow.workDir}/soilbiome-startup/${workflow.sessionId}"  // start-up records
    REPORT(ch_biom, DIVERSITY.out.dir, QC_SUMMARY.out.tsv, DADA2_DENOISE.out.tracking,
           ch_primers, SOFTWARE_VERSIONS.out.yml, file("${info}/params.json"),
           file("${info}/reference_database.json"), ch_verification)

    emit:
    biom       = ch_biom
    qc_summary = QC_SUMMARY.out.tsv
    report     = REPORT.out.html
}
