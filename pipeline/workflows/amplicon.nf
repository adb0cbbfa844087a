/*
 * Amplicon (16S / ITS) workflow:
 * QC report per sample -> primer removal (when primers are given) -> DADA2 ASVs ->
 * taxonomy (SINTAX or assignTaxonomy) -> harmonised lineage -> BIOM 2.1 -> diversity -> report.
 */
include { FASTQ_QC          } from '../modules/fastq_qc'
include { QC_SUMMARY        } from '../modules/qc_summary'
include { CUTADAPT          } from '../modules/cutadapt'
include { PRIMER_SUMMARY    } from '../modules/primer_summary'
include { DADA2_FILTER      } from '../modules/dada2_filter'
include { DADA2_ERRORS      } from '../modules/dada2_errors'
include { DADA2_PSEUDO_PASS } from '../modules/dada2_pseudo_pass'
include { DADA2_PSEUDO_PRIORS } from '../modules/dada2_pseudo_priors'
include { DADA2_DENOISE     } from '../modules/dada2_denoise'
include { DADA2_MERGE       } from '../modules/dada2_merge'
include { DADA2_BATCH       } from '../modules/dada2_batch'
include { VSEARCH_SINTAX; DADA2_TAXONOMY; HARMONISE_TAXONOMY } from '../modules/taxonomy'
include { CLEANUP           } from '../modules/cleanup'
include { ITS_EXTRACT       } from '../modules/its_extract'
include { PHYLOGENY         } from '../modules/phylogeny'
include { BUILD_BIOM        } from '../modules/biom'
include { DIVERSITY         } from '../modules/diversity'
include { SOFTWARE_VERSIONS } from '../modules/software_versions'
include { REPORT            } from '../modules/report'
include { STAMP             } from '../modules/stamp'
include { INTEROP           } from '../modules/interop'
include { MULTIQC           } from '../modules/multiqc'

/*
 * Samples per DADA2 chunk for a run of `runSamples` samples (docs/dada2.md#chunks):
 * --dada2_chunk_size when it is above 0; with 0 (the default) it is chosen from the cores. On
 * the local executor a run is cut into as many chunks as chunk tasks (process_low: up to 2
 * cores, at most --max_cpus) fit side by side on the executor's cores: on a 2-core machine that
 * is one chunk per run, and the batch runs as one DADA2 task. On a cluster executor (SLURM),
 * chunks of 8 samples: many jobs in parallel, each R start-up shared by 8 samples.
 */
def dada2ChunkSize(int runSamples) {
    def given = params.dada2_chunk_size as int
    if (given > 0) {
        return given
    }
    if (!localExecutor()) {
        return 8
    }
    def config = (nextflow.Global.session as nextflow.Session).config
    def cores = (config.executor instanceof Map ? config.executor.cpus : null) ?:
        Runtime.runtime.availableProcessors()
    def perTask = Math.max(1, Math.min(2, params.max_cpus as int))
    def slots = Math.max(1, (cores as int).intdiv(perTask))
    return Math.max(1, Math.ceil(runSamples / slots) as int)
}

/* True when the run's tasks go to the local executor (not to SLURM or another scheduler). */
def localExecutor() {
    def config = (nextflow.Global.session as nextflow.Session).config
    def executor = (config.process instanceof Map ? config.process.executor : null) ?: 'local'
    return executor.toString() == 'local'
}

/*
 * Samples (sorted by ID) -> chunks of at most dada2ChunkSize samples of one sequencing run each.
 * A chunk: [id, run, index, n_chunks (of its run), ids, single_end], reads flattened.
 */
def dada2Chunks(List items) {
    def chunks = []
    items.groupBy { it[0].run ?: 'run1' }.each { run, rows ->
        def parts = rows.collate(dada2ChunkSize(rows.size()))
        def runIds = rows.collect { it[0].id }
        parts.eachWithIndex { part, i ->
            def chunk = [id: parts.size() > 1 ? "${run}.${i + 1}" : "${run}", run: run, index: i,
                         n_chunks: parts.size(), ids: part.collect { it[0].id }, run_ids: runIds]
            chunks << [chunk, part.collect { it[0].single_end }, part.collect { it[1] }.flatten()]
        }
    }
    return chunks
}

