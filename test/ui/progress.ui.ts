// A long image prefill in a real VS Code window, as a user meets it with a paper-size model: the editor shows
// what the engine is doing (stage, patch count, elapsed time) with Cancel; zoom and the manual tools keep
// working meanwhile; Cancel ends the work in the engine (the worker, deaf inside its model run, is replaced)
// and the next prompt is answered. Then the same in the Chat panel: the pending answer says the stage and the
// elapsed time, Stop ends the blocked question the same way, and the next question is answered.
// The slow prefill is simulated on the shipped model by the test-only PIXEL_SAIL_TEST_BLOCK_PREFILL_WHILE_FILE
// (engine.ts): while the named file exists, the worker's thread blocks before each prefill exactly as an
// onnxruntime run does (synchronously, deaf to messages). The test decides when the block ends; nothing is timed.
//   node out/test/ui/progress.ui.js        (after npm run build)
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TEST_BLOCK_PREFILL_ENV } from '../../src/engine/engine';
import type { FrameLocator } from 'playwright-core';
import { eventually, openChat, typeInto, openFromExplorer, repoRoot, runSteps, screenshot, webview, withWorkbench } from './harness';

/** The engine workers of this checkout whose environment names `blockFile` (other checkouts' tests may run beside). */
function blockedWorkers(blockFile: string): number[] {
  const worker = path.join(repoRoot, 'dist', 'worker.js');
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8');
      const env = fs.readFileSync(`/proc/${d}/environ`, 'utf8');
      return cmd.includes(worker) && env.includes(`${TEST_BLOCK_PREFILL_ENV}=${blockFile}`) ? [Number(d)] : [];
    } catch {
      return []; // gone, or not ours
    }
  });
}

/** Types a question into the chat's Message box as a person does (again if a webview took the focus) and sends it. */
async function askInChat(chat: FrameLocator, text: string) {
  const box = chat.getByRole('textbox', { name: 'Message' });
  const before = await chat.getByRole('listitem', { name: 'Question' }).count();
  await typeInto(box, text);
  await box.press('Enter');
  await eventually('the question in the conversation', async () => (await chat.getByRole('listitem', { name: 'Question' }).count()) > before, 60000);
}

