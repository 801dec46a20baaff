// `npm test`: builds, checks that the Python modules training/ imports are installed, then runs every
// layer — mocha unit tests on Node, the integration suite inside a real VS Code extension host, the
// packaged VSIX installed into a real VS Code host, the UI tests that drive a real VS Code window with
// playwright, and pytest for training/ — and ends with the plain "N passed, N failed" line.
import { spawn } from 'node:child_process';

function run(name, cmd, args) {
  return new Promise((resolve) => {
    console.log(`\n=== ${name}: ${cmd} ${args.join(' ')}`);
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
    let out = '';
    const tee = (stream, sink) => stream.on('data', (d) => { out += d; sink.write(d); });
    tee(child.stdout, process.stdout);
    tee(child.stderr, process.stderr);
    child.on('close', (code) => resolve({ name, code: code ?? 1, out }));
  });
}

const VSIX = 'out/pixel-sail-test.vsix';
const num = (re, text) => { const m = text.match(re); return m ? Number(m[1]) : 0; };
const counts = {
  check: (_t, code) => ({ passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1, skipped: 0 }),
  mocha: (t) => ({ passed: num(/(\d+) passing/, t), failed: num(/(\d+) failing/, t), skipped: num(/(\d+) pending/, t) }),
  vscode: (t) => { const m = [...t.matchAll(/^(\d+) passed, (\d+) failed/gm)].pop(); return { passed: m ? +m[1] : 0, failed: m ? +m[2] : 0, skipped: 0 }; },
  pytest: (t) => { const tail = t.split('\n').filter((l) => /passed|failed|error|skipped/.test(l)).pop() ?? '';
    return { passed: num(/(\d+) passed/, tail), failed: num(/(\d+) failed/, tail) + num(/(\d+) error/, tail), skipped: num(/(\d+) skipped/, tail) }; },
};

const build = await run('build', 'node', ['scripts/build.mjs']);
if (build.code !== 0) {
  console.log('\nbuild failed\n0 passed, 1 failed');
  process.exit(1);
}
const python = process.env.PYTHON || '/usr/bin/python3';
// Quick, before the long layers: a module installed by hand on one machine must not hide a missing
// install step (the check names the Debian package to install).
const pythonDeps = { ...(await run('python imports', python, ['scripts/check_python_deps.py'])), kind: 'check' };
const results = [
  pythonDeps,
  { ...(await run('unit (mocha)', 'npx', ['mocha'])), kind: 'mocha' },
  { ...(await run('integration (VS Code host)', 'node', ['scripts/run-vscode-tests.mjs'])), kind: 'vscode' },
  { ...(await runVsixSuite()), kind: 'vscode' },
  { ...(await run('UI (VS Code + playwright)', 'node', ['out/test/ui/editor.ui.js'])), kind: 'vscode' },
  { ...(await run('UI: batch annotation (VS Code + playwright)', 'node', ['out/test/ui/batch.ui.js'])), kind: 'vscode' },
  { ...(await run('UI chat (VS Code + playwright)', 'node', ['out/test/ui/chat.ui.js'])), kind: 'vscode' },
  { ...(await run('UI: a long prefill, progress and Cancel (VS Code + playwright)', 'node', ['out/test/ui/progress.ui.js'])), kind: 'vscode' },
  pythonDeps.code === 0
    ? { ...(await run('python (pytest)', 'node', ['scripts/run-pytest.mjs'])), kind: 'pytest' }
    : { name: 'python (pytest)', code: 1, out: 'skipped: Python modules are missing (see above)\n', kind: 'pytest' },
];

async function runVsixSuite() {
  const name = 'packaged extension (VSIX installed into a VS Code host)';
  const pack = await run('package (VSIX)', 'node', ['scripts/package-vsix.mjs', '--quiet', '--out', VSIX]);
  if (pack.code !== 0) return { name, code: 1, out: pack.out };
  return run(name, 'node', ['scripts/run-vscode-tests.mjs', '--tests', 'out/test/vsix/index.js',
    '--dev', 'test/fixtures/vsix-harness', '--install', VSIX]);
}
// CI shows only the tail of this output, so what failed is repeated here, next to the summary.
const failureExcerpt = (r) => {
  const lines = r.out.split('\n');
  const start = lines.findIndex((l) => /^\s*\d+ failing/.test(l) || /^=+ (FAILURES|ERRORS) =+/.test(l) || /^\s*[✗✖]/.test(l));
  return (start >= 0 ? lines.slice(start) : lines.slice(-20)).slice(0, 60).join('\n');
};
for (const r of results) {
  const c = counts[r.kind](r.out, r.code);
  if (r.code !== 0 || c.failed > 0) console.log(`\n=== what failed in ${r.name}\n${failureExcerpt(r)}`);
}
let passed = 0, failed = 0, skipped = 0;
console.log('\n=== summary');
for (const r of results) {
  const c = counts[r.kind](r.out, r.code);
  // A layer that exits non-zero without reporting a failed test still fails the run.
  if (r.code !== 0 && c.failed === 0) c.failed = 1;
  passed += c.passed; failed += c.failed; skipped += c.skipped;
  console.log(`${r.name}: ${c.passed} passed, ${c.failed} failed${c.skipped ? `, ${c.skipped} skipped` : ''} (exit ${r.code})`);
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
