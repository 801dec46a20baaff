// Batch annotation of a dataset folder in a real VS Code window, as a user does it: right-click the folder
// → Annotate Folder with Pixel-SAIL… → categories and expressions → policy → the progress notification →
// Cancel mid-run → the model setting pointed at a damaged model → the same command again → Resume It → one
// error naming the damaged file, nothing lost → the setting back → Resume It → the job ends; one image is reviewed in the editor
// (accept one proposal, reject another, save, Next unreviewed); then Export COCO JSON… from the same menu.
// The stores the resumed job leaves are checked against an uninterrupted run of the same job by the
// CLI, and the export against the stores. Screenshots go to results/ui-screenshots/.
//   node out/test/ui/batch.ui.js        (after npm run build)
import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { command, eventually, openFromExplorer, repoRoot, runSteps, screenshot, webview, withWorkbench } from './harness';

const python = process.env.PYTHON || '/usr/bin/python3';
/** Enough scenes that Cancel lands mid-run at the engine's speed on 2 busy cores. */
const COUNT = 300;
const PROMPTS = ['circle=every circle', 'square=the square'];

interface Manifest { id: string; images: Record<string, { state: string; objects?: number }> }
interface StoreFile { annotations: { id: number; category_id: number; segmentation: unknown; pixel_sail: { job?: string; status: string } }[] }

function manifests(root: string): Manifest[] {
  const dir = path.join(root, '.pixel-sail', 'jobs');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'))) : [];
}

/** Every image's objects (segmentation, category, status) with the run-specific job id and ids left out. */
function storesOf(root: string): Record<string, unknown[]> {
  const dir = path.join(root, '.pixel-sail', 'annotations');
  const out: Record<string, unknown[]> = {};
  for (const f of (fs.readdirSync(dir, { recursive: true }) as string[]).filter((x) => x.endsWith('.json')).sort()) {
    const data = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as StoreFile;
    out[f] = data.annotations.map((a) => ({ category: a.category_id, segmentation: a.segmentation, status: a.pixel_sail.status }));
  }
  return out;
}

