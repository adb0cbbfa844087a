/*
 * COMPARE (--mode compare): stamped tables of several institutions -> one comparison.
 * --tables is a CSV with columns `table` (stamped BIOM; its .sharing.dsse.json beside it),
 * `agreement` (optional) and `name` (optional label); relative paths are relative to the CSV. The comparison itself runs in one task (soilbiome compare); the
 * distance matrices of the merged table are also computed in blocks fanned out as tasks and
 * assembled on disk (compare/distributed/), the path that scales past one node.
 */
include { COMPARE_TABLES                       } from '../modules/compare'
include { BETA_PLAN; BETA_BLOCK; BETA_ASSEMBLE } from '../modules/beta_blocks'

/*
 * Labels of the inputs [name, table, sidecar]: the `name` column, else the folders above the
 * table (above its biom/ folder), as few as make every label unique, and the file name:
 * runs/lab_a/biom/asv_table.biom and runs/lab_b/biom/asv_table.biom -> lab_a-asv_table, ...
 */
def inputLabels(List items) {
    def above = items.collect { item ->
        def folder = item[1].parent
        if (folder.name == 'biom' && folder.parent != null) { folder = folder.parent }
        def names = []
        while (folder != null && folder.name) { names << folder.name.toString(); folder = folder.parent }
        names
    }
    def make = { int depth ->
        items.withIndex().collect { item, i ->
            item[0] ?: (above[i].take(depth).reverse() + [item[1].baseName]).join('-')
        }
    }
    int depth = 1
    while (depth < 6 && make(depth).unique(false).size() < items.size()) { depth++ }
    def labels = make(depth)
    return items.withIndex().collect { item, i -> [labels[i], item[1], item[2]] }
}

workflow COMPARE {
    take:
    sheet   // path: the tables CSV
    key     // val: signing key path, or 'throwaway'

    main:
    // Every pipeline run names its outputs biom/asv_table.biom and sharing/agreement.yaml: inputs
    // are staged one folder each and named in every output by a label (column `name`, or the
    // run's folder and the file name), never by the shared file name.
    def base = file(sheet).parent
    def resolve = { String p -> p.startsWith('/') ? file(p) : base.resolve(p) }
    rows = Channel.fromPath(sheet).splitCsv(header: true)
    inputs = rows.map { row ->
        def t = resolve(row.table as String)
        if (!t.exists()) { error "--tables ${sheet}: table not found: ${t}" }
        def sidecar = file("${t}.sharing.dsse.json")
        if (!sidecar.exists()) { error "--tables ${sheet}: no signed sidecar beside ${t} (${sidecar.name})" }
        [row.name ?: '', t, sidecar]
    }.toList().map { items -> inputLabels(items) }
    labels = inputs.map { l -> l.collect { it[0] } }
    tables = inputs.map { l -> l.collect { it[1] } }
    sidecars = inputs.map { l -> l.collect { it[2] } }
    agreements = rows.filter { row -> row.agreement }
        .map { row -> resolve(row.agreement as String) }
        .unique().collect().ifEmpty([])

    COMPARE_TABLES(labels, tables, sidecars, agreements, key)
    merged = COMPARE_TABLES.out.merged
    settings = COMPARE_TABLES.out.settings

    // UniFrac only with --compare_tree: the merged table carries no tree (each input's tree
    // was inferred from its own ASVs; one tree over the union of the sequences is needed)
    def metrics = ['braycurtis', 'jaccard']
    if (params.compare_tree) {
        metrics += ['unweighted_unifrac', 'weighted_unifrac', 'weighted_normalized_unifrac']
    }
    tree = Channel.value(params.compare_tree ? file(params.compare_tree as String)  // checked in main.nf
                                             : file("${projectDir}/../assets/NO_TREE"))
    BETA_PLAN(merged, settings)
    blocks = BETA_PLAN.out.plan
        .splitCsv(header: true)
        .combine(Channel.fromList(metrics))
        .map { row, metric -> [metric, row.block, row.rows, row.cols] }
    BETA_BLOCK(merged, settings, tree, blocks)
    BETA_ASSEMBLE(merged, settings, BETA_PLAN.out.plan, tree, BETA_BLOCK.out.block.groupTuple())

    emit:
    dir = COMPARE_TABLES.out.dir
    distances = BETA_ASSEMBLE.out.tsv
}
