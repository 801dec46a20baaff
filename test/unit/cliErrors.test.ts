// Every documented CLI error, table-driven: the exact exit code (2 bad usage, 1 bad input) and the exact
// first line of the message, with no stack trace.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const repo = path.resolve(__dirname, '../../..');
const bin = path.join(repo, 'bin/pixel-sail.js');
const tiny = path.join(repo, 'models/tiny-random');
const image = path.join(tiny, 'parity/image.png');

describe('CLI errors, exactly', function () {
  this.timeout(120000);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-cli-errors-'));
  const text = path.join(tmp, 'photo.jpg');
  fs.writeFileSync(text, 'hello');
  const empty = path.join(tmp, 'root');
  fs.mkdirSync(empty);

  const usage: [string[], string][] = [
    [[], 'a command is required'],
    [['frobnicate'], 'unknown command "frobnicate"'],
    [['segment'], 'IMAGE is required'],
    [['segment', image], 'segment needs --text'],
    [['segment', image, '--text'], '--text needs a value'],
    [['segment', image, '--text', 'a', '--device', 'tpu'], '--device must be auto, cpu or cuda, got "tpu"'],
    [['segment', image, '--text', 'a', '--weights', 'int4'], '--weights must be auto, float32 or int8, got "int4"'],
    [['ask', image, '--text', 'a', '--max-tokens', '0'], '--max-tokens must be an integer from 1 to 4096'],
    [['describe', image], 'describe needs exactly one --region'],
    [['segment', image, '--text', 'a', '--region', 'box:1,1,2,2'], 'segment takes no --region (use ask)'],
    [['segment', image, image, '--text', 'a'], `unexpected argument ${JSON.stringify(image)}`],
    [['segment', image, '--text', 'a', '--colour', 'red'], 'unknown option --colour'],
    [['eval'], 'DIR is required'],
    [['export'], 'ROOT is required'],
    [['export', empty], 'export needs --out FILE.json'],
    [['export', empty, '--out', 'x.json', '--format', 'svg'], '--format must be polygon, rle or yolo, got "svg"'],
    [['segment', image, '--text', 'a', '--format', 'rle'], '--format, --status, --categories and --split-instances are options of export'],
    [['import', 'a.json'], 'import needs --root ROOT (the dataset folder whose store receives the objects)'],
    [['merge', 'a.json'], 'merge needs --out FILE.json'],
    [['annotate', empty], 'annotate needs --prompt LABEL=EXPRESSION (one or more), or --resume JOB'],
    [['annotate', empty, '--resume', 'j', '--prompt', 'a=b'], '--resume takes the prompts, policy, shard and --describe from the job; give none of them'],
    [['annotate', empty, '--prompt', 'a=b', '--shard', '3/3'], '--shard must be K/N with 0 ≤ K < N, e.g. 0/3'],
    [['annotate', empty, '--prompt', 'a=b', '--policy', 'merge'], '--policy must be skip, add or replace, got "merge"'],
  ];

  const input: [string[], string][] = [
    [['segment', '/nope.png', '--text', 'a', '--model', tiny], 'image not found: /nope.png'],
    [['segment', text, '--text', 'a', '--model', tiny], 'cannot use photo.jpg: not an image in a format sharp reads (PNG, JPEG, WebP, TIFF, GIF, AVIF, SVG)'],
    [['segment', image, '--text', 'a', '--model', '/nope'], 'model directory not found: /nope'],
    [['segment', image, '--text', '   ', '--model', tiny], 'the text prompt is empty'],
    [['describe', image, '--region', 'box:500,500,5,5', '--model', tiny], 'the box region covers no pixel of the 80×48 image'],
    [['describe', image, '--region', 'box:1,2', '--model', tiny], 'box needs x,y,w,h, got "1,2"'],
    [['annotate', '/nope', '--prompt', 'a=b', '--model', tiny], 'ROOT /nope is not a folder'],
    [['annotate', empty, '--prompt', 'just words', '--model', tiny], '--prompt needs LABEL=EXPRESSION (e.g. circle="every circle"), got "just words"'],
    [['annotate', empty, '--resume', 'nojob', '--model', tiny], `no job "nojob" in ${path.join(empty, '.pixel-sail/jobs')}`],
    [['export', empty, '--out', path.join(tmp, 'e.json')], `${empty} has no annotations yet (no .pixel-sail/annotations folder): annotate an image first`],
    [['eval', '/nope', '--model', tiny], "cannot read /nope/ground_truth.json: ENOENT: no such file or directory, open '/nope/ground_truth.json' (make one with training/generate.py)"],
  ];

  const firstLine = (stderr: string) => stderr.split('\n').find((l) => l && !l.includes('running on CPU')) ?? '';

  for (const [code, table] of [[2, usage], [1, input]] as const) {
    it(`exit ${code} with the exact message for ${table.length} ${code === 2 ? 'usage' : 'input'} errors`, () => {
      for (const [args, message] of table) {
        const r = spawnSync('node', [bin, ...args], { encoding: 'utf8' });
        assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
        assert.equal(firstLine(r.stderr), `pixel-sail: ${message}`, args.join(' '));
        assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
      }
    });
  }
});
