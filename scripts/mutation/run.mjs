// `npm run test:mutation [-- TARGET...]`: mutation testing with StrykerJS and its mocha runner over the core
// (src/masks, src/eval, src/engine), one target at a time with the unit tests that exercise it, and a score
// per file. Not part of CI: it is slow (see the README's mutation section).
// TARGET is a group (masks, eval, engine), a directory (src/eval) or a file (src/eval/evaluate.ts); default:
// every group. Each target is one Stryker run over its files with the union of their tests.
// Environment: STRYKER_CONCURRENCY (default 1: the machines are shared).
//
// Tests run on esbuild bundles in out/, so Stryker mutates the TS sources and rebuilds once per sandbox
// (`buildCommand`; all mutants are compiled in at once and switched at run time). Tests that load the shipped
// ONNX model, spawn Python or run the CLI in a child process are left out: code in child processes is never
// mutated, so they would only cost time. properties.test (fast-check, 10,000 cases a property) is left out
// too: instrumented, its dry run alone took over 5 minutes on the shared 2-core machine.
import { Stryker } from '@stryker-mutator/core';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Each mutated file and the unit tests (test/unit/NAME.test.ts) that exercise it in-process. */
const FILES = {
  'src/masks/rle.ts': ['masks', 'maskReference'],
  'src/masks/polygons.ts': ['masks', 'polygons'],
  'src/masks/components.ts': ['masks'],
  'src/masks/anySet.ts': ['masks', 'regions'],
  'src/eval/metrics.ts': ['metrics', 'evaluateByHand'],
  'src/eval/bootstrap.ts': ['bootstrap', 'evaluateByHand'],
  'src/eval/groundTruth.ts': ['groundTruth', 'groundTruthByHand'],
  'src/eval/evaluate.ts': ['evaluateByHand'],
  'src/engine/tokenizer.ts': ['tokenizer', 'question'],
  'src/engine/question.ts': ['questionParts', 'question'],
  'src/engine/questionParts.ts': ['questionParts', 'question'],
  'src/engine/visualPrompts.ts': ['visualPrompts', 'promptMasks', 'promptReference'],
  'src/engine/preprocess.ts': ['preprocess', 'promptReference'],
  'src/engine/resample.ts': ['preprocess'],
  'src/engine/regions.ts': ['promptReference', 'regions'],
  'src/engine/postprocess.ts': ['postprocess', 'maskReference'],
  'src/engine/sequence.ts': ['sequence', 'promptMasks', 'promptReference'],
  'src/engine/lruCache.ts': ['lruCache'],
  'src/engine/modelDir.ts': ['modelDir'],
  'src/engine/taskSchema.ts': ['taskSchema', 'question'],
  'src/engine/workerProtocol.ts': ['workerProtocol'],
  'src/engine/inputFile.ts': ['inputFile'],
  'src/engine/imageLoader.ts': ['imageLoader'],
  // The engine itself and its ONNX runner, in-process on the tiny random model (models/tiny-random).
  'src/engine/engine.ts': ['engine', 'engineRequests', 'modelDir', 'conversationReference', 'promptReference', 'question'],
  // The client runs in the test's process (only its worker is forked, and the worker's code is not mutated);
  // engineClientFaults drives it with a scripted fake worker. client.test (the real worker, a model load per
  // test) is left out: it covers the same paths and made a surviving mutant cost ~2 minutes.
  'src/engine/engineClient.ts': ['engineClientFaults', 'workerProtocol'],
  // The worker's message handling, in-process (worker.ts, the process shell around it, only runs forked).
  'src/engine/workerHandler.ts': ['workerHandler'],
  'src/engine/modelRunner.ts': ['engine', 'engineRequests', 'modelDir', 'conversationReference', 'promptReference'],
};
const GROUPS = ['masks', 'eval', 'engine'];

function filesOf(target) {
  const t = target.replace(/\/+$/, '');
  if (GROUPS.includes(t)) return filesOf(`src/${t}`);
  if (FILES[t]) return [t];
  const inDir = Object.keys(FILES).filter((f) => path.dirname(f) === t);
  if (inDir.length) return inDir;
  console.error(`unknown target ${target}: a group (${GROUPS.join(', ')}), a directory or one of\n  ${Object.keys(FILES).join('\n  ')}`);
  process.exit(2);
}

