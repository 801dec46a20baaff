// Bundles the extension, the engine worker, the CLI, the webview app and the test suites with esbuild.
// Native modules (onnxruntime-node, sharp) and the vscode API stay external: they are loaded at run time.
import * as esbuild from 'esbuild';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const watch = process.argv.includes('--watch');
const external = ['vscode', 'onnxruntime-node', 'sharp', 'mocha', 'playwright-core'];
const node = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: true, external, logLevel: 'warning' };

const testEntries = (dir) => existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => join(dir, f)) : [];

const builds = [
  { ...node, entryPoints: { extension: 'src/host/extension.ts', worker: 'src/engine/worker.ts', cli: 'src/cli.ts', parity: 'src/tools/parity.ts', bench: 'bench/bench.ts' }, outdir: 'dist' },
  { bundle: true, platform: 'browser', target: 'es2022', format: 'iife', sourcemap: true, entryPoints: { webview: 'webview-ui/main.ts' }, outdir: 'dist', logLevel: 'warning' },
  // The chat view's own bundle (webview-ui/chat.ts + chat.css), separate from the image editor's.
  { bundle: true, platform: 'browser', target: 'es2022', format: 'iife', sourcemap: true, entryPoints: { chat: 'webview-ui/chat.ts' }, outdir: 'dist', logLevel: 'warning' },
  { ...node, entryPoints: testEntries('test/unit'), outdir: 'out/test/unit' },
  { ...node, entryPoints: testEntries('test/integration'), outdir: 'out/test/integration' },
  { ...node, entryPoints: testEntries('test/vsix'), outdir: 'out/test/vsix' },
  { ...node, entryPoints: testEntries('test/reliability'), outdir: 'out/test/reliability' },
  { ...node, entryPoints: testEntries('test/ui').filter((f) => f.endsWith('.ui.ts')), outdir: 'out/test/ui' },
  // Beside the UI tests, whose harness (and its idea of the repository root) it shares.
  { ...node, entryPoints: { 'bench-ui': 'bench/ui.ts' }, outdir: 'out/test/ui' },
];

if (watch) {
  for (const b of builds) (await esbuild.context(b)).watch();
  console.log('esbuild: watching');
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
