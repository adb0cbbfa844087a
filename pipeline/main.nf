#!/usr/bin/env nextflow
/*
 * soilbiome: soil metagenomics biodiversity tables.
 * Thin entry point: check the inputs before any task runs, then call the named workflow.
 */
nextflow.enable.dsl = 2

include { AMPLICON } from './workflows/amplicon'
include { COMPARE  } from './workflows/compare'
include { SHOTGUN  } from './workflows/shotgun'

// Run a soilbiome command at start-up (before any task); stop the run if it fails.
// okCodes: exit codes that do not stop the run (5 = steward check OK with undecided rules).
def soilbiomeOrStop(List args, String what, List okCodes = [0]) {
    def proc = (["${projectDir}/bin/soilbiome"] + args).collect { it.toString() }.execute()
    def out = new StringBuilder()
    def err = new StringBuilder()
    proc.waitForProcessOutput(out, err)
    if (!(proc.exitValue() in okCodes)) {
        error "${what}:\n${(out.toString() + err.toString()).trim()}"
    }
    return out.toString().trim()
}

// Check every parameter against nextflow_schema.json before anything else (`soilbiome params
// check`): unknown or misspelled ones (with the closest known name), wrong types, ranges and
// choices stop the run here. Returns the checked parameters (params.json) in a staging folder.
def checkParams() {
    def stage = file("${workflow.workDir}/soilbiome-startup/${workflow.sessionId}")
    stage.mkdirs()
    def given = file("${stage}/params.given.json")
    given.text = groovy.json.JsonOutput.toJson(params)
    def checked = file("${stage}/params.json")
    log.info soilbiomeOrStop(['params', 'check', '--schema', "${projectDir}/nextflow_schema.json",
                              '--params', given, '--out', checked],
                             'Invalid parameters; the run did not start (see --help)')
    return checked
}

// Run `soilbiome validate` on the samplesheet before any process is submitted; a bad sheet
// stops the run here with every problem listed (row, column, reason).
def validateSamplesheet(String input, String outdir) {
    if (!input) {
        error "No samplesheet: give --input samplesheet.csv (or use -profile test)"
    }
    def normalised = file("${outdir}/pipeline_info/samplesheet.valid.csv")
    normalised.parent.mkdirs()
    def env = params.soil_env ? ['--env', params.soil_env as String] : []
    log.info soilbiomeOrStop(['validate', file(input), '--out', normalised] + env,
                             "Samplesheet ${input} is invalid")
    return normalised
}

// Find the reference database in the database sheet and verify its sha256 before any task runs.
def checkReference(String sheet, String name, String outdir) {
    if (!sheet || !name) {
        error "No reference database: give --refdb_sheet sheet.csv --refdb NAME"
    }
    def resolved = file("${outdir}/pipeline_info/reference_database.json")
    resolved.parent.mkdirs()
    log.info soilbiomeOrStop(['refdb', 'check', '--sheet', file(sheet), '--name', name,
                              '--out', resolved], 'Reference database check failed')
    def db = new groovy.json.JsonSlurper().parse(resolved.toFile())
    return [db, file(db.path)]
}

// Shotgun host-read removal: the host genome's entry in the database sheet, checked like the
// reference (sha256) before any task runs; null when --host_db is not given.
def checkHost(String sheet, String name, String outdir) {
    if (!name) {
        return null
    }
    def resolved = file("${outdir}/pipeline_info/host_database.json")
    log.info soilbiomeOrStop(['refdb', 'check', '--sheet', file(sheet), '--name', name,
                              '--out', resolved], 'Host genome check failed')
    def db = new groovy.json.JsonSlurper().parse(resolved.toFile())
    return [db, file(db.path)]
}

// The sharing agreement every published BIOM is stamped under: it must have no ERROR finding.
// --signing_key throwaway (test profiles) makes a key in the work folder and a copy of the
// agreement that trusts it; the private key never goes to --outdir.
def prepareSharing(String agreement, String key, String outdir) {
    if (!agreement) {
        log.warn "No --agreement given: BIOM tables are published without a licence stamp"
        return null
    }
    def published = file("${outdir}/sharing/agreement.yaml")
    published.parent.mkdirs()
    if (key == 'throwaway') {
        def dir = file("${workflow.workDir}/soilbiome-throwaway-key")
        dir.mkdirs()
        def keyFile = file("${dir}/signing.key")
        soilbiomeOrStop(['keys', 'generate', keyFile, '--force'], 'Could not make a throwaway key')
        soilbiomeOrStop(['keys', 'trust', file(agreement), '--key', keyFile, '--out', published],
                        'Could not trust the throwaway key')
        key = keyFile.toString()
    } else {
        file(agreement).copyTo(published)
    }
    log.info soilbiomeOrStop(['check', 'agreement', published],
                             "Agreement ${agreement} has ERROR findings; the run will not start",
                             [0, 5])
    if (!key) {
        error "--agreement needs a signing key: --signing_key FILE or SOILBIOME_SIGNING_KEY"
    }
    if (!file(key).exists()) {
        error "Signing key not found: ${key}"
    }
    return [published, key]
}

