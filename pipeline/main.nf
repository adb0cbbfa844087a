#!/usr/bin/env nextflow
/*
 * soilbiome: soil metagenomics biodiversity tables.
 * Thin entry point: check the inputs before any task runs, then call the named workflow.
 */
nextflow.enable.dsl = 2

// run state shared by the workflow body and onComplete (a map: closures capture it):
// staging = set once every start-up check has passed (null: nothing may be published);
// stamped = the stamped tables in their task folders (published by publishOnSuccess, never by a task);
// claimed = this run holds --outdir's lock (pipeline_info/run.lock; released by onComplete)
// startup = the start-up commands begun before the workflow is compiled (startChecks)
def runState = [staging: null, stamped: [], claimed: false, startup: null]

// Nextflow opens this run's trace file in --outdir (and the work directory) at launch, before any
// line of this script runs. A run that stops at start-up (refused, or --help) removes them again:
// the trace file while it holds only its header, and each folder when it is left empty, so that
// such a run leaves the launch folder and --outdir exactly as it found them.
def removeLaunchLeftovers() {
    def config = (nextflow.Global.session as nextflow.Session).config
    def trace = config?.trace?.file ? file(config.trace.file as String) : null
    if (trace != null && trace.exists() && trace.readLines().size() <= 1) {
        trace.delete()
        def info = trace.parent
        if (info.list().size() == 0) {
            info.delete()
            if (info.parent.list().size() == 0) { info.parent.delete() }
        }
    }
    def work = workflow.workDir ? file(workflow.workDir.toString()) : null
    if (work != null && work.isDirectory() && work.list().size() == 0) { work.delete() }
}

// Refuse the run at start-up (see removeLaunchLeftovers).
def refuse(String message) {
    removeLaunchLeftovers()
    error message
}

// Run a command at start-up (before any task): [exit: code, out: stdout, err: stderr].
def runCommand(List command) {
    def proc = command.collect { it.toString() }.execute()
    def out = new StringBuilder()
    def err = new StringBuilder()
    proc.waitForProcessOutput(out, err)
    return [exit: proc.exitValue(), out: out.toString(), err: err.toString()]
}

def runSoilbiome(List args) {
    return runCommand(["${projectDir}/bin/soilbiome"] + args)
}

// What a soilbiome command run at start-up said (stdout); stop the run if it failed (with the
// command's own one-line message when `what` is null).
def saidOrStop(Map result, String what) {
    if (result.exit != 0) {
        def said = (result.out + result.err).trim()
        refuse(what ? "${what}:\n${said}" : said.replaceFirst(/^soilbiome: error: /, ''))
    }
    return result.out.trim()
}

def soilbiomeOrStop(List args, String what) {
    return saidOrStop(runSoilbiome(args), what)
}

// One run per results folder (soilbiome.run.outdir): lock --outdir for this run, refused in one
// line when another run is writing there or it holds another session's results (only -resume
// of that session continues in it). The lock is the first file this run writes to --outdir;
// the caller sets runState.claimed (functions do not see runState) so that onComplete releases it.
def claimOutdir() {
    log.info soilbiomeOrStop(['outdir', 'claim', file(params.outdir as String),
                              '--session-id', workflow.sessionId,
                              '--pid', ProcessHandle.current().pid(),
                              '--run-name', workflow.runName, '--started', workflow.start], null)
}

// The end of a run that holds --outdir's lock: remove it.
def releaseOutdir() {
    def args = ['outdir', 'release', file(params.outdir as String), '--session-id', workflow.sessionId]
    def proc = (["${projectDir}/bin/soilbiome"] + args).collect { it.toString() }.execute()
    def out = new StringBuilder()
    proc.waitForProcessOutput(out, out)
    if (proc.exitValue() != 0) {
        log.warn "--outdir lock not removed: ${out.toString().trim()}"
    }
}

// The start-up folder of this run (work directory): start-up records wait here until the run
// succeeded (publishOnSuccess).
def startupStaging() {
    return file("${workflow.workDir}/soilbiome-startup/${workflow.sessionId}")
}