async function main(): Promise<number> {
  const blockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pixel-sail-block-'));
  const blockFile = path.join(blockDir, 'block');
  // The extension host (and the worker it forks) inherit code-server's environment, which is this process's.
  process.env[TEST_BLOCK_PREFILL_ENV] = blockFile;
  let result: [number, number] = [0, 1];
  try {
    await withWorkbench(
      (dir) => {
        fs.mkdirSync(path.join(dir, 'scenes'));
        fs.copyFileSync(path.join(repoRoot, 'media/samples/scene.png'), path.join(dir, 'scenes', 'scene.png'));
      },
      async ({ workspace, page }) => {
        const editor = webview(page);
        const progress = editor.getByRole('status', { name: 'Engine progress' });
        const cancel = editor.getByRole('button', { name: 'Cancel' });
        const answer = () => editor.locator('#answer').textContent().then((t) => t ?? '');
        const status = () => editor.locator('#status').textContent().then((t) => t ?? '');
        const objectButton = (name: string) => editor.getByRole('button', { name, exact: true });
        const storeFile = path.join(workspace, '.pixel-sail', 'annotations', 'scenes', 'scene.png.json');
        let blockedPid = 0;
        let chat!: FrameLocator;
        result = await runSteps('A long prefill: progress, a responsive editor, Cancel', [
          ['the scene opens in the editor and the engine loads', async () => {
            await page.getByRole('treeitem', { name: 'scenes' }).click({ timeout: 180000 });
            await openFromExplorer(page, 'scene.png', async () => (await status().catch(() => '')).startsWith('scenes/scene.png'));
            await eventually('the engine ready', async () => /default on CPU/.test(await status()), 120000);
            assert.equal(await progress.isVisible(), false, 'no progress while nothing runs');
          }],
          ['a prompt whose prefill does not end shows the stage, the patch count and the elapsed time, with Cancel', async () => {
            fs.writeFileSync(blockFile, '');
            const box = editor.getByRole('textbox', { name: 'Prompt' });
            await box.click();
            await box.pressSequentially('the green hexagon');
            await box.press('Enter');
            await progress.waitFor({ timeout: 60000 });
            // The shipped model sees 192 px: 12 × 12 patches.
            const text = await eventually('the prefill stage', async () => {
              const t = (await progress.textContent()) ?? '';
              return /Prefilling the image \(144 patches, 192 px\) · \d+ s/.test(t) && t;
            }, 60000);
            assert.match(text, /Cancel/);
            assert.equal(await cancel.isVisible(), true);
            blockedPid = await eventually('the worker blocked in its prefill', async () => blockedWorkers(blockFile)[0], 30000);
            await screenshot(page, 'progress-01-prefilling');
          }],
          ['meanwhile the view zooms and a hand-drawn polygon becomes an object (the editor does not wait for the engine)', async () => {
            const zoomLabel = editor.locator('#zoom');
            const before = (await zoomLabel.textContent()) ?? '';
            await editor.getByRole('button', { name: 'Zoom in' }).click();
            await eventually('the zoom to change', async () => ((await zoomLabel.textContent()) ?? '') !== before, 30000);
            await editor.getByRole('button', { name: 'Zoom to fit' }).click();
            const category = editor.getByRole('combobox', { name: 'Category' });
            await category.click();
            await category.pressSequentially('drawn');
            await editor.getByRole('button', { name: 'Polygon' }).click();
            const canvas = await editor.locator('canvas').boundingBox();
            if (!canvas) throw new Error('the canvas is not on screen');
            // Three points well inside the fitted image (it fills the middle of the canvas), then Enter closes it.
            const at = (fx: number, fy: number): [number, number] => [canvas.x + canvas.width * fx, canvas.y + canvas.height * fy];
            for (const [fx, fy] of [[0.45, 0.3], [0.6, 0.35], [0.5, 0.5]]) await page.mouse.click(...at(fx, fy));
            await page.keyboard.press('Enter');
            await objectButton('#1 drawn').waitFor({ timeout: 30000 });
            assert.equal(await progress.isVisible(), true, 'the prompt is still running');
            assert.deepEqual(blockedWorkers(blockFile), [blockedPid], 'the same worker is still inside its prefill');
            await screenshot(page, 'progress-02-editing-meanwhile');
          }],
          ['Cancel ends the prompt at once and the engine replaces the worker it could not interrupt', async () => {
            await cancel.click();
            await eventually('the answer line to say it was cancelled', async () => /^Cancelled “the green hexagon”\.$/.test(await answer()), 30000);
            await progress.waitFor({ state: 'hidden', timeout: 10000 });
            assert.equal(await editor.getByRole('button', { name: 'Accept' }).isEnabled(), false, 'nothing to accept');
            // The block file is still there, so that worker could never have finished by itself: it is gone
            // because the engine killed it.
            await eventually(`worker ${blockedPid} to be ended`, async () => !fs.existsSync(`/proc/${blockedPid}`) || /State:\s+Z/.test(fs.readFileSync(`/proc/${blockedPid}/status`, 'utf8')), 60000);
            assert.equal(fs.existsSync(blockFile), true);
            await screenshot(page, 'progress-03-cancelled');
            await eventually('the engine ready again', async () => /default on CPU/.test(await status()), 120000);
          }],
          ['with the prefill no longer blocked, the next prompt is answered and the drawn object is saved', async () => {
            fs.rmSync(blockFile);
            const box = editor.getByRole('textbox', { name: 'Prompt' });
            await box.click();
            await box.fill('');
            await box.pressSequentially('the green hexagon');
            await box.press('Enter');
            await eventually('the candidate (Accept enabled)', () => editor.getByRole('button', { name: 'Accept' }).isEnabled(), 120000);
            await progress.waitFor({ state: 'hidden', timeout: 10000 });
            assert.match(await answer(), /\(\d+ px, \d+ ms\)$/);
            await screenshot(page, 'progress-04-answered');
            await editor.locator('canvas').click({ position: { x: 4, y: 4 } });
            await page.keyboard.press('Control+s');
            await eventually('the store file', async () => fs.existsSync(storeFile), 30000);
            const saved = JSON.parse(fs.readFileSync(storeFile, 'utf8'));
            assert.equal(saved.annotations.length, 1);
            assert.equal(saved.annotations[0].pixel_sail.origin, 'human');
          }],
          // The chat about the same image, with the same blocked prefill. Its question is about a region (the
          // drawn object), so the engine prefills the image with that prompt afresh rather than reuse the
          // state the editor's prompt left in its cache.
          ['the Chat panel opens on the scene and the drawn object becomes region 1', async () => {
            chat = await openChat(page);
            const object = chat.getByRole('combobox', { name: 'Object' });
            await eventually('the chat to know the drawn object', async () => (await object.locator('option').count()) === 1, 60000);
            await chat.getByRole('button', { name: 'Add region' }).click();
            await chat.getByRole('button', { name: 'Describe region 1' }).waitFor({ timeout: 30000 });
            assert.equal(await chat.getByRole('status', { name: 'Answer progress' }).count(), 0, 'no progress while nothing runs');
          }],
          ['a question whose prefill does not end: the pending answer says the stage, the patch count and the elapsed time, and Stop is enabled', async () => {
            fs.writeFileSync(blockFile, '');
            await askInChat(chat, 'What is @region1?');
            const progress = chat.getByRole('status', { name: 'Answer progress' });
            const first = await eventually('the prefill stage in the pending answer', async () => {
              const t = (await progress.textContent().catch(() => '')) ?? '';
              return /^Prefilling the image \(144 patches, 192 px\) · (\d+) s$/.test(t) && t;
            }, 60000);
            assert.equal(await progress.getAttribute('aria-live'), 'polite');
            // The seconds go on while the engine is deaf inside its "model run".
            await eventually('the elapsed time to move on', async () => {
              const t = (await progress.textContent()) ?? '';
              return /^Prefilling the image \(144 patches, 192 px\) · \d+ s$/.test(t) && t !== first;
            }, 30000);
            blockedPid = await eventually('the worker blocked in its prefill', async () => blockedWorkers(blockFile)[0], 30000);
            assert.equal(await chat.getByRole('button', { name: 'Stop' }).isEnabled(), true);
            assert.equal(await chat.getByRole('button', { name: 'Send' }).isEnabled(), false);
            await screenshot(page, 'progress-05-chat-prefilling');
          }],
          ['Stop ends the question at once ("Stopped.") and the engine replaces the worker it could not interrupt', async () => {
            await chat.getByRole('button', { name: 'Stop' }).click();
            const answer = chat.getByRole('listitem', { name: 'Answer' }).last();
            await answer.getByRole('status').filter({ hasText: /^Stopped\.$/ }).waitFor({ timeout: 30000 });
            assert.equal(await chat.getByRole('status', { name: 'Answer progress' }).count(), 0, 'no progress once stopped');
            assert.equal(await chat.getByRole('button', { name: 'Send' }).isEnabled(), true);
            await eventually(`worker ${blockedPid} to be ended`, async () => !fs.existsSync(`/proc/${blockedPid}`) || /State:\s+Z/.test(fs.readFileSync(`/proc/${blockedPid}/status`, 'utf8')), 60000);
            assert.equal(fs.existsSync(blockFile), true, 'the block was never lifted: the engine ended that worker');
            await screenshot(page, 'progress-06-chat-stopped');
          }],
          ['with the prefill no longer blocked, the same question is answered; its pending answer said each stage', async () => {
            fs.rmSync(blockFile);
            // What the pending answer's progress says, as it changes (the tiny model answers within a second).
            await chat.locator('#turns').evaluate((list) => {
              const seen: string[] = [];
              (window as unknown as { seenStages: string[] }).seenStages = seen;
              new MutationObserver(() => {
                const t = list.querySelector('li.answer[data-status="streaming"] .progress .stage')?.textContent;
                if (t && seen[seen.length - 1] !== t) seen.push(t);
              }).observe(list, { subtree: true, childList: true, characterData: true });
            });
            await askInChat(chat, 'What is @region1?');
            await eventually('the second answer to finish', async () => (await chat.getByRole('listitem', { name: 'Answer' }).count()) === 2 && (await chat.getByRole('button', { name: 'Send' }).isEnabled()), 180000);
            const answer = chat.getByRole('listitem', { name: 'Answer' }).last();
            assert.equal(await answer.getAttribute('data-status'), 'complete', (await answer.textContent()) ?? '');
            assert.equal(await chat.getByRole('status', { name: 'Answer progress' }).count(), 0, 'no progress once answered');
            const seen = await chat.locator('#turns').evaluate(() => (window as unknown as { seenStages: string[] }).seenStages);
            assert.ok(seen.includes('Prefilling the image (144 patches, 192 px)') && seen.includes('Writing the answer'), `stages shown: ${seen.join(' → ')}`);
            assert.ok(seen.indexOf('Prefilling the image (144 patches, 192 px)') < seen.indexOf('Writing the answer'), `stages shown: ${seen.join(' → ')}`);
            await screenshot(page, 'progress-07-chat-answered');
          }],
        ], () => screenshot(page, 'progress-failure').then(() => undefined));
      },
    );
  } finally {
    delete process.env[TEST_BLOCK_PREFILL_ENV];
    fs.rmSync(blockDir, { recursive: true, force: true });
  }
  console.log(`${result[0]} passed, ${result[1]} failed`);
  return result[1] === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`progress UI test: ${(e as Error).stack ?? e}`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  },
);