// --help: the parameters grouped as in the schema; nothing runs.
if (params.help) {
    println soilbiomeOrStop(['params', 'help', '--schema', "${projectDir}/nextflow_schema.json"],
                            'Could not print the parameters')
    System.exit(0)
}

// The comparer's key that signs the merged table of --mode compare ('throwaway': made in the task).
def comparerKey() {
    def key = params.signing_key ?: System.getenv('SOILBIOME_SIGNING_KEY')
    return (key ?: 'throwaway') as String
}

workflow {
    def checkedParams = checkParams()
    if (params.mode == 'compare') {  // stamped tables in, no reads: see workflows/compare.nf
        if (!params.tables) {
            error "--mode compare needs --tables tables.csv (columns: table, agreement)"
        }
        checkedParams.copyTo(file("${params.outdir}/pipeline_info/params.json"))
        COMPARE(file(params.tables, checkIfExists: true), comparerKey())
        return
    }
    def sheet = validateSamplesheet(params.input as String, params.outdir as String)
    def refdb = checkReference(params.refdb_sheet as String, params.refdb as String, params.outdir as String)
    def sharing = prepareSharing(params.agreement as String,
                                 (params.signing_key ?: System.getenv('SOILBIOME_SIGNING_KEY')) as String,
                                 params.outdir as String)

    checkedParams.copyTo(file("${params.outdir}/pipeline_info/params.json"))

    ch_samples = Channel.fromPath(sheet)
        .splitCsv(header: true)
        .map { row ->
            def meta = [id: row.sample, single_end: row.single_end == 'true', site: row.site ?: '']
            def reads = meta.single_end ? [file(row.fastq_1)] : [file(row.fastq_1), file(row.fastq_2)]
            [meta, reads]
        }

    if (params.mode == 'amplicon') {
        AMPLICON(ch_samples, Channel.value(sheet), refdb, sharing)
    } else if (params.mode == 'shotgun') {
        SHOTGUN(ch_samples, Channel.value(sheet), refdb, checkHost(params.refdb_sheet as String,
                params.host_db as String, params.outdir as String), sharing)
    } else {
        error "Unknown --mode '${params.mode}': use amplicon, shotgun or compare"
    }
}

// The run's provenance: a Workflow Run RO-Crate (ro-crate-metadata.json) in --outdir, written
// once every task has finished and its outputs are published. Only for runs that passed the
// start-up checks (params.json exists); a crate that cannot be written is a warning.
def writeRunCrate() {
    def info = file("${params.outdir}/pipeline_info")
    if (!file("${info}/params.json").exists()) {
        return
    }
    def args = ['crate', 'build', file(params.outdir), '--workflow', "${projectDir}/main.nf",
                '--params', "${info}/params.json", '--run-name', workflow.runName,
                '--session-id', workflow.sessionId, '--start', workflow.start,
                '--end', workflow.complete ?: new Date(), '--nextflow-version', nextflow.version,
                workflow.success ? '--success' : '--failed']
    def optional = ['--samplesheet': params.input, '--refdb-sheet': params.refdb_sheet,
                    '--refdb-record': "${info}/reference_database.json",
                    '--versions': "${info}/software_versions.yml", '--agreement': params.agreement]
    optional.each { opt, path -> if (path && file(path as String).exists()) { args += [opt, path] } }
    def traces = info.listFiles().findAll { it.name.startsWith('execution_trace_') }
    if (traces) {
        args += ['--trace', traces.max { it.lastModified() }]
    }
    def proc = (["${projectDir}/bin/soilbiome"] + args).collect { it.toString() }.execute()
    def out = new StringBuilder()
    def err = new StringBuilder()
    proc.waitForProcessOutput(out, err)
    if (proc.exitValue() != 0) {
        log.warn "No run crate: ${(out.toString() + err.toString()).trim()}"
    } else {
        log.info out.toString().trim()
    }
}

workflow.onComplete {
    writeRunCrate()
    def status = workflow.success ? 'OK' : 'FAILED'
    log.info "soilbiome ${status}: ${workflow.stats.succeedCount} tasks succeeded, " +
             "${workflow.stats.failedCount} failed, ${workflow.stats.cachedCount} cached; results in ${params.outdir}"
}
