/*
 * Amplicon (16S / ITS) workflow: QC per sample, then the batch QC summary.
 */
include { FASTQ_QC       } from '../modules/fastq_qc'
include { QC_SUMMARY     } from '../modules/qc_summary'
include { SOFTWARE_VERSIONS } from '../modules/software_versions'

workflow AMPLICON {
    take:
    ch_samples   // [ meta, [reads] ]
    ch_sheet     // validated samplesheet

    main:
    FASTQ_QC(ch_samples)
    QC_SUMMARY(FASTQ_QC.out.record.map { meta, json -> json }.collect(), ch_sheet)

    ch_versions = FASTQ_QC.out.versions.first()
        .mix(QC_SUMMARY.out.versions)
    SOFTWARE_VERSIONS(ch_versions.collect())

    emit:
    qc_summary = QC_SUMMARY.out.tsv
    reads      = FASTQ_QC.out.reads
}
