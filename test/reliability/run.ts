// `npm run test:reliability`: hostile and broken input to the CLI, the engine and the evaluation, each
// case judged the way a user would judge it, and the worker killed at random points of a request.
// Prints one table (category, cases, handled well, unclear errors, crashes/hangs/wrong) and the worst
// recovery time after a kill; exits 1 unless the last three columns are all 0.
//
// A bad input is handled well when the process exits 1 (bad input) or 2 (bad usage) with a message that
// names the file, argument or JSON path at fault, without a stack trace or a temporary file's name. A
// valid but unusual input (16-bit, CMYK, EXIF-rotated, unicode path, symlink) is handled well when it
// gives a mask of the right size. A signal, a time-out or an unexpected exception (exit 3) is a crash or
// hang; a bad input accepted, or a valid one refused or answered wrongly, is wrong.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import sharp from 'sharp';
import { EngineClient } from '../../src/engine/engineClient';

const repo = path.resolve(__dirname, '../../..');
const bin = path.join(repo, 'bin/pixel-sail.js');
const tiny = path.join(repo, 'models/tiny-random');
const TIMEOUT_MS = 60000;

type Outcome = 'well' | 'unclear' | 'broken';
interface Case {
  category: string;
  name: string;
  args: string[];
  /** 'ok': must succeed (check may look at the JSON answer); otherwise the message must match. */
  expect: 'ok' | RegExp;
  check?: (answer: { masks: { rle: { size: [number, number] } }[] }) => string | null;
}
interface Result { c: Case; outcome: Outcome; why: string }

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-reliability-'));
const at = (name: string) => path.join(scratch, name);
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function judge(c: Case): Result {
  const r = spawnSync('node', [bin, ...c.args], { encoding: 'utf8', timeout: TIMEOUT_MS, maxBuffer: 1 << 26 });
  const err = `${r.stderr ?? ''}${r.stdout ?? ''}`; // check-model reports its problems on stdout
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') return { c, outcome: 'broken', why: `hung (killed after ${TIMEOUT_MS / 1000} s)` };
  if (r.signal) return { c, outcome: 'broken', why: `killed by ${r.signal}` };
  if (r.status === 3) return { c, outcome: 'broken', why: `unexpected exception: ${err.trim().split('\n').pop()}` };
  if (c.expect === 'ok') {
    if (r.status !== 0) return { c, outcome: 'broken', why: `refused a valid input (exit ${r.status}): ${err.trim().split('\n').pop()}` };
    try {
      const problem = c.check?.(JSON.parse(r.stdout));
      return problem ? { c, outcome: 'broken', why: problem } : { c, outcome: 'well', why: '' };
    } catch (e) {
      return { c, outcome: 'broken', why: `output is not the JSON answer: ${(e as Error).message}` };
    }
  }
  if (r.status === 0) return { c, outcome: 'broken', why: 'accepted a bad input (exit 0)' };
  if (r.status !== 1 && r.status !== 2) return { c, outcome: 'unclear', why: `exit ${r.status}` };
  if (/\n\s+at .+:\d+:\d+/.test(err)) return { c, outcome: 'unclear', why: 'shows a stack trace' };
  if (/\.tmp-\d+/.test(err)) return { c, outcome: 'unclear', why: 'names a temporary file' };
  if (!c.expect.test(err)) return { c, outcome: 'unclear', why: `message does not name the fault: ${err.trim().split('\n').filter((l) => !l.startsWith('pixel-sail: CUDA did not load'))[0]}` };
  return { c, outcome: 'well', why: '' };
}

const size = (h: number, w: number) => (a: { masks: { rle: { size: [number, number] } }[] }) => {
  const got = a.masks[0]?.rle.size;
  if (!got) return null; // a random model may answer without a mask; the size is checked when there is one
  return got[0] === h && got[1] === w ? null : `mask is ${got[0]}×${got[1]}, the image ${h}×${w}`;
};

