// The chat view about image regions, in a real VS Code window, as a user does it: open a generated scene in
// the image editor, open the Pixel-SAIL Chat panel, mark two regions on the canvas with Box + Add to chat,
// hover chips and regions (the canvas outlines the chip's region, the canvas lights the chip), ask for a
// description of region 1 (the answer names the colour the generator's ground truth gives it), ask for a
// mask (drawn on the canvas: compared pixel by pixel with the engine's answer) and accept it as an object,
// undo that (the amber proposal is drawn again), copy the description (pasted back into Message), use it
// as an object's caption, save, reload the window and find the conversation again. Then, with the
// random test model and a large token limit, Stop ends a long answer in the engine and the next request
// is answered. Screenshots go to results/ui-screenshots/chat-*.png.
//   node out/test/ui/chat.ui.js        (after npm run build)
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FrameLocator, Page } from 'playwright-core';
import { Engine } from '../../src/engine/engine';
import type { Rle } from '../../src/masks/rle';
import type { RegionSpec } from '../../src/engine/regions';
import { decodeRle } from '../../src/masks/rle';
import { fitView, Viewport, zoomTo } from '../../webview-ui/viewport';
import { command, eventually, openChat, typeInto, openFromExplorer, repoRoot, runSteps, screenshot, webviewFrames, withWorkbench } from './harness';

// A scene of the generator's test stream (python3 training/generate.py --split test --seed 7 --count 12
// --size 256), committed under test/data/chat/ with its ground truth, so the test needs no Python.
const SCENE_DIR = path.join(repoRoot, 'test/data/chat');
const SCENE = JSON.parse(fs.readFileSync(path.join(SCENE_DIR, 'scene.json'), 'utf8')) as {
  file: string;
  width: number;
  height: number;
  objects: { id: number; category: string; colour: string; segmentation: Rle; bbox: number[]; area: number }[];
  segmentQuestion: string;
};
const IMAGE = `scenes/${SCENE.file}`;

// The two regions marked with Box. The shipped model names region 1's colour when two regions are marked
// for only some objects (24 of 47 in the README's count); for this scene it was checked beforehand with the
// engine on boxes 0, 3 and 6 px around each pair of objects: with region 1 the purple star and region 2 the
// brown circle the phase-2 model answered "a small purple star" at every margin, so that pair is the one
// marked here; long-run segment 7 (shipped since) answers "a medium purple cross" at 15 of 15 margins from
// 1.5 to 4.5 px with ±0.5 px jitter, after the mask question as below (which gave a mask in all 15).
const byId = (id: number) => SCENE.objects.find((o) => o.id === id)!;
const r1 = byId(1);
const r2 = byId(4);
/** Image pixels the drawn boxes leave around each object's bbox. */
const MARGIN = 3;
// The mask question comes before the description: checked with the engine (boxes jittered by ±1.5 px), the
// shipped model answers no segmentation question with a mask right after a description in the same
// context (0 of 24 runs over 6 phrasings), while the scene's own question asked first gives a mask every
// time and the description after it still names region 1's colour (4 of 4).
const MASK_QUESTION = SCENE.segmentQuestion;

/** The editor's webview frame (the visible one that is not the chat). */
const editorFrame = (page: Page) => eventually('the editor webview', async () => (await webviewFrames(page)).editor, 60000);

/** Where image pixel (x, y) is on the page, with the view at Zoom to fit (the canvas's own fitView). */
async function pageAt(editor: FrameLocator, p: { x: number; y: number }) {
  const canvas = editor.locator('canvas#canvas');
  const box = (await canvas.boundingBox())!;
  const stage = await editor.locator('#stage').evaluate((el) => ({ w: el.clientWidth, h: el.clientHeight }));
  const v = fitView(SCENE.width, SCENE.height, stage.w, stage.h);
  return { x: box.x + v.tx + p.x * v.scale, y: box.y + v.ty + p.y * v.scale };
}

async function dragOnImage(page: Page, editor: FrameLocator, from: { x: number; y: number }, to: { x: number; y: number }) {
  const a = await pageAt(editor, from);
  const b = await pageAt(editor, to);
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 4 });
  await page.mouse.move(b.x, b.y, { steps: 4 });
  await page.mouse.up();
}

async function moveOnImage(page: Page, editor: FrameLocator, p: { x: number; y: number }) {
  const a = await pageAt(editor, p);
  await page.mouse.move(a.x - 5, a.y - 5);
  await page.mouse.move(a.x, a.y, { steps: 3 });
}

