// `npm run test:mutation [-- GROUP...]`: mutation testing with StrykerJS and its mocha runner over the core
// (src/masks, src/eval, src/engine), one group at a time with the unit tests that exercise it, and a score
// per file. Not part of CI: it is slow (see DEVELOPERS.md). GROUP is masks, eval or engine (default: all).
// Environment: STRYKER_CONCURRENCY (default 1: the machines are shared), STRYKER_FILES (a comma list of
// src files to mutate instead of the group's, e.g. src/masks/rle.ts).
//
// Tests run on esbuild bundles in out/, so Stryker mutates the TS sources and rebuilds once per sandbox
// (`buildCommand`; all mutants are compiled in at once and switched at run time). Tests that load the ONNX
// model, spawn Python or run the CLI in a child process are left out: code in child processes is never
// mutated, so they would only cost time. properties.test (fast-check, 10,000 cases a property) is left out
// too: instrumented, its dry run alone took over 5 minutes on the shared 2-core machine.
import { Stryker } from '@stryker-mutator/core';
import * as fs from 'node:fs';
import * as path from 'node:path';

const GROUPS = {
  masks: {
    mutate: ['src/masks/rle.ts', 'src/masks/polygons.ts', 'src/masks/components.ts'],
    spec: ['masks', 'maskReference'],
  },
  eval: {
    mutate: ['src/eval/metrics.ts', 'src/eval/bootstrap.ts', 'src/eval/groundTruth.ts', 'src/eval/evaluate.ts'],
    spec: ['metrics', 'bootstrap', 'groundTruth', 'evaluateByHand'],
  },
  engine: {
    mutate: ['src/engine/postprocess.ts', 'src/engine/preprocess.ts', 'src/engine/resample.ts', 'src/engine/sequence.ts',
      'src/engine/visualPrompts.ts', 'src/engine/regions.ts', 'src/engine/lruCache.ts', 'src/engine/taskSchema.ts'],
    spec: ['postprocess', 'preprocess', 'sequence', 'maskReference', 'promptReference'],
  },
};

const wanted = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(GROUPS);
for (const g of wanted) if (!GROUPS[g]) { console.error(`unknown group ${g}: one of ${Object.keys(GROUPS).join(', ')}`); process.exit(2); }
const only = process.env.STRYKER_FILES?.split(',').map((f) => f.trim()).filter(Boolean);
const concurrency = Number(process.env.STRYKER_CONCURRENCY ?? 1);
// Tests read this to sample their heaviest loops (masks.test's 734 COCO strings: every 20th).
process.env.PIXEL_SAIL_MUTATION = '1';

const rows = [];
for (const name of wanted) {
  const group = GROUPS[name];
  const mutate = only ? group.mutate.filter((f) => only.includes(f)) : group.mutate;
  if (!mutate.length) continue;
  const spec = group.spec.filter((s) => fs.existsSync(`test/unit/${s}.test.ts`)).map((s) => `out/test/unit/${s}.test.js`);
  const t0 = Date.now();
  const stryker = new Stryker({
    testRunner: 'mocha',
    mutate,
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
    jsonReporter: { fileName: `reports/mutation/${name}.json` },
    htmlReporter: { fileName: `reports/mutation/${name}.html` },
    tempDirName: '.stryker-tmp',
    cleanTempDir: true,
  });
  const results = await stryker.runMutationTest();
  const minutes = (Date.now() - t0) / 60000;
  const byFile = new Map();
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
  for (const [file, r] of byFile) rows.push({ group: name, file, ...r, minutes });
  console.log(`\n${name}: ${results.length} mutants in ${minutes.toFixed(1)} min`);
}

// The mutation score as Stryker defines it: (killed + timeout) / (killed + timeout + survived + no coverage).
const score = (r) => { const valid = r.killed + r.timeout + r.survived + r.noCoverage; return valid ? (100 * (r.killed + r.timeout)) / valid : NaN; };
console.log('\nfile                              killed  survived  no cov.  score');
const total = { killed: 0, survived: 0, noCoverage: 0, timeout: 0 };
for (const r of rows) {
  console.log(`${r.file.padEnd(34)}${String(r.killed + r.timeout).padStart(6)}${String(r.survived).padStart(10)}${String(r.noCoverage).padStart(9)}${score(r).toFixed(1).padStart(7)} %`);
  for (const k of Object.keys(total)) total[k] += r[k];
}
console.log(`${'all'.padEnd(34)}${String(total.killed + total.timeout).padStart(6)}${String(total.survived).padStart(10)}${String(total.noCoverage).padStart(9)}${score(total).toFixed(1).padStart(7)} %`);