async function imageCases(): Promise<Case[]> {
  const png = fs.readFileSync(path.join(tiny, 'parity/image.png')); // 80×48
  const base = sharp(png);
  const files: Record<string, Buffer> = {
    'valid.png': png,
    'valid.jpg': await base.clone().jpeg().toBuffer(),
    'valid.webp': await base.clone().webp().toBuffer(),
    'valid.tiff': await base.clone().tiff().toBuffer(),
    'valid.gif': await base.clone().gif().toBuffer(),
    '16bit.png': await base.clone().toColourspace('rgb16').png().toBuffer(),
    'cmyk.jpg': await base.clone().toColourspace('cmyk').jpeg().toBuffer(),
    'grey-alpha.png': await base.clone().greyscale().ensureAlpha(0.5).png().toBuffer(),
    'exif6.jpg': await base.clone().jpeg().withMetadata({ orientation: 6 }).toBuffer(),
    'wide.png': await sharp({ create: { width: 4000, height: 3, channels: 3, background: '#369' } }).png().toBuffer(),
    'tall.png': await sharp({ create: { width: 3, height: 4000, channels: 3, background: '#963' } }).png().toBuffer(),
    'svg-renamed.png': Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="30"><rect width="40" height="30" fill="red"/></svg>'),
    'html-renamed.png': Buffer.from('<!doctype html><html><body>not an image</body></html>'),
    'text-renamed.jpg': Buffer.from('hello'),
    'empty.png': Buffer.alloc(0),
    'truncated.png': png.subarray(0, Math.floor(png.length / 2)),
    'truncated.jpg': (await base.clone().jpeg().toBuffer()).subarray(0, 300),
    'corrupt.png': Buffer.concat([png.subarray(0, 60), Buffer.alloc(200, 0x5a), png.subarray(260)]),
  };
  const bomb = Buffer.from(await sharp({ create: { width: 16, height: 16, channels: 3, background: '#fff' } }).png().toBuffer());
  bomb.writeUInt32BE(30000, bomb.indexOf('IHDR') + 4);
  bomb.writeUInt32BE(30000, bomb.indexOf('IHDR') + 8);
  files['bomb-30000.png'] = bomb;
  // The header alone (signature, IHDR, IEND): no image data for sharp to size, refused for its size all the same.
  files['bomb-header-only.png'] = Buffer.concat([bomb.subarray(0, bomb.indexOf('IHDR') + 4 + 13 + 4), bomb.subarray(bomb.indexOf('IEND') - 4)]);
  for (const [name, data] of Object.entries(files)) fs.writeFileSync(at(name), data);
  fs.writeFileSync(at('huge-600mb.png'), '');
  fs.truncateSync(at('huge-600mb.png'), 600 * 2 ** 20); // sparse: no disk used
  fs.copyFileSync(at('valid.png'), at('ünïcødé 图像.png'));
  fs.symlinkSync(at('valid.png'), at('link.png'));
  fs.symlinkSync(at('nowhere.png'), at('dangling.png'));
  spawnSync('mkfifo', [at('fifo.png')]);
  fs.mkdirSync(at('folder.png'));

  const ok = (name: string, h: number, w: number): Case => ({ category: 'images', name, args: ['segment', at(name), '--text', 'the red box', '--json', '--model', tiny, '--max-tokens', '4'], expect: 'ok', check: size(h, w) });
  const bad = (name: string, message: RegExp, file = at(name)): Case => ({ category: 'images', name, args: ['segment', file, '--text', 'x', '--model', tiny], expect: message });
  const named = (name: string) => new RegExp(escape(at(name)));
  return [
    ...['valid.png', 'valid.jpg', 'valid.webp', 'valid.tiff', 'valid.gif', '16bit.png', 'cmyk.jpg', 'grey-alpha.png', 'ünïcødé 图像.png', 'link.png'].map((n) => ok(n, 48, 80)),
    ok('exif6.jpg', 80, 48), ok('wide.png', 3, 4000), ok('tall.png', 4000, 3), ok('svg-renamed.png', 30, 40),
    bad('html-renamed.png', /not an image/), bad('text-renamed.jpg', /not an image/), bad('empty.png', /empty/),
    bad('truncated.png', /damaged or truncated/), bad('truncated.jpg', /damaged or truncated|premature/i), bad('corrupt.png', /damaged|truncated|not an image/),
    bad('bomb-30000.png', /30000×30000 .* above the limit/), bad('bomb-header-only.png', /30000×30000 .* above the limit/), bad('huge-600mb.png', /600 MB, above the limit/),
    bad('dangling.png', named('dangling.png')), bad('fifo.png', /named pipe, not a regular file/), bad('folder.png', /folder, not a regular file/),
    bad('missing.png', /image not found/), bad('/dev/zero', /a device, not a regular file/, '/dev/zero'),
  ];
}