/** The canvas's RGBA at image pixels' centres (Zoom to fit view). */
async function canvasPixelsAt(editor: FrameLocator, points: { x: number; y: number }[], view?: Viewport): Promise<(number[] | null)[]> {
  const stage = await editor.locator('#stage').evaluate((el) => ({ w: el.clientWidth, h: el.clientHeight }));
  const v = view ?? fitView(SCENE.width, SCENE.height, stage.w, stage.h);
  return editor.locator('canvas#canvas').evaluate((el, { points, v }) => {
    const c = el as HTMLCanvasElement;
    const dpr = window.devicePixelRatio || 1;
    const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    return points.map((p) => {
      const sx = Math.floor((v.tx + (p.x + 0.5) * v.scale) * dpr);
      const sy = Math.floor((v.ty + (p.y + 0.5) * v.scale) * dpr);
      if (sx < 0 || sy < 0 || sx >= c.width || sy >= c.height) return null;
      const i = (sy * c.width + sx) * 4;
      return [data[i], data[i + 1], data[i + 2], data[i + 3]];
    });
  }, { points, v });
}

const same = (a: number[], b: number[]) => a.every((x, i) => x === b[i]);
const isAmberAt = (p: number[] | null) => p !== null && isAmber(p);
/** The chat's amber (#ffb000) as drawn at full opacity. */
const isAmber = (p: number[]): boolean => p[0] > 230 && p[1] > 150 && p[1] < 200 && p[2] < 40;

/** The view at 100 % around the stage's centre (the editor's Zoom 100 %) and every image pixel, for canvasPixelsAt. */
async function canvasAt100(editor: FrameLocator) {
  const stage = await editor.locator('#stage').evaluate((el) => ({ w: el.clientWidth, h: el.clientHeight }));
  const v = zoomTo(fitView(SCENE.width, SCENE.height, stage.w, stage.h), 1, stage.w / 2, stage.h / 2);
  const all = Array.from({ length: SCENE.width * SCENE.height }, (_, i) => ({ x: i % SCENE.width, y: Math.floor(i / SCENE.width) }));
  return { v, all };
}

/**
 * Whether the pixels that changed from `before` to `px` (the canvas at 100 %, one entry per image pixel) are
 * exactly `mask`, up to the canvas's sub-pixel registration (one shift of at most a pixel for the whole mask).
 */
function answerMaskDrawn(before: (number[] | null)[], px: (number[] | null)[], mask: Uint8Array) {
  const changed = px.map((p, i) => p !== null && before[i] !== null && !same(p, before[i]!));
  const inView = (x: number, y: number) => before[y * SCENE.width + x] !== null;
  const shifts = [-1, 0, 1].flatMap((dy) => [-1, 0, 1].map((dx) => ({ dx, dy })));
  const ok = shifts.some(({ dx, dy }) => changed.every((c, i) => {
    const x = i % SCENE.width, y = Math.floor(i / SCENE.width);
    const sx = x - dx, sy = y - dy;
    const want = sx >= 0 && sy >= 0 && sx < SCENE.width && sy < SCENE.height && mask[sy * SCENE.width + sx] === 1;
    return !inView(x, y) || c === want;
  }));
  return { ok, changed, inView };
}

function assertAnswerMaskDrawn(before: (number[] | null)[], px: (number[] | null)[], mask: Uint8Array, area: number) {
  const { ok, changed, inView } = answerMaskDrawn(before, px, mask);
  assert.ok(Array.from(mask).every((m, i) => !m || inView(i % SCENE.width, Math.floor(i / SCENE.width))), 'the whole mask is in view at 100 %');
  assert.ok(ok, `the pixels drawn on the canvas are the engine's mask (${changed.filter(Boolean).length} changed, mask area ${area})`);
  assert.ok(changed.every((c, i) => !c || px[i]![0] > px[i]![2]), 'the mask is drawn in the chat\'s amber');
}

async function saveEditor(page: Page) {
  await page.locator('.tabs-container .tab.active').click();
  await page.keyboard.press('Control+s');
}

const chatFrame = (page: Page) => eventually('the chat view', async () => (await webviewFrames(page)).chat, 60000);

async function openImage(page: Page, file: string) {
  // A fresh window on a busy machine can take minutes to list the workspace.
  await page.getByRole('treeitem', { name: 'scenes' }).click({ timeout: 180000 });
  await openFromExplorer(page, file, async () => (await page.locator('.tabs-container .tab.active', { hasText: file }).count()) > 0, 300000);
}

/** The last answer's text once it is finished (Send enabled again). */
async function lastAnswer(chat: FrameLocator, timeoutMs = 180000): Promise<string> {
  await eventually('the answer to finish', async () => (await chat.locator('li.answer').count()) > 0 && !(await chat.locator('li.answer[data-status="streaming"]').count()) && (await chat.getByRole('button', { name: 'Send' }).isEnabled()), timeoutMs);
  return (await chat.locator('li.answer').last().textContent()) ?? '';
}