async function main(): Promise<number> {
  let result: [number, number] = [0, 1];
  const scenes = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-batch-ui-'));
  const gen = spawnSync(python, ['training/generate.py', '--split', 'test', '--seed', '77', '--count', String(COUNT), '--size', '128', '--out', scenes, '--quiet'], { cwd: repoRoot, encoding: 'utf8' });
  if (gen.status !== 0) throw new Error(`generating scenes failed: ${gen.stderr}`);
  fs.rmSync(path.join(scenes, 'ground_truth.json'));
  // The shipped model with its decoders cut short, as a damaged download would leave it.
  const broken = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-batch-ui-broken-model-'));
  fs.cpSync(path.join(repoRoot, 'models', 'default'), broken, { recursive: true });
  for (const f of fs.readdirSync(broken).filter((x) => x.startsWith('decoder') && x.endsWith('.onnx'))) fs.truncateSync(path.join(broken, f), 1000);
  await withWorkbench(
    (dir) => {
      fs.cpSync(scenes, path.join(dir, 'dataset'), { recursive: true });
      // A folder a user might pick by mistake: notes, no images.
      fs.mkdirSync(path.join(dir, 'notes'));
      fs.writeFileSync(path.join(dir, 'notes', 'readme.txt'), 'labelling guide');
    },
    async ({ workspace, page }: { workspace: string; page: Page }) => {
      const notification = (text: string | RegExp) => page.locator('.notification-toast', { hasText: text });
      // Menu items of the development extension appear once the window has scanned it; a click while
      // the menu re-renders can be lost, and a user simply tries again.
      const folderMenu = (item: string, opens: () => Locator) =>
        eventually(`"${item}" in the dataset folder's context menu`, async () => {
          await page.getByRole('treeitem', { name: 'dataset', exact: true }).click({ button: 'right' });
          const entry = page.getByRole('menuitem', { name: item });
          if (await entry.waitFor({ timeout: 5000 }).then(() => true, () => false)) {
            await entry.click();
            const opened = (ms: number) => opens().waitFor({ timeout: ms }).then(() => true, () => false);
            // A click lost on a menu that is still settling leaves the item highlighted: Enter chooses it. Only
            // then: a menu still closing after a click that worked would let Enter answer the pick it opened.
            if (await opened(3000)) return true;
            if (await entry.isVisible().catch(() => false)) await page.keyboard.press('Enter');
            if (await opened(10000)) return true;
          }
          await screenshot(page, `batch-retry-menu`).catch(() => {});
          await page.keyboard.press('Escape');
          return false;
        }, 120000);
      const quickInput = () => page.locator('.quick-input-widget');
      // An input box's field is a textbox; a quick pick's (and the simple save dialog's) a combobox.
      const quickField = () => quickInput().getByRole('textbox').or(quickInput().getByRole('combobox')).first();
      const job = () => manifests(workspace)[0];
      const states = () => Object.values(job()?.images ?? {}).map((i) => i.state);

      result = await runSteps('Pixel-SAIL batch annotation, driven as a user would', [
        ['Annotate Folder with Pixel-SAIL… on a folder without images says so at once, asks nothing and starts no job', async () => {
          const warning = notification(/notes has no images to annotate; choose the folder that holds them \(png, jpg, jpeg, webp, tif, tiff, gif, in it or its subfolders/);
          await eventually('"Annotate Folder with Pixel-SAIL…" in the notes folder\'s context menu', async () => {
            await page.getByRole('treeitem', { name: 'notes', exact: true }).click({ button: 'right', timeout: 180000 });
            const entry = page.getByRole('menuitem', { name: 'Annotate Folder with Pixel-SAIL…' });
            if (await entry.waitFor({ timeout: 5000 }).then(() => true, () => false)) {
              await entry.click();
              if (await entry.isVisible().catch(() => false)) await page.keyboard.press('Enter');
              if (await warning.or(quickField()).first().waitFor({ timeout: 10000 }).then(() => true, () => false)) return true;
            }
            await page.keyboard.press('Escape');
            return false;
          }, 240000);
          await eventually('the warning', () => warning.isVisible(), 30000);
          assert.equal(await quickInput().isVisible(), false, 'no categories are asked for');
          assert.equal(manifests(workspace).length, 0, 'no job was made');
          // The toast slides in from the bottom: the screenshot waits until it is wholly on screen.
          await eventually('the warning wholly on screen', async () => {
            const box = await warning.boundingBox();
            return !!box && box.y + box.height <= (page.viewportSize()?.height ?? 0);
          }, 10000);
          await screenshot(page, 'batch-00-no-images');
          await warning.hover();
          await warning.getByRole('button', { name: /Clear Notification/ }).first().click({ timeout: 5000 }).catch(() => {});
        }],
        ['right-click the folder → Annotate Folder with Pixel-SAIL… asks for the categories and the policy, then shows progress', async () => {
          await folderMenu('Annotate Folder with Pixel-SAIL…', quickField);
          const input = quickField();
          await input.waitFor({ timeout: 10000 });
          await input.pressSequentially(PROMPTS.join('; '));
          await input.press('Enter');
          await quickInput().getByRole('option', { name: /Add beside existing objects/ }).click();
          const progress = notification('annotating 300 images');
          await eventually('progress with count, rate and time left', async () => /\d+\/300 · [\d.]+ images\/s · ~\d+ s left/.test((await progress.textContent({ timeout: 1000 })) ?? ''), 120000);
          await screenshot(page, 'batch-01-progress');
        }],
        ['Cancel in the notification stops the job mid-run and says how to resume', async () => {
          await notification('annotating 300 images').getByRole('button', { name: 'Cancel' }).click();
          await eventually('the cancelled message', () => notification(/Cancelled; run the command on the folder again to resume/).isVisible(), 60000);
          const s = states();
          const done = s.filter((x) => x === 'done').length;
          assert.ok(done > 0 && done < COUNT, `the job stopped mid-run (${done} of ${COUNT} done)`);
          assert.equal(s.filter((x) => x === 'pending').length, COUNT - done);
          await screenshot(page, 'batch-02-cancelled');
        }],
        ['with a damaged model in the settings, Resume It stops the job with one error naming the file, which stays on screen and opens the settings, and nothing is lost', async () => {
          const manifestFile = path.join(workspace, '.pixel-sail', 'jobs', `${job().id}.json`);
          const manifestText = fs.readFileSync(manifestFile, 'utf8');
          const stores = storesOf(workspace);
          const settings = path.join(workspace, '.vscode', 'settings.json');
          fs.mkdirSync(path.dirname(settings), { recursive: true });
          fs.writeFileSync(settings, JSON.stringify({ 'pixelSail.modelPath': broken }));
          // The engine reloads on the setting's change and fails: the status bar item turns to an error.
          const engineFailed = page.locator('.statusbar-item.error-kind', { hasText: 'Pixel-SAIL' });
          await eventually('the engine to fail on the damaged model', () => engineFailed.isVisible(), 120000);
          const dialog = page.getByRole('dialog').filter({ hasText: 'unfinished job' });
          await folderMenu('Annotate Folder with Pixel-SAIL…', () => dialog);
          await dialog.getByRole('button', { name: 'Resume It' }).click();
          const stopped = notification(/the job stopped, as the engine could not start/);
          await eventually('the one error', () => stopped.isVisible(), 120000);
          const text = (await stopped.textContent()) ?? '';
          assert.match(text, /the engine could not start: onnxruntime cannot load decoder(\.int8)?\.onnx in .*ps-batch-ui-broken-model-.*run the command on the folder again to resume/, text);
          const done = Object.values(JSON.parse(manifestText).images as Manifest['images']).filter((i) => i.state === 'done').length;
          assert.match(text, new RegExp(`${done} of 300 images are done`));
          // A user away from the screen during a long job still finds it: VS Code hides an error without
          // actions after 20 s, so the error offers its fixes and stays. The pointer is kept off it meanwhile.
          await page.mouse.move(5, 5);
          await page.waitForTimeout(22000);
          assert.ok(await stopped.isVisible(), 'the error is still on screen after 22 s');
          for (const action of ['Open Settings', 'Show Output']) assert.ok(await stopped.getByRole('button', { name: action }).isVisible(), action);
          // Expanded, as a user reads a long message (collapsed it shows its first line).
          await stopped.hover();
          await stopped.getByRole('button', { name: /Expand/ }).click({ timeout: 5000 }).catch(() => {});
          await eventually('the whole message', async () => ((await stopped.boundingBox())?.height ?? 0) > 60);
          await screenshot(page, 'batch-02b-engine-stopped');
          assert.equal(await notification(/could not start/).count(), 1, 'one error for the job');
          assert.equal(await notification(/failed \(see the Pixel-SAIL output\)/).count(), 0, 'no image failed with it');
          assert.equal(fs.readFileSync(manifestFile, 'utf8'), manifestText, 'the manifest is as the cancel left it');
          assert.deepEqual(storesOf(workspace), stores, 'every store file as it was');
          // Open Settings shows the extension's settings, the model path among them; the error is answered.
          await stopped.getByRole('button', { name: 'Open Settings' }).click();
          await eventually('the Model Path setting', () => page.locator('.settings-editor .setting-item-label', { hasText: 'Model Path' }).first().isVisible(), 30000);
          await screenshot(page, 'batch-02c-open-settings');
          await eventually('the error to close once answered', async () => (await stopped.count()) === 0, 10000);
          await command(page, 'View: Close Editor');
          // The cause fixed: the setting goes, the engine loads the shipped model again.
          fs.writeFileSync(settings, '{}');
          await eventually('the engine to load the shipped model again', async () => !(await engineFailed.isVisible()), 120000);
        }],
        ['the same command again offers to resume the unfinished job, and Resume It finishes it', async () => {
          const id = job().id;
          const dialog = page.getByRole('dialog').filter({ hasText: 'unfinished job' });
          await folderMenu('Annotate Folder with Pixel-SAIL…', () => dialog);
          await eventually('the resume question', async () => /unfinished job \(circle, square; \d+ images left\)/.test((await dialog.textContent({ timeout: 1000 })) ?? ''));
          await screenshot(page, 'batch-03-resume-question');
          await dialog.getByRole('button', { name: 'Resume It' }).click();
          await eventually('the job to end', async () => states().every((x) => x === 'done'), 300000);
          // The resumed job's own summary, not the cancelled run's (which says the same words, then Cancelled).
          await eventually('the summary', () => notification(/Pixel-SAIL: \d+ images, \d+ objects? proposed, 0 skipped\.(?! Cancelled)/).isVisible(), 30000);
          await screenshot(page, 'batch-03b-resumed-summary');
          assert.equal(manifests(workspace).length, 1, 'resumed, not a second job');
          assert.equal(job().id, id);
        }],
        ['the resumed job left exactly what an uninterrupted run leaves (CLI on a copy)', async () => {
          const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-batch-ui-ref-'));
          fs.cpSync(scenes, path.join(copy, 'dataset'), { recursive: true });
          execFileSync(process.execPath, [path.join(repoRoot, 'dist/cli.js'), 'annotate', copy, ...PROMPTS.flatMap((p) => ['--prompt', p]), '--policy', 'add'], { stdio: 'ignore' });
          const ui = storesOf(workspace);
          assert.equal(Object.keys(ui).length, COUNT, 'every image has its store file');
          assert.deepEqual(ui, storesOf(copy), 'nothing lost, nothing doubled');
          fs.rmSync(copy, { recursive: true, force: true });
        }],
        ['review: open an image with two proposals, accept one, reject the other, save; Next unreviewed goes on', async () => {
          const storeFile = (f: string) => path.join(workspace, '.pixel-sail', 'annotations', 'dataset', 'images', `${f}.json`);
          const read = (f: string) => JSON.parse(fs.readFileSync(storeFile(f), 'utf8')) as StoreFile;
          // The Explorer lists the first images without scrolling; take the first of them with two proposals.
          const files = fs.readdirSync(path.join(workspace, 'dataset', 'images')).sort().slice(0, 15);
          const target = files.find((f) => read(f).annotations.length === 2);
          assert.ok(target, 'one of the first images has two proposals');
          const [keep, drop] = read(target).annotations;
          const categories = JSON.parse(fs.readFileSync(path.join(workspace, '.pixel-sail', 'categories.json'), 'utf8')).categories as { id: number; name: string }[];
          const objectName = (a: StoreFile['annotations'][number]) => `#${a.id} ${categories.find((c) => c.id === a.category_id)!.name} · proposed`;
          for (const folder of ['dataset', 'images']) {
            const item = page.getByRole('treeitem', { name: folder, exact: true });
            if ((await item.getAttribute('aria-expanded')) !== 'true') await item.click();
          }
          const editor = webview(page);
          await openFromExplorer(page, target, async () => ((await editor.locator('#status').textContent({ timeout: 1000 })) ?? '').includes(target));
          const progress = editor.getByRole('region', { name: 'Review' });
          await eventually('the review progress', async () => /\d+ of 300 images reviewed · 2 proposals on this image/.test((await progress.textContent()) ?? ''));
          await editor.getByRole('button', { name: objectName(keep), exact: true }).click();
          await editor.getByRole('button', { name: 'Accept proposal', exact: true }).click();
          await eventually('one proposal left', async () => /· 1 proposal on this image/.test((await progress.textContent()) ?? ''));
          await editor.getByRole('button', { name: objectName(drop), exact: true }).click();
          await editor.getByRole('button', { name: 'Reject proposal', exact: true }).click();
          await eventually('the image reviewed', async () => /this image is reviewed/.test((await progress.textContent()) ?? ''));
          await screenshot(page, 'batch-04-reviewed');
          await editor.locator('canvas').first().click({ position: { x: 4, y: 4 } });
          await page.keyboard.press('Control+S');
          await eventually('the saved review', async () => JSON.stringify(read(target).annotations.map((a) => [a.id, a.pixel_sail.status])) === JSON.stringify([[keep.id, 'accepted']]));
          const before = ((await editor.locator('#status').textContent()) ?? '');
          await editor.getByRole('button', { name: 'Next unreviewed', exact: true }).click();
          const next = files.concat(fs.readdirSync(path.join(workspace, 'dataset', 'images')).sort()).find((f) => f > target && read(f).annotations.some((a) => a.pixel_sail.status === 'proposed'));
          await eventually(`the next image to review (${next})`, async () => {
            const status = (await webview(page).locator('#status').textContent({ timeout: 1000 })) ?? '';
            return status !== before && status.includes(next!);
          }, 60000);
          // The new editor can paint its status before the workbench has closed the old tab (the close is a
          // second round trip after the open), so the tab's closing is awaited, not sampled.
          await eventually('the reviewed image\'s tab to close', async () => (await page.getByRole('tab', { name: new RegExp(target.replace('.', '\\.')) }).count()) === 0, 30000);
          await screenshot(page, 'batch-05-next-unreviewed');
        }],
        ['Export COCO JSON… from the folder writes every image and every proposal', async () => {
          const out = path.join(workspace, 'dataset.coco.json');
          await folderMenu('Export COCO JSON…', quickField);
          await quickInput().getByRole('option', { name: /Polygons/ }).click();
          await quickInput().getByRole('option', { name: /Accepted and proposed objects/ }).click();
          // code-server's simple save dialog is a quick input holding the path: by default the dataset root's
          // dataset.coco.json, beside the folder its file_names start with. OK takes it as offered.
          await eventually('the save dialog', async () => ((await quickField().inputValue()) ?? '').endsWith('.coco.json'));
          assert.equal(await quickField().inputValue(), out, 'offered in the dataset root, named after the folder');
          // The simple dialog checks a typed path as it changes; OK is pressed once it shows the path, and
          // again if the dialog is still open (a press while it was still checking can be ignored).
          await eventually('the save dialog to take the path', async () => {
            if (fs.existsSync(out) || !(await quickInput().isVisible())) return true;
            if ((await quickField().inputValue().catch(() => '')) !== out) return false;
            await quickInput().getByRole('button', { name: 'OK' }).click({ timeout: 5000 }).catch(() => {});
            return false;
          }, 60000);
          const coco = await eventually('the export file', async () => fs.existsSync(out) && JSON.parse(fs.readFileSync(out, 'utf8')), 60000);
          const stores = Object.values(storesOf(workspace));
          assert.equal(coco.images.length, COUNT);
          assert.equal(coco.annotations.length, stores.reduce((n, s) => n + s.length, 0));
          assert.deepEqual(coco.categories.map((c: { name: string }) => c.name), ['circle', 'square']);
          for (const a of coco.annotations) assert.ok(Array.isArray(a.segmentation) && a.segmentation.length > 0, 'polygons');
          for (const i of coco.images) assert.ok(fs.existsSync(path.join(path.dirname(out), i.file_name)), `${i.file_name} from the export's folder`);
          await screenshot(page, 'batch-06-exported');
        }],
      ], () => screenshot(page, 'batch-failure').then(() => undefined));
    },
  );
  fs.rmSync(scenes, { recursive: true, force: true });
  fs.rmSync(broken, { recursive: true, force: true });
  console.log(`${result[0]} passed, ${result[1]} failed`);
  return result[1] === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (e) => {
  console.error(e);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