/*
 * DADA2 split as its big-data workflow intends (docs/dada2.md): filter per chunk of samples,
 * learn errors per run, denoise + merge pairs per chunk with the run's model (pseudo-pooling:
 * two passes around a per-run priors step; pool true: one task per run), then one task merges
 * the tables and removes chimeras. When every run is one chunk, the batch is one task instead
 * (DADA2_BATCH, one R process): the split would add R start-ups and no parallelism.
 */
workflow DADA2 {
    take:
    ch_reads   // [ meta, [reads] ]
    qc_beside  // true: DADA2_BATCH also runs the per-sample QC (reads as sequenced, no primers)

    main:
    ch_plan = ch_reads
        .toSortedList { a, b -> a[0].id <=> b[0].id }
        .map { items -> [items, dada2Chunks(items)] }
        .branch { items, chunks ->
            whole: chunks.every { it[0].n_chunks == 1 }
            split: true
        }
    DADA2_BATCH(ch_plan.whole.map { items, chunks ->
        [[ids    : items.collect { it[0].id }, single_end: items.collect { it[0].single_end },
          runs   : items.collect { it[0].run ?: 'run1' }, qc: qc_beside],
         items.collect { it[1] }.flatten()]
    })
    ch_chunks = ch_plan.split.flatMap { items, chunks -> chunks }
    DADA2_FILTER(ch_chunks)

    // per run: every chunk's filtered folder, in chunk order
    ch_run_filtered = DADA2_FILTER.out.filtered
        .map { chunk, dir -> [groupKey(chunk.run, chunk.n_chunks), chunk, dir] }
        .groupTuple()
        .map { run, chunks, dirs ->
            def order = (0..<chunks.size()).toList().sort { chunks[it].index }
            [[id: run.toString(), ids: chunks[0].run_ids], order.collect { dirs[it] }]
        }
    DADA2_ERRORS(ch_run_filtered)

    ch_chunk_model = DADA2_FILTER.out.filtered
        .map { chunk, dir -> [chunk.run, chunk, dir] }
        .combine(DADA2_ERRORS.out.model.map { run, model -> [run.id, model] }, by: 0)
        .map { run, chunk, dir, model -> [chunk, dir, model] }

    def pool = params.dada2_pool.toString()
    if (pool == 'true') {
        ch_denoise_in = ch_run_filtered
            .map { run, dirs -> [run.id, run, dirs] }
            .combine(DADA2_ERRORS.out.model.map { run, model -> [run.id, model] }, by: 0)
            .map { id, run, dirs, model -> [run, dirs, model] }
    } else if (pool == 'pseudo') {
        DADA2_PSEUDO_PASS(ch_chunk_model)
        ch_priors_in = DADA2_PSEUDO_PASS.out.pass1
            .map { chunk, rds -> [groupKey(chunk.run, chunk.n_chunks), chunk.index, rds] }
            .groupTuple()
            .map { run, idx, files -> [run.toString(), (0..<idx.size()).toList().sort { idx[it] }.collect { files[it] }] }
            .combine(DADA2_ERRORS.out.model.map { run, model -> [run.id, model] }, by: 0)
            .map { id, files, model -> [[id: id], files, model] }
        DADA2_PSEUDO_PRIORS(ch_priors_in)
        ch_denoise_in = DADA2_FILTER.out.filtered
            .map { chunk, dir -> [chunk.run, chunk, dir] }
            .combine(DADA2_PSEUDO_PRIORS.out.model.map { run, model -> [run.id, model] }, by: 0)
            .map { run, chunk, dir, model -> [chunk, dir, model] }
    } else if (pool == 'false') {
        ch_denoise_in = ch_chunk_model
    } else {
        error "--dada2_pool must be false, pseudo or true (got '${pool}')"
    }
    DADA2_DENOISE(ch_denoise_in)
    DADA2_MERGE(DADA2_FILTER.out.tracking.collect(), DADA2_DENOISE.out.denoised.collect())

    emit:
    qc_records = DADA2_BATCH.out.qc_records.flatten()  // only with qc_beside, one per sample
    fastp_json = DADA2_BATCH.out.fastp_json.flatten()
    counts   = DADA2_MERGE.out.counts.mix(DADA2_BATCH.out.counts)
    fasta    = DADA2_MERGE.out.fasta.mix(DADA2_BATCH.out.fasta)
    tracking = DADA2_MERGE.out.tracking.mix(DADA2_BATCH.out.tracking)
    versions = DADA2_MERGE.out.versions.mix(DADA2_BATCH.out.versions)
}