async function ask(chat: FrameLocator, text: string, expectQuestion = true) {
  const box = chat.getByRole('textbox', { name: 'Message' });
  const before = await chat.locator('li.question').count();
  await typeInto(box, text);
  await chat.getByRole('button', { name: 'Send' }).click();
  // The question is on screen before its answer is awaited (the old answer is finished too).
  if (expectQuestion) await eventually('the question in the conversation', async () => (await chat.locator('li.question').count()) > before, 60000);
}

function storeSetup(dir: string) {
  fs.mkdirSync(path.join(dir, 'scenes'));
  fs.copyFileSync(path.join(SCENE_DIR, SCENE.file), path.join(dir, IMAGE));
  const store = path.join(dir, '.pixel-sail');
  fs.mkdirSync(path.join(store, 'annotations', 'scenes'), { recursive: true });
  const names = [...new Set(SCENE.objects.map((o) => o.category))];
  fs.writeFileSync(path.join(store, 'categories.json'), JSON.stringify({ version: 1, next_id: names.length + 1, categories: names.map((n, i) => ({ id: i + 1, name: n, color: '#e6194b' })) }));
  fs.writeFileSync(path.join(store, 'annotations', `${IMAGE}.json`), JSON.stringify({
    version: 1,
    image: { file_name: IMAGE, width: SCENE.width, height: SCENE.height },
    annotations: SCENE.objects.slice(0, 2).map((o) => ({ id: o.id, category_id: names.indexOf(o.category) + 1, segmentation: o.segmentation, area: o.area, bbox: o.bbox, iscrowd: 0, pixel_sail: { origin: 'human', status: 'accepted' } })),
  }));
}