async function regionCases(): Promise<Case[]> {
  const img = at('valid.png');
  await sharp({ create: { width: 80, height: 48, channels: 3, background: '#000' } }).png().toFile(at('mask-empty.png'));
  await sharp({ create: { width: 10, height: 10, channels: 3, background: '#fff' } }).png().toFile(at('mask-small.png'));
  const big = at('big.png');
  await sharp({ create: { width: 4000, height: 3000, channels: 3, background: '#446' } }).png().toFile(big);
  const d = (name: string, spec: string, expect: Case['expect'], image = img): Case =>
    ({ category: 'regions', name, args: ['describe', image, '--region', spec, '--model', tiny, '--max-tokens', '4', ...(expect === 'ok' ? ['--json'] : [])], expect });
  const many = Array.from({ length: 16 }, (_, i) => ['--region', `box:${i},0,2,2`]).flat();
  return [
    d('tiny box on a 4000×3000 image', 'box:2000,1500,19,19', 'ok', big),
    d('box outside the image', 'box:500,500,10,10', /covers no pixel|outside/),
    d('zero-width box', 'box:1,1,0,5', /width and height must be positive/),
    d('box with 3 numbers', 'box:1,2,3', /box needs x,y,w,h/),
    d('NaN in a point', 'point:a,3', /point: "a" is not a number/),
    d('negative points only', 'point:3,3,neg', /at least one positive point/),
    d('empty scribble', 'scribble:', /at least one point/),
    d('10,001-point scribble', `scribble:${Array.from({ length: 10001 }, (_, i) => `${i % 80},${i % 48}`).join(';')}`, /at most 10000 points/),
    d('all-black mask file', `mask:${at('mask-empty.png')}`, /region 1 covers no pixel/),
    d('mask of another size', `mask:${at('mask-small.png')}`, /mask-small\.png is 10×10, the image is 80×48/),
    d('missing mask file', `mask:${at('nope.png')}`, /region mask not found/),
    d('unknown region kind', 'ellipse:1,2,3', /unknown region kind "ellipse"/),
    { category: 'regions', name: '16 regions (15 slots)', args: ['ask', img, '--text', 'x', ...many, '--model', tiny], expect: /at most 15 regions/ },
    { category: 'regions', name: 'question names a missing region', args: ['ask', img, '--text', 'what is <region2>?', '--region', 'box:0,0,5,5', '--model', tiny], expect: /<region2> is used but only 1/ },
  ];
}

function argumentCases(): Case[] {
  const img = at('valid.png');
  const a = (name: string, args: string[], expect: Case['expect']): Case => ({ category: 'arguments', name, args, expect });
  return [
    a('no command', [], /usage/),
    a('unknown command', ['frobnicate'], /unknown command/),
    a('unknown option', ['segment', img, '--text', 'x', '--colour', 'red'], /unknown option --colour/),
    a('option without value', ['segment', img, '--text'], /--text needs a value/),
    a('bad --device', ['segment', img, '--text', 'x', '--device', 'tpu'], /--device must be auto, cpu or cuda/),
    a('bad --weights', ['segment', img, '--text', 'x', '--weights', 'int4'], /--weights must be auto, float32 or int8/),
    a('--max-tokens 0', ['ask', img, '--text', 'x', '--max-tokens', '0'], /--max-tokens must be an integer from 1 to 4096/),
    a('--max-tokens 10^9', ['ask', img, '--text', 'x', '--max-tokens', '1000000000'], /--max-tokens must be an integer from 1 to 4096/),
    a('blank prompt', ['segment', img, '--text', '   ', '--model', tiny], /the text prompt is empty/),
    a('2,000-word prompt', ['segment', img, '--text', 'red '.repeat(2000), '--model', tiny], /tokens long, above the limit of 1024/),
    a('29,000-character prompt', ['segment', img, '--text', 'x'.repeat(29000), '--model', tiny], /tokens long, above the limit/),
    a('--out into a missing folder', ['segment', img, '--text', 'x', '--model', tiny, '--max-tokens', '2', '--out', at('no/such/dir/m.png')], /cannot write --out .*m\.png: its folder does not exist/),
    a('--out onto a folder', ['segment', img, '--text', 'x', '--model', tiny, '--max-tokens', '2', '--out', scratch], new RegExp(`cannot write --out ${escape(scratch)}`)),
    a('two images', ['segment', img, img, '--text', 'x'], /unexpected argument/),
  ];
}