// Check every parameter against nextflow_schema.json first (`soilbiome params check`): unknown
// or misspelled ones (with the closest known name), wrong types, ranges and choices stop the
// run before anything else. The checked parameters go to the staging folder (params.json).
// (started by startChecks, read here)
def checkParams(Map early) {
    log.info saidOrStop(early.params.get(), 'Invalid parameters; the run did not start (see --help)')
}

def paramsCheckArgs() {
    def stage = startupStaging()
    return ['params', 'check', '--schema', "${projectDir}/nextflow_schema.json",
            '--params', file("${stage}/params.given.json"), '--out', file("${stage}/params.json")]
}

// The start-up commands, begun before Nextflow compiles this run's workflow (the include below,
// 1-2.5 s) and run while it does, one after another as before: the parameter check, then -- when
// it passed and nothing in the gate's own checks refuses the run -- the demo database build and
// `soilbiome preflight`. They write only into the staging folder. The workflow block reads their
// results in the same order (checkParams, startupGate), so a refusal says what it said before;
// nothing waits for a step that was not begun here: the gate runs it itself.
def startChecks() {
    def stage = startupStaging()
    stage.mkdirs()
    file("${stage}/params.given.json").text = groovy.json.JsonOutput.toJson(params)
    def early = [params: new java.util.concurrent.CompletableFuture(),
                 gate  : new java.util.concurrent.CompletableFuture()]
    def gate = (params.mode == 'amplicon' || params.mode == 'shotgun') && gateRefusal() == null
    Thread.startDaemon('soilbiome-startup') {
        try {
            def checked = runSoilbiome(paramsCheckArgs())
            early.params.complete(checked)
            if (checked.exit != 0 || !gate) {
                early.gate.complete(null)
                return
            }
            def demo = params.build_demo_database ?
                runCommand(["${projectDir}/../runtime/build_shotgun_demo.sh"]) : null
            def preflight = demo == null || demo.exit == 0 ? runSoilbiome(preflightArgs()) : null
            early.gate.complete([demo: demo, preflight: preflight])
        } catch (Throwable e) {
            early.params.completeExceptionally(e)
            early.gate.completeExceptionally(e)
        }
    }
    return early
}

// The start-up gate: the ONE place where a run is checked before any task is submitted.
// Every check writes only into a staging folder in the work directory; --outdir is not touched
// until all of them have passed (a refused run, or one killed here, even under -resume, leaves
// earlier results exactly as they were). Add further start-up checks as steps inside this
// function, before `soilbiome preflight` or as its options; never write to --outdir from here.
def startupGate(Map early) {
    def refusal = gateRefusal()
    if (refusal) {
        refuse refusal
    }
    def started = early.gate.get()  // null: not begun at start (a refusal awaited it)
    if (params.build_demo_database) {  // -profile test_shotgun: the demo database, once
        def build = started?.demo ?: runCommand(["${projectDir}/../runtime/build_shotgun_demo.sh"])
        if (build.exit != 0) {
            refuse "The demo shotgun databases could not be built:\n${(build.out + build.err).trim()}"
        }
    }
    if (!params.agreement) {
        log.warn "No --agreement given: BIOM tables are published without a licence stamp"
    }
    log.info saidOrStop(started?.preflight ?: runSoilbiome(preflightArgs()), "Start-up checks failed")
    def staging = startupStaging()
    def pre = new groovy.json.JsonSlurper().parse(file("${staging}/preflight.json").toFile())
    def db = new groovy.json.JsonSlurper().parse(file(pre.reference as String).toFile())
    def host = pre.host ? new groovy.json.JsonSlurper().parse(file(pre.host as String).toFile()) : null
    def sylph = pre.sylph ? new groovy.json.JsonSlurper().parse(file(pre.sylph as String).toFile()) : null
    // the memory the tasks loading a database ask for (bytes, by format; conf/base.config),
    // which --max_memory caps: said at start-up rather than found out from a killed task
    def memory = pre.task_memory ?: [:]
    def cap = params.max_memory as nextflow.util.MemoryUnit
    def names = [kraken2: 'Kraken2 database', sylph: 'sylph database', host_fasta: 'host genome index']
    memory.each { fmt, bytes ->
        if ((bytes as long) > cap.toBytes()) {
            log.warn "The ${names[fmt] ?: fmt}'s tasks need ${new nextflow.util.MemoryUnit(bytes as long)} " +
                     "of memory and --max_memory ${cap} caps them: give --max_memory " +
                     "${new nextflow.util.MemoryUnit(bytes as long)} or more (on SLURM, the largest node's)"
        }
    }
    // every check passed: only now take the results folder and mark it as holding this run
    claimOutdir()
    writeRunRecord('running')
    return [
        sheet  : file(pre.samplesheet as String),
        refdb  : [db, file(db.path as String)],
        host   : host ? [host, file(host.path as String)] : null,  // shotgun host genome
        sylph  : sylph ? [sylph, file(sylph.path as String)] : null,  // shotgun sylph database
        // bytes the tasks loading each database ask for (0: not known, the label's request)
        memory : [kraken2: memory.kraken2 ?: 0, sylph: memory.sylph ?: 0, host: memory.host_fasta ?: 0],
        sharing: pre.agreement ? [file(pre.agreement as String), pre.signing_key as String] : null,
        staging: staging,
    ]
}