async function main(): Promise<number> {
  const totals = [0, 0];
  const add = (r: [number, number]) => { totals[0] += r[0]; totals[1] += r[1]; };
  const captionOf = (engine: Engine) => engine.model.config.prompts.caption.split('{region}');
  // The engine's own answers to the same questions, for comparing what the chat shows.
  const engine = await Engine.open(path.join(repoRoot, 'models/default'), { device: 'cpu' });
  const [pre, post] = captionOf(engine);

  /** On a failure, VS Code's own logs (extension host errors) go beside the screenshots. */
  const keepLogs = (userDataDir: string, name: string) => {
    const logs = path.join(userDataDir, 'logs');
    if (fs.existsSync(logs)) fs.cpSync(logs, path.join(repoRoot, 'results', 'ui-screenshots', name), { recursive: true });
  };
  await withWorkbench(storeSetup, async ({ workspace, userDataDir, context, page: firstPage }) => {
    // Copy writes VS Code's clipboard, which in a browser is the page's (navigator.clipboard).
    await context.grantPermissions(['clipboard-read', 'clipboard-write']);
    let page = firstPage;
    let chat: FrameLocator;
    // The workbench's own errors (an editor that fails to open says "consult the log": this is that log).
    const consoleErrors: string[] = [];
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    const storeFile = path.join(workspace, '.pixel-sail', 'annotations', `${IMAGE}.json`);
    const imagePath = path.join(SCENE_DIR, SCENE.file);
    let regions: RegionSpec[] = [];
    let maskAnswer!: Awaited<ReturnType<Engine['run']>>;
    /** The canvas at 100 % before the mask question and with its answer's mask drawn, for the undo step. */
    let answerCanvas!: Awaited<ReturnType<typeof canvasAt100>> & { before: (number[] | null)[]; after: (number[] | null)[] };
    add(await runSteps('Pixel-SAIL chat about image regions, driven as a user would', [
      ['open the scene in the image editor and the Pixel-SAIL Chat panel', async () => {
        await openImage(page, SCENE.file);
        chat = await openChat(page);
        await eventually('the chat to know the image', async () => (await chat.getByRole('combobox', { name: 'Object' }).locator('option').count()) === 2, 60000);
        await screenshot(page, 'chat-01-open');
      }],
      [`mark two regions on the canvas with Box + Add to chat (button, then its C key): chips region 1 (the ${r1.colour} ${r1.category}) and region 2 (the ${r2.colour} ${r2.category})`, async () => {
        const editor = await editorFrame(page);
        await editor.getByRole('button', { name: 'Zoom to fit' }).click();
        await editor.getByRole('button', { name: 'Box', exact: true }).click();
        for (const [i, o] of [r1, r2].entries()) {
          const [x, y, w, h] = o.bbox;
          await dragOnImage(page, editor, { x: x - MARGIN, y: y - MARGIN }, { x: x + w + MARGIN, y: y + h + MARGIN });
          // The box runs as a visual prompt first (a candidate); Add to chat sends the marks to the chat instead.
          await eventually('the box\'s candidate', async () => /px,|No target/.test((await editor.locator('#answer').textContent()) ?? ''), 120000);
          if (i === 0) await editor.getByRole('button', { name: 'Add to chat' }).click();
          else await page.keyboard.press('c');
          await chat.getByRole('button', { name: `region ${i + 1}`, exact: true }).waitFor({ timeout: 30000 });
          await eventually('the answer line to say so', async () => (await editor.locator('#answer').textContent()) === `Added to the chat as region ${i + 1}.`, 30000);
        }
        assert.equal(await editor.getByRole('button', { name: 'Accept', exact: true }).isEnabled(), false, 'the marks and their candidate are cleared');
        // Add to chat with no marks says what to do, and adds nothing.
        await editor.getByRole('button', { name: 'Add to chat' }).click();
        await eventually('the hint', async () => /Mark a region first/.test((await editor.locator('#answer').textContent()) ?? ''), 10000);
        assert.equal(await chat.getByRole('button', { name: 'region 3', exact: true }).count(), 0);
        await screenshot(page, 'chat-02-canvas-regions');
      }],
      ['hovering chip region 1 outlines its box on the canvas (cleared on leave); the pointer over region 2 on the canvas lights its chip', async () => {
        const editor = await editorFrame(page);
        const [x, y, w] = r1.bbox;
        // A few pixels across the box's top edge (the drawn box is where the mouse was, to a pixel).
        const edge = [-2, -1, 0, 1, 2].map((d) => ({ x: x + w / 2, y: y - MARGIN + d }));
        const before = await canvasPixelsAt(editor, edge);
        assert.ok(!before.some(isAmberAt), 'no outline before the hover');
        await chat.getByRole('button', { name: 'region 1', exact: true }).hover();
        await eventually('the amber outline of region 1 on the canvas', async () => (await canvasPixelsAt(editor, edge)).some(isAmberAt), 10000);
        await screenshot(page, 'chat-03-hover-chip');
        await chat.getByRole('textbox', { name: 'Message' }).hover();
        await eventually('the outline cleared', async () => JSON.stringify(await canvasPixelsAt(editor, edge)) === JSON.stringify(before), 10000);
        const [x2, y2, w2, h2] = r2.bbox;
        await moveOnImage(page, editor, { x: x2 + w2 / 2, y: y2 + h2 / 2 });
        await chat.locator('#regions .chip.lit[data-region="2"]').waitFor({ timeout: 10000 });
        await screenshot(page, 'chat-03-hover-canvas');
        await chat.getByRole('textbox', { name: 'Message' }).hover();
        await eventually('the chip unlit', async () => (await chat.locator('#regions .chip.lit').count()) === 0, 10000);
      }],
      ['a question that returns a mask: the mask drawn on the canvas is the engine\'s answer to the same question; Accept in the chat makes it an object', async () => {
        const editor = await editorFrame(page);
        await editor.getByRole('button', { name: 'Zoom to fit' }).click();
        await chat.getByRole('textbox', { name: 'Message' }).hover();
        // The regions as the chat holds them (saved with the document), for asking the engine the same question.
        await saveEditor(page);
        const stored = await eventually('the saved regions', async () => JSON.parse(fs.readFileSync(storeFile, 'utf8')).conversations?.[0]?.regions, 60000);
        regions = stored.map((r: { spec: RegionSpec }) => r.spec);
        assert.deepEqual(regions.map((r) => r.kind), ['box', 'box'], 'the chat holds the two boxes as drawn');
        // The engine's answer to the same question with the same regions (the first question: a fresh context).
        const expected = await engine.run({ kind: 'ask', image: imagePath, regions, question: [{ kind: 'text', text: MASK_QUESTION }], maxNewTokens: 256 });
        maskAnswer = expected;
        assert.ok(expected.masks[0] && expected.masks[0].area > 0, `the engine gives a mask for the question: ${expected.answer}`);
        // Read the canvas at 100 % (one image pixel per screen pixel, drawn without smoothing) at every image
        // pixel, before and after the answer: the pixels that change must be exactly the engine's mask.
        await editor.getByRole('button', { name: 'Zoom 100 %' }).click();
        const at100 = await canvasAt100(editor);
        const before = await canvasPixelsAt(editor, at100.all, at100.v);
        await ask(chat, MASK_QUESTION);
        await lastAnswer(chat);
        await chat.getByRole('button', { name: 'Accept mask 1' }).waitFor({ timeout: 30000 });
        await chat.getByRole('textbox', { name: 'Message' }).hover();
        const after = await eventually('the answer\'s mask on the canvas', async () => {
          const px = await canvasPixelsAt(editor, at100.all, at100.v);
          return answerMaskDrawn(before, px, decodeRle(expected.masks[0].rle)).ok ? px : undefined;
        }, 30000);
        assertAnswerMaskDrawn(before, after, decodeRle(expected.masks[0].rle), expected.masks[0].area);
        answerCanvas = { ...at100, before, after };
        await editor.getByRole('button', { name: 'Zoom to fit' }).click();
        assert.ok(await chat.locator('li.answer').last().getByRole('img', { name: /^mask 1: \d+ pixels$/ }).count(), 'the thumbnail stays in the chat');
        await screenshot(page, 'chat-04-mask-on-canvas');
        // Copy on the mask answer: pasted back it reads as shown, the mask reference "mask 1" without brackets.
        const maskTurn = chat.locator('li.answer').last();
        const shownMaskAnswer = ((await maskTurn.locator('.body').textContent()) ?? '').trim();
        assert.match(shownMaskAnswer, /\bmask 1\b/, `the answer refers to its mask: ${shownMaskAnswer}`);
        await maskTurn.getByRole('button', { name: 'Copy answer' }).click();
        const messageBox = chat.getByRole('textbox', { name: 'Message' });
        const pastedMaskAnswer = await eventually('the mask answer pasted into Message', async () => {
          await messageBox.click();
          await messageBox.fill('');
          await page.keyboard.press('Control+v');
          const v = await messageBox.inputValue();
          return v ? v : undefined;
        }, 30000);
        assert.equal(pastedMaskAnswer, shownMaskAnswer, 'the clipboard holds the mask answer as shown');
        assert.doesNotMatch(pastedMaskAnswer, /\[mask/, 'no bracketed mask reference');
        await messageBox.fill('');
        await chat.getByRole('button', { name: 'Accept mask 1' }).click();
        const pick = page.locator('.quick-input-widget input');
        await pick.waitFor({ timeout: 30000 });
        await pick.fill('shape');
        await page.keyboard.press('Enter');
        await chat.getByText(/mask 1: object \d+/).waitFor({ timeout: 30000 });
        await saveEditor(page);
        const saved = await eventually('the saved store file with the accepted object', async () => {
          const d = JSON.parse(fs.readFileSync(storeFile, 'utf8'));
          return d.conversations?.[0]?.turns?.length === 2 && d.annotations.length === 3 ? d : undefined;
        }, 60000);
        assert.deepEqual(saved.annotations[2].segmentation, expected.masks[0].rle, 'the accepted object is the engine\'s mask');
        assert.deepEqual(saved.conversations[0].turns[1].masks[0].rle, expected.masks[0].rle, 'the conversation keeps the engine\'s mask');
        assert.equal(saved.annotations[2].pixel_sail.prompt, `chat: ${MASK_QUESTION}`);
      }],
      ['Ctrl+Z after Accept: the object leaves the editor\'s list and the answer\'s amber mask is drawn on the canvas again', async () => {
        const editor = await editorFrame(page);
        const objects = editor.getByRole('list', { name: 'Objects' }).getByRole('listitem');
        assert.equal(await objects.count(), 3, 'the accepted mask is the third object');
        const { all, v, before, after } = answerCanvas;
        const mask = decodeRle(maskAnswer.masks[0].rle);
        const inMask = all.flatMap((_, i) => (mask[i] ? [i] : []));
        // Accepted, the mask is drawn as the object (its category's colour), not as the chat's amber proposal.
        await editor.getByRole('button', { name: 'Zoom 100 %' }).click();
        await chat.getByRole('textbox', { name: 'Message' }).hover();
        const accepted = await eventually('the object drawn in place of the amber proposal', async () => {
          const px = await canvasPixelsAt(editor, all, v);
          return inMask.filter((i) => px[i] && after[i] && !same(px[i]!, after[i]!)).length > inMask.length / 2 ? px : undefined;
        }, 30000);
        await screenshot(page, 'chat-04-accepted');
        // Undo takes the object back out (the chat's Accept is an edit like any other) and the proposal returns.
        await page.locator('.tabs-container .tab.active').click();
        await page.keyboard.press('Control+z');
        await chat.getByRole('button', { name: 'Accept mask 1' }).waitFor({ timeout: 30000 });
        await eventually('two objects in the editor\'s list', async () => (await objects.count()) === 2, 30000);
        await chat.getByRole('textbox', { name: 'Message' }).hover();
        const undone = await eventually('the amber mask on the canvas again', async () => {
          const px = await canvasPixelsAt(editor, all, v);
          return answerMaskDrawn(before, px, mask).ok && inMask.every((i) => !px[i] || !after[i] || same(px[i]!, after[i]!)) ? px : undefined;
        }, 30000);
        assertAnswerMaskDrawn(before, undone, mask, maskAnswer.masks[0].area);
        assert.ok(inMask.some((i) => accepted[i] && undone[i] && !same(accepted[i]!, undone[i]!)), 'the canvas changed back from the object to the proposal');
        await screenshot(page, 'chat-04-undone');
        await editor.getByRole('button', { name: 'Zoom to fit' }).click();
        await saveEditor(page);
        const saved = await eventually('the saved store file without the object', async () => {
          const d = JSON.parse(fs.readFileSync(storeFile, 'utf8'));
          return d.annotations.length === 2 ? d : undefined;
        }, 60000);
        assert.equal(saved.conversations[0].turns[1].masks.length, 1, 'the answer keeps its mask');
      }],
      [`Describe region 1: the answer names the ground-truth colour (${r1.colour}) with region chips, never raw tokens`, async () => {
        const answers = await chat.locator('li.answer').count();
        await chat.getByRole('button', { name: 'Describe region 1' }).click();
        // The earlier answer is finished too: wait for this one to be on screen before waiting for it to finish.
        await eventually('the description\'s answer', async () => (await chat.locator('li.answer').count()) > answers, 60000);
        const text = await lastAnswer(chat);
        assert.match(text, new RegExp(`\\b${r1.colour}\\b`), `the answer names ${r1.colour}: ${text}`);
        assert.doesNotMatch(text, /<Prompt|\[SEG\]|<\|/, 'no raw special token is shown');
        assert.equal(await chat.locator('li.notice', { hasText: 'New context' }).count(), 0, 'the description continues the context of the mask question');
        // The engine's answer in the same context (after the mask question, same regions).
        const described = await engine.run({ kind: 'ask', image: imagePath, regions, question: [{ kind: 'text', text: pre }, { kind: 'region', region: 1 }, { kind: 'text', text: post }], maxNewTokens: 256, conversationId: maskAnswer.conversationId });
        const chips = described.answerParts!.filter((p) => p.kind === 'region').length;
        assert.ok(chips > 0, `the engine's answer names a region: ${described.answer}`);
        assert.equal(await chat.locator('li.answer').last().getByRole('img', { name: /^region \d+$/ }).count(), chips, 'one chip per region the model named');
        await screenshot(page, 'chat-05-described');
        await saveEditor(page);
        await eventually('the saved conversation', async () => JSON.parse(fs.readFileSync(storeFile, 'utf8')).conversations?.[0]?.turns?.length === 4, 60000);
      }],
      ['Copy on the description puts its readable text on the clipboard: pasted into Message it reads as the answer shows it, with no special token', async () => {
        const answer = chat.locator('li.answer').last();
        const shown = ((await answer.locator('.body').textContent()) ?? '').trim();
        assert.match(shown, new RegExp(`\\b${r1.colour}\\b`));
        await answer.getByRole('button', { name: 'Copy answer' }).click();
        const box = chat.getByRole('textbox', { name: 'Message' });
        const pasted = await eventually('the answer pasted into Message', async () => {
          await box.click();
          await box.fill('');
          await page.keyboard.press('Control+v');
          const v = await box.inputValue();
          return v ? v : undefined;
        }, 30000);
        assert.equal(pasted, shown, 'the clipboard holds the answer as shown');
        assert.doesNotMatch(pasted, /<Prompt|\[SEG\]|<\||<\/?p>|<vision>/, 'no special token on the clipboard');
        await box.fill('');
      }],
      [`Use as caption on the description: object ${r1.id} (chosen under Object) gets it as its caption, in the editor's object list and in the saved store file`, async () => {
        const editor = await editorFrame(page);
        const answer = chat.locator('li.answer').last();
        const shown = ((await answer.locator('.body').textContent()) ?? '').trim();
        // The caption is the answer's words about the object: without the leading reference to its region.
        const caption = shown.replace(/^region \d+\s*[:,.-]?\s*/, '');
        assert.match(caption, new RegExp(`\\b${r1.colour}\\b`));
        await chat.getByRole('combobox', { name: 'Object' }).selectOption(String(r1.id));
        await answer.getByRole('button', { name: 'Use as caption' }).click();
        const row = editor.getByRole('list', { name: 'Objects' }).getByRole('listitem').filter({ hasText: `#${r1.id} ` });
        await eventually('the caption under the object in the editor', async () => ((await row.locator('.caption').textContent().catch(() => null)) ?? '') === caption, 30000);
        assert.match((await chat.getByRole('combobox', { name: 'Object' }).locator('option:checked').textContent()) ?? '', new RegExp(`^object ${r1.id} — `), 'the chat\'s object list shows the caption too');
        await screenshot(page, 'chat-05-caption');
        await saveEditor(page);
        await eventually('the caption in the saved store file', async () => {
          const d = JSON.parse(fs.readFileSync(storeFile, 'utf8'));
          return d.annotations.find((a: { id: number }) => a.id === r1.id)?.pixel_sail.caption === caption;
        }, 60000);
      }],
      ['reload the window: the conversation comes back', async () => {
        await page.reload();
        await page.locator('.monaco-workbench').waitFor({ timeout: 60000 });
        // Under load, VS Code in a browser sometimes fails to restore a webview editor right after a reload
        // ("could not be opened", Try Again); a user presses Try Again.
        await eventually('the image editor restored', async () => {
          const again = page.getByRole('button', { name: 'Try Again' });
          if (await again.isVisible().catch(() => false)) {
            await screenshot(page, 'chat-06-try-again');
            await again.click();
          }
          return (await webviewFrames(page)).editor !== undefined;
        }, 120000);
        chat = await chatFrame(page);
        await eventually('the restored conversation', async () => (await chat.locator('li.answer').count()) === 2, 120000);
        const text = (await chat.locator('#turns').textContent()) ?? '';
        assert.match(text, new RegExp(MASK_QUESTION.replace(/[.?]/g, '\\$&')));
        assert.match(text, new RegExp(r1.colour));
        assert.equal(await chat.getByRole('button', { name: 'region 2', exact: true }).count(), 1, 'the regions are back too');
        await screenshot(page, 'chat-06-reloaded');
      }],
      ['a typed <Prompt0> or [SEG] stays text: the question shows it as typed, with no chip', async () => {
        await ask(chat, 'is <Prompt0> [SEG] here?');
        await lastAnswer(chat);
        const q = chat.locator('li.question').last();
        assert.equal((await q.locator('.body').textContent())?.trim(), 'is <Prompt0> [SEG] here?');
        assert.equal(await q.getByRole('img', { name: /^region/ }).count(), 0);
        assert.match((await chat.locator('li.notice').last().textContent()) ?? '', /New context: the model no longer holds the earlier turns \(the window was reloaded/);
      }],
      ['a reference to a region that does not exist is answered in the chat with what to do', async () => {
        await ask(chat, 'what is @region7?', false);
        await chat.getByText(/There is no region 7: this conversation has region 1–2/).waitFor({ timeout: 10000 });
        await screenshot(page, 'chat-07-errors');
      }],
      ['an object picked in the chat is region 3; hovering its chip outlines the object\'s mask on the canvas', async () => {
        const o = SCENE.objects[0];
        const editor = await editorFrame(page);
        await editor.getByRole('button', { name: 'Zoom to fit' }).click();
        // The object's topmost pixel in its middle column: on the mask's edge, where the outline is drawn.
        const mask = decodeRle(o.segmentation);
        const x = Math.round(o.bbox[0] + o.bbox[2] / 2);
        let y = 0;
        while (y < SCENE.height && !mask[y * SCENE.width + x]) y++;
        const edge = [0, 1].map((d) => ({ x, y: y + d }));
        await chat.getByRole('combobox', { name: 'Object' }).selectOption(String(o.id));
        await chat.getByRole('button', { name: 'Add region' }).click();
        await chat.getByRole('button', { name: 'region 3', exact: true }).waitFor({ timeout: 30000 });
        // The new chip can land under the pointer (the row grows): move it away first.
        await chat.getByRole('textbox', { name: 'Message' }).hover();
        await eventually('no outline before the hover', async () => !(await canvasPixelsAt(editor, edge)).some(isAmberAt), 10000);
        await chat.getByRole('button', { name: 'region 3', exact: true }).hover();
        await eventually('the amber outline of the object on the canvas', async () => (await canvasPixelsAt(editor, edge)).some(isAmberAt), 10000);
        await screenshot(page, 'chat-07-object-region');
        await chat.getByRole('textbox', { name: 'Message' }).hover();
        await eventually('the outline cleared on leave', async () => !(await canvasPixelsAt(editor, edge)).some(isAmberAt), 10000);
      }],
      ['Clear conversation empties it (and Ctrl+Z in the editor brings it back)', async () => {
        await chat.getByRole('button', { name: 'Clear conversation' }).click();
        await eventually('the empty conversation', async () => (await chat.locator('li.turn').count()) === 0, 30000);
        await page.locator('.tabs-container .tab.active').click();
        await page.keyboard.press('Control+z');
        await eventually('the conversation back', async () => (await chat.locator('li.answer').count()) >= 2, 30000);
      }],
      ['with every object deleted in the editor, the chat\'s Object list says where a region comes from', async () => {
        const editor = await editorFrame(page);
        const objects = editor.getByRole('list', { name: 'Objects' }).getByRole('button');
        const select = chat.getByRole('combobox', { name: 'Object' });
        await eventually('every object deleted', async () => {
          if ((await objects.count()) === 0) return true;
          await objects.first().click();
          await page.keyboard.press('Delete');
          return false;
        }, 60000);
        await eventually('the Object list to say there are none', async () =>
          (await select.locator('option').allTextContents()).join('|') === 'No objects yet: mark a region in the editor, then Add to chat (C)', 30000);
        assert.equal(await chat.getByRole('button', { name: 'Add region' }).isEnabled(), false);
        await screenshot(page, 'chat-07b-no-objects');
      }],
    ], () => screenshot(page, 'chat-failure').then(() => {
      keepLogs(userDataDir, 'chat-failure-logs');
      fs.writeFileSync(path.join(repoRoot, 'results', 'ui-screenshots', 'chat-failure-console.txt'), consoleErrors.join('\n'));
    })));
  });

  if (process.env.CHAT_UI_SKIP_STOP !== '1') await withWorkbench((dir) => {
    storeSetup(dir);
    fs.mkdirSync(path.join(dir, '.vscode'));
    fs.writeFileSync(path.join(dir, '.vscode', 'settings.json'), JSON.stringify({ 'pixelSail.modelPath': path.join(repoRoot, 'models/tiny-random'), 'pixelSail.chat.maxNewTokens': 4096 }));
  }, async ({ workspace, page }) => {
    let chat: FrameLocator;
    add(await runSteps('Pixel-SAIL chat: Stop ends a long answer in the engine (random test model, 4096-token limit)', [
      ['Stop while a long answer streams: the answer is marked stopped', async () => {
        await openImage(page, SCENE.file);
        await command(page, 'Pixel-SAIL: Open Chat');
        chat = await chatFrame(page);
        await eventually('the chat to know the image', async () => (await chat.getByRole('combobox', { name: 'Object' }).locator('option').count()) === 2, 60000);
        // The random model writes no stop token for this question on this image (measured: 1000 of 1000 tokens).
        await ask(chat, 'Tell me everything.');
        await eventually('some streamed tokens', async () => ((await chat.locator('li.answer[data-status="streaming"] .body').textContent().catch(() => '')) ?? '').length > 10, 120000);
        await chat.getByRole('button', { name: 'Stop' }).click();
        await chat.locator('li.answer[data-status="stopped"]').waitFor({ timeout: 30000 });
        await screenshot(page, 'chat-08-stopped');
      }],
      ['the worker takes the next request: a short answer arrives', async () => {
        fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'pixelSail.modelPath': path.join(repoRoot, 'models/tiny-random'), 'pixelSail.chat.maxNewTokens': 8 }));
        await new Promise((r) => setTimeout(r, 2000));
        await ask(chat, 'And now briefly?');
        await eventually('a complete second answer', async () => (await chat.locator('li.answer').count()) === 2 && (await chat.locator('li.answer').last().getAttribute('data-status')) !== 'streaming', 120000);
        assert.equal(await chat.locator('li.answer').last().getAttribute('data-status'), 'complete', (await chat.locator('li.answer').last().textContent()) ?? '');
      }],
      ['Add to chat with 16 scribbles is refused, in the answer line and in the chat (the model has 15 region slots), and adds no region', async () => {
        const editor = await editorFrame(page);
        await editor.getByRole('button', { name: 'Zoom to fit' }).click();
        await editor.getByRole('button', { name: 'Scribble', exact: true }).click();
        for (let i = 0; i < 16; i++) await dragOnImage(page, editor, { x: 8 + i * 15, y: 20 }, { x: 8 + i * 15, y: 60 });
        await editor.getByRole('button', { name: 'Add to chat' }).click();
        await eventually('the refusal in the answer line', async () => /Add to chat failed: The model takes at most 15 regions/.test((await editor.locator('#answer').textContent()) ?? ''), 30000);
        await chat.getByText(/The model takes at most 15 regions at once/).first().waitFor({ timeout: 10000 });
        assert.equal(await chat.locator('#regions .chip').count(), 0, 'no region was added');
        await screenshot(page, 'chat-09-too-many-regions');
      }],
    ], () => screenshot(page, 'chat-failure-stop').then(() => undefined)));
  });
  await engine.close();
  console.log(`${totals[0]} passed, ${totals[1]} failed`);
  return totals[1] === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`chat UI test: ${(e as Error).stack ?? e}`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  },
);