function modelCases(): Case[] {
  const copy = (name: string) => { const d = at(name); fs.cpSync(tiny, d, { recursive: true }); return d; };
  const noGraph = copy('model-no-graph'); fs.rmSync(path.join(noGraph, 'upsampler.onnx'));
  const truncated = copy('model-truncated'); fs.truncateSync(path.join(truncated, 'decoder.onnx'), 1000);
  const badJson = copy('model-bad-json'); fs.writeFileSync(path.join(badJson, 'config.json'), '{"format": ');
  const noTok = copy('model-no-tokenizer'); fs.rmSync(path.join(noTok, 'tokenizer.json'));
  const m = (name: string, dir: string, expect: RegExp): Case => ({ category: 'model directories', name, args: ['segment', at('valid.png'), '--text', 'x', '--model', dir], expect });
  return [
    m('missing directory', at('no-model'), /model directory not found/),
    m('graph missing', noGraph, /upsampler\.onnx/),
    m('graph truncated', truncated, /decoder\.onnx/),
    m('config.json malformed', badJson, /config\.json/),
    m('tokenizer missing', noTok, /tokenizer\.json/),
    { category: 'model directories', name: 'check-model on a truncated graph', args: ['check-model', truncated], expect: /decoder\.onnx: onnxruntime cannot load it/ },
  ];
}

function evalCases(): Case[] {
  const gen = spawnSync(process.env.PYTHON || '/usr/bin/python3', ['training/generate.py', '--split', 'test', '--seed', '21', '--count', '2', '--size', '128', '--out', at('ds'), '--quiet'], { cwd: repo, encoding: 'utf8' });
  if (gen.status !== 0) throw new Error(`training/generate.py failed: ${gen.stderr}`);
  const gt = JSON.parse(fs.readFileSync(at('ds/ground_truth.json'), 'utf8'));
  const variant = (name: string, edit: (g: typeof gt) => void, raw?: string) => {
    const d = at(name);
    fs.cpSync(at('ds'), d, { recursive: true });
    const g = structuredClone(gt);
    edit(g);
    fs.writeFileSync(path.join(d, 'ground_truth.json'), raw ?? JSON.stringify(g));
    return d;
  };
  const e = (name: string, dir: string, expect: RegExp): Case => ({ category: 'evaluation data', name, args: ['eval', dir, '--model', tiny], expect });
  const mcq = gt.tasks.findIndex((t: { type: string }) => t.type === 'mcq');
  return [
    e('not a dataset', scratch, /cannot read .*ground_truth\.json/),
    e('malformed JSON', variant('ds-bad-json', () => {}, '{"images": ['), /ground_truth\.json/),
    e('no tasks', variant('ds-no-tasks', (g) => { g.tasks = []; }), /no tasks/),
    e('task names a missing annotation', variant('ds-missing-ann', (g) => { g.tasks[mcq].region_id = 99999; }), new RegExp(`tasks\\[${mcq}\\]\\.region_id: annotation 99999 does not exist`)),
    e('image size disagrees with the file', variant('ds-size', (g) => { g.images[0].width = 130; g.annotations.forEach((a: { image_id: number; segmentation: { size: number[] } }) => { if (a.image_id === g.images[0].id) a.segmentation.size[1] = 130; }); }), /is 128×128, but the dataset says 130×128/),
    e('wrong type', variant('ds-type', (g) => { g.images[0].height = 'tall'; }), /images\[0\]\.height/),
  ];
}

