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
  // An image given where a JSON file belongs: its bytes must not be echoed into the message.
  const binary = path.join(tmp, 'coco.json');
  fs.copyFileSync(image, binary);
  const cutShort = path.join(tmp, 'cut.json');
  fs.writeFileSync(cutShort, '{"images": [');
  const trailingComma = path.join(tmp, 'comma.json');
  fs.writeFileSync(trailingComma, '{\n  "images": [],\n}');
  const textJson = path.join(tmp, 'notes.json');
  fs.writeFileSync(textJson, 'hello');
  // Model folders with one thing wrong in config.json (zod: the file and the JSON path at fault).
  const brokenModel = (name: string, edit: (cfg: Record<string, any>) => void): string => {
    const dir = path.join(tmp, name);
    fs.mkdirSync(dir);
    for (const f of fs.readdirSync(tiny)) if (fs.statSync(path.join(tiny, f)).isFile()) fs.symlinkSync(path.join(tiny, f), path.join(dir, f));
    const cfg = JSON.parse(fs.readFileSync(path.join(tiny, 'config.json'), 'utf8'));
    edit(cfg);
    fs.rmSync(path.join(dir, 'config.json'));
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
    return dir;
  };
  const stringSize = brokenModel('string-size', (c) => { c.model.hidden_size = '64'; });
  const noSeg = brokenModel('no-seg', (c) => { delete c.model.token_ids['[SEG]']; });
  const noGraph = brokenModel('no-graph', (c) => { delete c.graphs.mask_head; });
  const fewInputs = brokenModel('few-inputs', (c) => { c.graphs.decoder.inputs.pop(); });
  const binaryConfig = path.join(tmp, 'binary-config');
  fs.mkdirSync(binaryConfig);
  fs.copyFileSync(image, path.join(binaryConfig, 'config.json'));

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
    // --out names the mask's format; only single-channel lossless ones are written (refused before the model runs).
    [['segment', image, '--text', 'a', '--out', 'mask.jpg'], "--out mask.jpg: JPEG is lossy and would blur the mask's edges; name a .png (or .tif) file"],
    [['segment', image, '--text', 'a', '--out', 'mask.JPEG'], "--out mask.JPEG: JPEG is lossy and would blur the mask's edges; name a .png (or .tif) file"],
    [['describe', image, '--region', 'box:1,1,5,5', '--out', 'mask.webp'], '--out mask.webp: WebP has no single-channel (grey) format; name a .png (or .tif) file'],
    [['ask', image, '--text', 'a', '--out', 'mask.bmp'], '--out mask.bmp: .bmp is not a mask format this tool writes; name a .png (or .tif) file'],
    [['segment', image, '--text', 'a', '--out', 'mask'], '--out mask: it has no extension to name the format; name a .png (or .tif) file'],
    [['segment', image, '--text', 'a', '--out', empty], `cannot write --out ${empty}: it is a folder; name a .png (or .tif) file in it`],
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
    [['eval', '/nope', '--model', tiny], 'cannot read /nope/ground_truth.json: no such file (make one with training/generate.py)'],
    [['import', binary, '--root', empty], `cannot read ${binary}: it is a binary file, not JSON (import takes a COCO JSON file)`],
    [['import', textJson, '--root', empty], `cannot read ${textJson}: not valid JSON (Unexpected token 'h') (import takes a COCO JSON file)`],
    [['import', cutShort, '--root', empty], `cannot read ${cutShort}: not valid JSON: it ends early (the file is cut short?) (import takes a COCO JSON file)`],
    [['import', trailingComma, '--root', empty], `cannot read ${trailingComma}: not valid JSON at line 3, column 1 (Expected double-quoted property name) (import takes a COCO JSON file)`],
    [['import', '/nope.json', '--root', empty], 'cannot read /nope.json: no such file (import takes a COCO JSON file)'],
    [['import', '/dev/zero', '--root', empty], 'cannot read /dev/zero: it is a device, not a regular file (import takes a COCO JSON file)'],
    [['merge', '--out', path.join(tmp, 'm.json'), binary], `cannot read ${binary}: it is a binary file, not JSON (merge takes the COCO JSON files of \`export\` or \`annotate --out\`)`],
    [['check-model', path.join(tiny, 'config.json')], `${path.join(tiny, 'config.json')} is a file, not a model folder; name the folder that holds config.json and the ONNX graphs: ${tiny}`],
    [['check-model', '/nope'], 'model directory not found: /nope'],
    [['segment', image, '--text', 'a', '--model', image], `${image} is a file, not a model folder; name the folder that holds config.json and the ONNX graphs`],
    [['segment', image, '--text', 'a', '--model', stringSize], `${stringSize}/config.json: model.hidden_size must be a number (fix config.json, or export the model again with training/export.py)`],
    [['segment', image, '--text', 'a', '--model', noSeg], `${noSeg}/config.json: model.token_ids lacks the special token [SEG] (fix config.json, or export the model again with training/export.py)`],
    [['segment', image, '--text', 'a', '--model', noGraph], `${noGraph}/config.json: graphs.mask_head is missing (fix config.json, or export the model again with training/export.py)`],
    [['segment', image, '--text', 'a', '--model', fewInputs], `${fewInputs}/config.json: graphs.decoder.inputs names 6 inputs, expected 7 for 2 layers (fix config.json, or export the model again with training/export.py)`],
    [['segment', image, '--text', 'a', '--model', binaryConfig], `cannot read ${binaryConfig}/config.json: it is a binary file, not JSON (export the model again with training/export.py)`],
  ];

  // On a machine whose CUDA provider is installed but fails, one line says so before the error.
  const firstLine = (stderr: string) => stderr.split('\n').find((l) => l && !l.startsWith('pixel-sail: CUDA did not load')) ?? '';

  for (const [code, table] of [[2, usage], [1, input]] as const) {
    it(`exit ${code} with the exact message for ${table.length} ${code === 2 ? 'usage' : 'input'} errors`, () => {
      for (const [args, message] of table) {
        const r = spawnSync('node', [bin, ...args], { encoding: 'utf8' });
        assert.equal(r.status, code, `${args.join(' ')}: ${r.stderr}`);
        assert.equal(firstLine(r.stderr), `pixel-sail: ${message}`, args.join(' '));
        assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
        assert.doesNotMatch(r.stderr, /[\u0000-\u0008\u000e-\u001f\ufffd]/, 'no binary bytes echoed');
      }
    });
  }

  it('counts in the singular for one: "1 image, 1 object added", never "1 objects"', () => {
    const root = path.join(tmp, 'one');
    fs.mkdirSync(root);
    fs.copyFileSync(image, path.join(root, 'a.png'));
    const coco = path.join(tmp, 'one.json');
    fs.writeFileSync(coco, JSON.stringify({
      images: [{ id: 1, file_name: 'a.png', width: 80, height: 48 }],
      annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [2, 2, 10, 10], area: 100, iscrowd: 0, segmentation: [[2, 2, 12, 2, 12, 12, 2, 12]] }],
      categories: [{ id: 1, name: 'box' }],
    }));
    const r = spawnSync('node', [bin, 'import', coco, '--root', root], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '1 image, 1 object added, 0 already in the store\n');
    const x = spawnSync('node', [bin, 'export', root, '--out', path.join(tmp, 'one-out.json')], { encoding: 'utf8' });
    assert.equal(x.status, 0, x.stderr);
    assert.equal(x.stdout, `${path.join(tmp, 'one-out.json')}: 1 image, 1 annotation, 1 category\n`);
  });
});