workflow AMPLICON {
    take:
    ch_samples   // [ meta, [reads] ]
    ch_sheet     // validated samplesheet
    refdb        // [ db map, reference file ]
    sharing      // [ agreement, signing key path ] or null (no stamp)

    main:
    ch_versions = Channel.empty()

    // Reads as sequenced (no primers to cut), on the local executor, and a batch DADA2 runs as
    // one task: the per-sample QC runs inside that task, beside DADA2 (DADA2_BATCH), not as
    // FASTQ_QC tasks it waits for (on 2 cores they held both for 5-8 s of 10-20 samples).
    // On a cluster every sample keeps its own FASTQ_QC job, run side by side.
    def qc_beside = !params.primer_fwd && localExecutor()
    ch_one_task = ch_samples
        .toSortedList { a, b -> a[0].id <=> b[0].id }
        .map { items -> dada2Chunks(items).every { it[0].n_chunks == 1 } }
    ch_qc_samples = !qc_beside ? ch_samples : ch_samples.combine(ch_one_task)
        .filter { meta, reads, one_task -> !one_task }
        .map { meta, reads, one_task -> [meta, reads] }
    FASTQ_QC(ch_qc_samples)
    ch_versions = ch_versions.mix(FASTQ_QC.out.versions.first())

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

    // DADA2 starts only once every sample's reads passed FASTQ_QC's integrity check (or, QC
    // beside it, DADA2_BATCH reports a failed check first), so a corrupt or truncated file is
    // reported by name, never as DADA2's pair mismatch
    ch_qc_done = FASTQ_QC.out.record.collect().ifEmpty([]).map { true }
    DADA2(ch_reads.combine(ch_qc_done).map { meta, reads, ok -> [meta, reads] }, qc_beside)
    ch_versions = ch_versions.mix(DADA2.out.versions)
    ch_qc_records = FASTQ_QC.out.record.map { meta, json -> json }.mix(DADA2.out.qc_records)
    QC_SUMMARY(ch_qc_records.collect(), ch_sheet)
    ch_versions = ch_versions.mix(QC_SUMMARY.out.versions)

    def db = refdb[0]
    def marker = (db.marker ?: '').toString()
    // ITS: the ASVs cut to their ITS region before taxonomy (explicit --its_region, or auto
    // with an ITS marker; the region itself is resolved from marker and primers in the task)
    def its_cut = params.its_region != 'none' &&
        (params.its_region != 'auto' || marker.toUpperCase().startsWith('ITS'))
    ch_counts = DADA2.out.counts
    ch_fasta = DADA2.out.fasta
    if (its_cut) {
        ITS_EXTRACT(DADA2.out.counts, Channel.value(marker))
        ch_counts = ITS_EXTRACT.out.counts
        ch_fasta = ITS_EXTRACT.out.fasta
        ch_versions = ch_versions.mix(ITS_EXTRACT.out.versions)
    }
    ch_ref = Channel.value(refdb)
    if (db.format == 'sintax') {
        VSEARCH_SINTAX(ch_fasta, ch_ref)
        ch_raw_tax = VSEARCH_SINTAX.out.raw
        ch_versions = ch_versions.mix(VSEARCH_SINTAX.out.versions)
    } else {
        DADA2_TAXONOMY(ch_fasta, ch_ref)
        ch_raw_tax = DADA2_TAXONOMY.out.raw
        ch_versions = ch_versions.mix(DADA2_TAXONOMY.out.versions)
    }
    HARMONISE_TAXONOMY(ch_raw_tax, Channel.value(db))

    CLEANUP(ch_counts, HARMONISE_TAXONOMY.out.lineage, ch_sheet, Channel.value(marker))
    ch_cutadapt_logs = params.primer_fwd ? CUTADAPT.out.log.collect() : Channel.value([])
    MULTIQC(FASTQ_QC.out.fastp_json.mix(DADA2.out.fastp_json).collect(), ch_cutadapt_logs, DADA2.out.tracking,
            CLEANUP.out.dir.map { it.resolve('nontarget_summary.tsv') })
    ch_versions = ch_versions.mix(MULTIQC.out.versions)
    // phylogeny for UniFrac and Faith's PD: by default for 16S/18S, not for ITS (docs/dada2.md).
    // The tree of every DADA2 ASV is built while taxonomy and clean-up run (as QIIME 2's
    // align-to-tree-mafft-fasttree on the denoised sequences); BUILD_BIOM cuts it to the ASVs
    // the clean-up kept and roots it again at its midpoint (docs/dada2.md#phylogeny)
    if (!params.skip_phylogeny && !marker.toUpperCase().startsWith('ITS')) {
        PHYLOGENY(ch_counts)
        ch_tree = PHYLOGENY.out.tree.ifEmpty(file("${projectDir}/../assets/NO_TREE"))
        ch_versions = ch_versions.mix(PHYLOGENY.out.versions)
    } else {
        ch_tree = Channel.value(file("${projectDir}/../assets/NO_TREE"))
    }
    // how the table was made, recorded in it (and so under its stamp): docs/biom.md
    def context = [
        marker           : marker,
        region           : params.amplicon_region ?: (its_cut && params.its_region != 'auto' ? params.its_region : ''),
        primer_fwd       : params.primer_fwd ?: '',
        primer_rev       : params.primer_rev ?: '',
        trunc_len_f      : (params.dada2_trunc_len_f ?: 0).toString(),
        trunc_len_r      : (params.dada2_trunc_len_r ?: 0).toString(),
        method           : 'DADA2',
        reference        : db.name,
        reference_version: db.version,
        reference_sha256 : db.sha256,
        classifier       : db.format == 'sintax' ? 'vsearch SINTAX' : 'DADA2 assignTaxonomy',
        taxonomy_system  : db.taxonomy ?: '',
    ]
    ch_build_versions = DADA2.out.versions.mix(
        db.format == 'sintax' ? VSEARCH_SINTAX.out.versions : DADA2_TAXONOMY.out.versions)
        .collect(sort: true)  // a fixed order: -resume finds BUILD_BIOM cached
    BUILD_BIOM(CLEANUP.out.counts, HARMONISE_TAXONOMY.out.lineage, ch_sheet, ch_tree,
               context, ch_build_versions)
    ch_biom = BUILD_BIOM.out.biom
    ch_verification = Channel.value(file("${projectDir}/../assets/NO_FILE"))
    if (sharing) {
        STAMP(BUILD_BIOM.out.biom, Channel.value(file(sharing[0])), Channel.value(sharing[1]))
        ch_biom = STAMP.out.biom
        ch_verification = STAMP.out.verification
    }
    DIVERSITY(ch_biom, ch_tree)
    // the report lists the tools that made its table (collected by REPORT itself, no task
    // between DIVERSITY and REPORT); it does not wait for the exports
    ch_table_versions = ch_versions.collect(sort: true)  // fixed order: cached under -resume
    // the QIIME 2 and phyloseq exports carry no terms: made from the table as built, beside
    // STAMP, DIVERSITY and REPORT (R's start-up with phyloseq, 4 s, is the longest step after
    // the tree, and nothing waits for it)
    INTEROP(BUILD_BIOM.out.biom)
    ch_versions = ch_versions.mix(INTEROP.out.versions)
    SOFTWARE_VERSIONS(ch_versions.collect(sort: true))

    def info = "${workflow.workDir}/soilbiome-startup/${workflow.sessionId}"  // start-up records
    REPORT(ch_biom, DIVERSITY.out.dir, QC_SUMMARY.out.tsv, DADA2.out.tracking,
           ch_primers, ch_table_versions, file("${info}/params.json"),
           file("${info}/reference_database.json"), ch_verification,
           CLEANUP.out.dir, Channel.value(file("${projectDir}/../assets/NO_FILE")))

    emit:
    biom       = ch_biom
    qc_summary = QC_SUMMARY.out.tsv
    report     = REPORT.out.html
}