const targets = process.argv.slice(2).length ? process.argv.slice(2) : GROUPS;
const runs = targets.map((t) => ({ name: t.replace(/^src\//, '').replace(/\.ts$/, '').replace(/\//g, '-'), mutate: filesOf(t) }));
const concurrency = Number(process.env.STRYKER_CONCURRENCY ?? 1);
// Tests read this to sample their heaviest loops (masks.test's 734 COCO strings) and skip the METEOR subprocess.
process.env.PIXEL_SAIL_MUTATION = '1';

const rows = [];
for (const run of runs) {
  const names = [...new Set(run.mutate.flatMap((f) => FILES[f]))];
  const spec = names.filter((s) => fs.existsSync(`test/unit/${s}.test.ts`)).map((s) => `out/test/unit/${s}.test.js`);
  const t0 = Date.now();
  const stryker = new Stryker({
    testRunner: 'mocha',
    mutate: run.mutate,
    buildCommand: 'node scripts/build.mjs',
    // Its own mocharc (timeout only): the project's .mocharc would add every spec file.
    mochaOptions: { spec, config: 'scripts/mutation/mocharc.json' },
    ignorePatterns: ['/training/checkpoints', '/training/runs', '/training/cache', '/dist', '/out', '/reports', '/.stryker-tmp'],
    coverageAnalysis: 'perTest',
    concurrency,
    // A mutant that loops forever is stopped after 1.5 × the test's own time + 10 s, and counts as killed.
    timeoutMS: 10000,
    dryRunTimeoutMinutes: 30,
    reporters: ['progress-append-only', 'json', 'html'],
    jsonReporter: { fileName: `reports/mutation/${run.name}.json` },
    htmlReporter: { fileName: `reports/mutation/${run.name}.html` },
    tempDirName: '.stryker-tmp',
    cleanTempDir: true,
  });
  const results = await stryker.runMutationTest();
  const minutes = (Date.now() - t0) / 60000;
  const byFile = new Map(run.mutate.map((f) => [f, { killed: 0, survived: 0, noCoverage: 0, timeout: 0, other: 0 }]));
  for (const m of results) {
    const f = path.relative(process.cwd(), m.fileName);
    const r = byFile.get(f) ?? { killed: 0, survived: 0, noCoverage: 0, timeout: 0, other: 0 };
    if (m.status === 'Killed') r.killed++;
    else if (m.status === 'Timeout') r.timeout++;
    else if (m.status === 'Survived') r.survived++;
    else if (m.status === 'NoCoverage') r.noCoverage++;
    else r.other++; // compile or runtime errors, ignored: not counted in the score
    byFile.set(f, r);
  }
  for (const [file, r] of byFile) rows.push({ file, ...r });
  console.log(`\n${run.mutate.join(', ')}: ${results.length} mutants in ${minutes.toFixed(1)} min (tests: ${names.join(', ')})`);
}

// The mutation score as Stryker defines it: (killed + timeout) / (killed + timeout + survived + no coverage).
const score = (r) => { const valid = r.killed + r.timeout + r.survived + r.noCoverage; return valid ? (100 * (r.killed + r.timeout)) / valid : NaN; };
const date = new Date().toISOString().slice(0, 10);
console.log(`\nmutation score, ${date} (killed includes timeouts; not scored: mutants that do not compile or crash at load)`);
console.log('file                               mutants  killed  survived  no cov.  not scored   score');
const total = { killed: 0, survived: 0, noCoverage: 0, timeout: 0, other: 0 };
const line = (name, r) => console.log(`${name.padEnd(35)}${String(r.killed + r.timeout + r.survived + r.noCoverage).padStart(7)}${String(r.killed + r.timeout).padStart(8)}${String(r.survived).padStart(10)}${String(r.noCoverage).padStart(9)}${String(r.other).padStart(12)}${score(r).toFixed(1).padStart(7)} %`);
for (const r of rows) {
  line(r.file, r);
  for (const k of Object.keys(total)) total[k] += r[k];
}
line('all', total);