// The gate's own checks of the parameters, before any command runs: the refusal, or null.
// Pure (no output, no files), so that startChecks may ask it before the workflow block runs.
def gateRefusal() {
    if (!params.input) {
        return "No samplesheet: give --input samplesheet.csv (or use -profile test)"
    }
    if (!params.refdb_sheet || !params.refdb) {
        return "No reference database: give --refdb_sheet sheet.csv --refdb NAME"
    }
    if (workflow.containerEngine == 'charliecloud' && !System.getenv('USER')) {
        return "-profile charliecloud: ch-run needs \$USER; run: export USER=\$(id -un)"
    }
    if (params.mode == 'shotgun' && params.shotgun_qc == 'none' &&
            ((params.shotgun_profiler as String).tokenize(',')*.trim().unique().size() != 1 ||
             params.host_db)) {
        return "--shotgun_qc none profiles the reads as sequenced with one profiler, not with " +
               "two or with host removal (--shotgun_profiler ${params.shotgun_profiler}" +
               (params.host_db ? ", --host_db ${params.host_db}" : '') + "); use --shotgun_qc fastp"
    }
    return null
}

// `soilbiome preflight`'s arguments for this run (pure, as gateRefusal).
def preflightArgs() {
    def staging = startupStaging()
    def key = (params.signing_key ?: System.getenv('SOILBIOME_SIGNING_KEY')) as String
    def args = ['preflight', '--input', file(params.input as String), '--staging', staging,
                '--refdb-sheet', file(params.refdb_sheet as String), '--refdb', params.refdb]
    if (!workflow.containerEngine) {  // every executable the tasks will call, on their PATH
        args += ['--mode', params.mode, '--its-region', params.its_region]
        if (params.skip_phylogeny) { args += ['--skip-phylogeny'] }
    }
    if (params.mode == 'amplicon') {  // primers and DADA2 truncation against the read length
        args += ['--trunc-len-f', params.dada2_trunc_len_f ?: 0,
                 '--trunc-len-r', params.dada2_trunc_len_r ?: 0]
        if (params.primer_fwd) { args += ['--primer-fwd', params.primer_fwd] }
        if (params.primer_rev) { args += ['--primer-rev', params.primer_rev] }
    }
    if (params.soil_env) { args += ['--env', params.soil_env as String] }
    if (params.mode == 'shotgun' && params.host_db) { args += ['--host-db', params.host_db] }
    if (params.mode == 'shotgun') {
        args += ['--shotgun-profiler', params.shotgun_profiler]
        if (params.sylph_db) { args += ['--sylph-db', params.sylph_db] }
    }
    if (params.agreement) {
        args += ['--agreement', file(params.agreement as String)]
        if (key) { args += ['--signing-key', key] }
    }
    return args
}

