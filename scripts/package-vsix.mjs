// `npm run package`: builds the extension and packs pixel-sail-<version>-linux-x64.vsix with @vscode/vsce.
// What goes in is decided by .vscodeignore (a whitelist); this script only builds, packs, and reports the
// size and the largest entries, so a dependency that sneaks in shows up in the output.
//   node scripts/package-vsix.mjs [--out FILE.vsix] [--quiet]
import { createVSIX } from '@vscode/vsce';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import yauzl from 'yauzl';

const TARGET = 'linux-x64';
const SIZE_GOAL_MB = 45;

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const outArg = process.argv.indexOf('--out');
const out = path.resolve(root, outArg >= 0 ? process.argv[outArg + 1] : `${manifest.name}-${manifest.version}-${TARGET}.vsix`);
const quiet = process.argv.includes('--quiet');

function readEntries(file) {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true }, (err, zip) => {
      if (err) return reject(err);
      const list = [];
      zip.on('entry', (e) => {
        const entry = { name: e.fileName, size: e.uncompressedSize, packed: e.compressedSize };
        list.push(entry);
        if (e.fileName !== 'extension.vsixmanifest') return zip.readEntry();
        zip.openReadStream(e, (err2, stream) => {
          if (err2) return reject(err2);
          const chunks = [];
          stream.on('data', (c) => chunks.push(c));
          stream.on('end', () => { entry.text = Buffer.concat(chunks).toString('utf8'); zip.readEntry(); });
        });
      });
      zip.on('end', () => resolve(list));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

execFileSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { stdio: 'inherit', cwd: root });
const tmp = `${out}.tmp-${process.pid}`;
try {
  await createVSIX({ cwd: root, packagePath: tmp, target: TARGET, allowStarActivation: false });
  fs.renameSync(tmp, out); // a half-written VSIX never carries the final name
} finally {
  fs.rmSync(tmp, { force: true });
}

const list = await readEntries(out);
const vsixManifest = list.find((e) => e.name === 'extension.vsixmanifest')?.text ?? '';
if (!vsixManifest.includes(`TargetPlatform="${TARGET}"`)) {
  console.error(`package-vsix: the VSIX manifest does not declare TargetPlatform="${TARGET}"`);
  process.exit(1);
}
const mb = (n) => (n / 1024 / 1024).toFixed(1);
const bytes = fs.statSync(out).size;
console.log(`package-vsix: ${path.relative(process.cwd(), out)}: ${mb(bytes)} MB (goal ≤ ${SIZE_GOAL_MB} MB), ${list.length} entries`);
if (!quiet) {
  console.log('largest entries (packed / unpacked MB):');
  for (const e of [...list].sort((a, b) => b.packed - a.packed).slice(0, 12)) console.log(`  ${mb(e.packed).padStart(6)} / ${mb(e.size).padStart(6)}  ${e.name}`);
}
if (bytes > SIZE_GOAL_MB * 1024 * 1024) {
  console.error(`package-vsix: the VSIX is larger than ${SIZE_GOAL_MB} MB`);
  process.exit(1);
}