/** Kills the worker at random points of a request; every request must end, and the next one must succeed. */
async function workerKills(n: number): Promise<{ results: Result[]; worstRecoveryMs: number }> {
  const client = new EngineClient({
    workerPath: path.join(repo, 'dist/worker.js'),
    config: { modelPath: tiny, device: 'cpu', weights: 'auto', cacheBudgetMb: 256, maxImagePixels: 100_000_000 },
    maxRestartsPerMinute: n + 10,
  });
  const results: Result[] = [];
  let worst = 0;
  let seed = 12345;
  const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  try {
    await client.start();
    for (let i = 0; i < n; i++) {
      const c: Case = { category: 'worker killed mid-request', name: `kill ${i + 1}`, args: [], expect: 'ok' };
      const pending = client.request({ kind: 'ask', image: at('valid.png'), text: 'describe the picture', regions: [], maxNewTokens: 64 }, { timeoutMs: TIMEOUT_MS });
      const settled = pending.then(() => 'answered', (e: Error) => e);
      await new Promise((r) => setTimeout(r, random() * 120));
      const pid = client.pid;
      const killedAt = Date.now();
      if (pid) process.kill(pid, 'SIGKILL');
      const outcome = await Promise.race([settled, new Promise((r) => setTimeout(() => r('hung'), TIMEOUT_MS))]);
      if (outcome === 'hung') { results.push({ c, outcome: 'broken', why: 'the request never ended' }); continue; }
      // The kill may land on the request, on the idle worker, or on a worker that is loading the model
      // after an earlier kill; each must end the request with an answer or a message that says what happened.
      if (outcome instanceof Error && !/engine process stopped (unexpectedly|while loading the model) .*(try again|SIGKILL)/.test(outcome.message)) {
        results.push({ c, outcome: 'unclear', why: outcome.message });
        continue;
      }
      let recovered = false;
      for (let attempt = 0; attempt < 3 && !recovered; attempt++) {
        try {
          const next = await client.request({ kind: 'segment', image: at('valid.png'), text: 'the red box', maxNewTokens: 4 }, { timeoutMs: TIMEOUT_MS });
          worst = Math.max(worst, Date.now() - killedAt);
          recovered = true;
          results.push(next.masks.length <= 1 ? { c, outcome: 'well', why: '' } : { c, outcome: 'broken', why: 'wrong answer after restart' });
        } catch (e) {
          // a request sent while the killed worker's exit was still on its way fails with the crash message; the next must work
          if (!/engine process stopped/.test((e as Error).message)) { results.push({ c, outcome: 'unclear', why: (e as Error).message }); recovered = true; }
        }
      }
      if (!recovered) results.push({ c, outcome: 'broken', why: 'the engine did not come back after 3 requests' });
    }
  } finally {
    client.dispose();
  }
  return { results, worstRecoveryMs: worst };
}

async function main() {
  const t0 = Date.now();
  const cases = [...await imageCases(), ...await regionCases(), ...argumentCases(), ...modelCases(), ...evalCases()];
  const results = cases.map(judge);
  const kills = await workerKills(Number(process.env.KILLS || 100));
  results.push(...kills.results);
  const categories = [...new Set(results.map((r) => r.c.category))];
  const rows = categories.map((cat) => {
    const rs = results.filter((r) => r.c.category === cat);
    const n = (o: Outcome) => rs.filter((r) => r.outcome === o).length;
    return [cat, rs.length, n('well'), n('unclear'), n('broken')] as const;
  });
  const total = ['total', results.length, ...(['well', 'unclear', 'broken'] as Outcome[]).map((o) => results.filter((r) => r.outcome === o).length)] as const;
  console.log('\n| category | cases | handled well | unclear errors | crashes/hangs/wrong |\n|---|---|---|---|---|');
  for (const r of [...rows, total]) console.log(`| ${r.join(' | ')} |`);
  console.log(`\nworst recovery after a worker kill: ${kills.worstRecoveryMs} ms (kill → the next request answered)`);
  const problems = results.filter((r) => r.outcome !== 'well');
  for (const p of problems) console.log(`  ${p.outcome === 'unclear' ? 'UNCLEAR' : 'BROKEN '} ${p.c.category} / ${p.c.name}: ${p.why}`);
  console.log(`(${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  fs.rmSync(scratch, { recursive: true, force: true });
  process.exit(problems.length ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
