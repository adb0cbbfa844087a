/*
 * COMPARE (--mode compare): stamped tables of several institutions -> one comparison.
 * --tables is a CSV with columns `table` (stamped BIOM; its .sharing.dsse.json beside it) and
 * `agreement` (optional). The comparison itself runs in one task (soilbiome compare); the
 * distance matrices of the merged table are also computed in blocks fanned out as tasks and
 * assembled on disk (compare/distributed/), the path that scales past one node.
 */
include { COMPARE_TABLES                       } from '../modules/compare'
include { BETA_PLAN; BETA_BLOCK; BETA_ASSEMBLE } from '../modules/beta_blocks'

workflow COMPARE {
    take:
    sheet   // path: the tables CSV
    key     // val: signing key path, or 'throwaway'

    main:
    rows = Channel.fromPath(sheet).splitCsv(header: true)
    tables = rows.map { row -> file(row.table, checkIfExists: true) }.collect()
    sidecars = rows.map { row -> file("${row.table}.sharing.dsse.json", checkIfExists: true) }.collect()
    agreements = rows.filter { row -> row.agreement }
        .map { row -> file(row.agreement, checkIfExists: true) }
        .unique().collect().ifEmpty([])

    COMPARE_TABLES(tables, sidecars, agreements, key)
    merged = COMPARE_TABLES.out.merged
    settings = COMPARE_TABLES.out.settings

    BETA_PLAN(merged, settings)
    blocks = BETA_PLAN.out.plan
        .splitCsv(header: true)
        .combine(Channel.of('braycurtis', 'jaccard'))
        .map { row, metric -> [metric, row.block, row.rows, row.cols] }
    BETA_BLOCK(merged, settings, blocks)
    BETA_ASSEMBLE(merged, settings, BETA_BLOCK.out.block.groupTuple())

    emit:
    dir = COMPARE_TABLES.out.dir
    distances = BETA_ASSEMBLE.out.tsv
}