// pipeline_info/run_record.json: status running (gate passed) -> succeeded | failed. Results of
// a run are complete only when it says succeeded; the start-up records and the stamped table
// are published by publishOnSuccess(), last.
def writeRunRecord(String status, String failure = null) {
    def record = file("${params.outdir}/pipeline_info/run_record.json")
    record.parent.mkdirs()
    def data = [
        status      : status,
        run_name    : workflow.runName,
        session_id  : workflow.sessionId.toString(),
        resume      : workflow.resume,
        start       : workflow.start.toString(),
        complete    : status == 'running' ? null : java.time.OffsetDateTime.now().toString(),
        command_line: workflow.commandLine,
        error       : status == 'failed' ? (failure ?: workflow.errorMessage ?: '') : null,
        pipeline    : workflow.manifest.version,
    ]
    def tmp = file("${record}.tmp")
    tmp.text = groovy.json.JsonOutput.prettyPrint(groovy.json.JsonOutput.toJson(data)) + '\n'
    java.nio.file.Files.move(tmp, record, java.nio.file.StandardCopyOption.REPLACE_EXISTING,
                             java.nio.file.StandardCopyOption.ATOMIC_MOVE)
}

// On success only: copy the start-up records and, last, the stamped table + sidecar from their
// staging folders into --outdir, all together or none. Returns null, or the one-line error.
def publishOnSuccess(staging, stampedTables) {
    def out = file(params.outdir as String)
    def copies = [  // made by every run that passed the gate: missing is an error
        ["${staging}/params.json", "${out}/pipeline_info/params.json"],
        ["${staging}/samplesheet.valid.csv", "${out}/pipeline_info/samplesheet.valid.csv"],
        ["${staging}/reference_database.json", "${out}/pipeline_info/reference_database.json"],
    ]
    def optional = [  // made only by some runs (host database, sylph, an agreement)
        ["${staging}/host_database.json", "${out}/pipeline_info/host_database.json"],
        ["${staging}/sylph_database.json", "${out}/pipeline_info/sylph_database.json"],
        ["${staging}/sharing/agreement.yaml", "${out}/sharing/agreement.yaml"],
    ]
    stampedTables.each { stampedTable ->  // last: each table, then its signed sidecar
        copies << [stampedTable.toString(), "${out}/biom/${stampedTable.name}"]
        def sidecar = "${stampedTable}.sharing.dsse.json"
        copies << [sidecar, "${out}/biom/${stampedTable.name}.sharing.dsse.json"]
    }
    // `soilbiome publish`: every file is copied to a hidden temp name first and all are renamed
    // together (SIGTERM held back); a missing table, a full disk or a kill while copying leaves
    // --outdir as it was
    def args = ['publish']
    optional.each { src, dest -> args += ['--if-present', src, dest] }
    copies.each { src, dest -> args += ['--copy', src, dest] }
    def proc = (["${projectDir}/bin/soilbiome"] + args).collect { it.toString() }.execute()
    def said = new StringBuilder()
    def failed = new StringBuilder()
    proc.waitForProcessOutput(said, failed)
    return proc.exitValue() == 0 ? null : (failed.toString() ?: said.toString()).trim()
}

// The run's provenance: a Workflow Run RO-Crate (ro-crate-metadata.json) in --outdir, written
// last, once every output is published. A crate that cannot be written is a warning.
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

// --help: the parameters grouped as in the schema; nothing runs.
if (params.help) {
    println soilbiomeOrStop(['params', 'help', '--schema', "${projectDir}/nextflow_schema.json"],
                            'Could not print the parameters')
    removeLaunchLeftovers()
    System.exit(0)
}

runState.startup = startChecks()  // under way while the include below compiles

// Only the workflow of this run's mode is compiled: an include is a statement, run in order, and
// compiling the other two modes' scripts cost an amplicon run about 2.5 s of its start (3 s of the
// 5.8 s Nextflow spent compiling). An unknown mode includes nothing and is refused by checkParams.
if (params.mode == 'amplicon') {
    include { AMPLICON } from './workflows/amplicon'
} else if (params.mode == 'shotgun') {
    include { SHOTGUN } from './workflows/shotgun'
} else if (params.mode == 'compare') {
    include { COMPARE } from './workflows/compare'
}

// Nextflow checks the withName selectors of the configuration only against the processes it
// compiled, one mode's; so its check is off (nextflow.config) and this one warns, in Nextflow's
// words, about a selector that matches no process of any module (a typo in a lab's config).
// A qualified selector (WORKFLOW:PROCESS) is checked by its process names.
def checkProcessSelectors() {
    def names = [] as Set
    file("${projectDir}/modules/*.nf").each { f ->
        (f.text =~ /(?m)^process\s+(\w+)/).each { m -> names << m[1] }
    }
    file("${projectDir}/workflows/*.nf").each { f ->  // include { X as ALIAS } from ...
        (f.text =~ /(?m)^include\s*\{([^}]*)\}/).each { inc ->
            (inc[1] =~ /\bas\s+(\w+)/).each { m -> names << m[1] }
        }
    }
    def keys = (session.config.process ?: [:]).keySet().collect { it.toString() }
    keys.findAll { it.startsWith('withName:') }.each { key ->
        def selector = key.substring('withName:'.length())
        def process = selector.replaceAll(/\w+:/, '')  // AMPLICON:X|SHOTGUN:Y -> X|Y
        if (!names.any { nextflow.script.ProcessConfig.matchesSelector(it as String, process) }) {
            log.warn "There's no process matching config selector: ${selector}"
        }
    }
}

// The comparer's key that signs the merged table of --mode compare ('throwaway': made in the task).
def comparerKey() {
    def key = params.signing_key ?: System.getenv('SOILBIOME_SIGNING_KEY')
    return (key ?: 'throwaway') as String
}

workflow {
    checkParams(runState.startup)
    checkProcessSelectors()
    if (params.mode == 'compare') {  // stamped tables in, no reads: see workflows/compare.nf
        if (!params.tables) {
            refuse "--mode compare needs --tables tables.csv (columns: table, agreement)"
        }
        def tables = file(params.tables as String)
        if (!tables.exists()) {
            refuse "--tables ${params.tables}: file not found"
        }
        if (params.compare_tree && !file(params.compare_tree as String).isFile()) {
            refuse "--compare_tree ${params.compare_tree}: file not found"
        }
        claimOutdir()
        runState.claimed = true
        writeRunRecord('running')
        COMPARE(tables, comparerKey())
        return
    }
    def gate = startupGate(runState.startup)
    runState.claimed = true  // startupGate() took --outdir (claimOutdir) once every check passed
    runState.staging = gate.staging
    def sheet = gate.sheet
    def refdb = gate.refdb
    def sharing = gate.sharing

    ch_samples = Channel.fromPath(sheet)
        .splitCsv(header: true)
        .map { row ->
            def meta = [id: row.sample, single_end: row.single_end == 'true', site: row.site ?: '',
                        run: row.run ?: '']
            def reads = meta.single_end ? [file(row.fastq_1)] : [file(row.fastq_1), file(row.fastq_2)]
            [meta, reads]
        }

    if (params.mode == 'amplicon') {
        AMPLICON(ch_samples, Channel.value(sheet), refdb, sharing)
        if (sharing) {
            AMPLICON.out.biom.subscribe { f -> runState.stamped << f }
        }
    } else if (params.mode == 'shotgun') {
        SHOTGUN(ch_samples, Channel.value(sheet), refdb, gate.host, gate.sylph, sharing, gate.memory)
        if (sharing) {
            SHOTGUN.out.biom.subscribe { f -> runState.stamped << f }
        }
    } else {
        refuse "Unknown --mode '${params.mode}': use amplicon, shotgun or compare"
    }
}

workflow.onComplete {
    def status = workflow.success ? 'OK' : 'FAILED'
    def failure = null
    if (runState.staging != null && workflow.success) {  // the gate passed: publish, all or none
        failure = publishOnSuccess(runState.staging, runState.stamped)
        if (failure != null) {
            log.error "Results not published (earlier results unchanged): ${failure}"
            status = 'FAILED (publishing)'
        }
    }
    if (runState.claimed) {  // this run owns the results folder
        def done = workflow.success && failure == null
        writeRunRecord(done ? 'succeeded' : 'failed', failure)
        if (runState.staging != null && done) {
            writeRunCrate()  // last: describes every published file, run record included
        }
        releaseOutdir()
    }
    log.info "soilbiome ${status}: ${workflow.stats.succeedCount} tasks succeeded, " +
             "${workflow.stats.failedCount} failed, ${workflow.stats.cachedCount} cached; results in ${params.outdir}"
}
