// The image editor's first loop, in a real VS Code window, as a user does it: right-click a generated
// scene in the Explorer → Segment with Prompt → type an expression → Enter → Accept with a category →
// Ctrl+Z / Ctrl+Shift+Z → Ctrl+S, then an unsaved edit survives closing and reopening the window.
// The saved RLE is checked against the mask the engine gives the CLI for the same expression.
// Screenshots go to results/ui-screenshots/.
//   node out/test/ui/editor.ui.js        (after npm run build)
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FrameLocator, Page } from 'playwright-core';
import type { EngineAnswer } from '../../src/engine/types';
import { decodeRle, Rle } from '../../src/masks/rle';
import { eventually, repoRoot, runSteps, screenshot, webview, withWorkbench } from './harness';

const IMAGE = 'scenes/scene.png';
/** Expressions the shipped default model gets right on media/samples/scene.png. */
const FIRST = 'the green hexagon';
const SECOND = 'the yellow shape';
/** The model answers "No target" for this one (see the README). */
const NOTHING = 'the yellow hexagon';

function engineMask(image: string, text: string): Rle {
  const out = execFileSync(process.execPath, [path.join(repoRoot, 'dist/cli.js'), 'segment', image, '--text', text, '--json'], { encoding: 'utf8' });
  const answer = JSON.parse(out) as EngineAnswer;
  assert.equal(answer.masks.length, 1, `the engine finds "${text}"`);
  return answer.masks[0].rle;
}

/** The extension's hot-exit backups (JSON in the store format) in VS Code's workspace storage. */
function backups(userDataDir: string): { data: { annotations?: unknown[] }; mtimeMs: number }[] {
  const storage = path.join(userDataDir, 'User', 'workspaceStorage');
  if (!fs.existsSync(storage)) return [];
  return fs.readdirSync(storage).flatMap((ws) => {
    const dir = path.join(storage, ws, 'pixel-sail.pixel-sail');
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir).flatMap((f) => {
      try {
        const file = path.join(dir, f);
        return [{ data: JSON.parse(fs.readFileSync(file, 'utf8')), mtimeMs: fs.statSync(file).mtimeMs }];
      } catch {
        return []; // being written, or not a backup
      }
    });
  });
}

async function main(): Promise<number> {
  let result: [number, number] = [0, 1];
  await withWorkbench(
    (dir) => {
      fs.mkdirSync(path.join(dir, 'scenes'));
      fs.copyFileSync(path.join(repoRoot, 'media/samples/scene.png'), path.join(dir, IMAGE));

    },
    async ({ workspace, userDataDir, page: firstPage, openWindow }) => {
      let page: Page = firstPage;
      let editor: FrameLocator = webview(page);
      let lastEditAt = 0;
      const storeFile = path.join(workspace, '.pixel-sail', 'annotations', 'scenes', 'scene.png.json');
      const categoriesFile = path.join(workspace, '.pixel-sail', 'categories.json');
      const brokenStore = path.join(workspace, '.pixel-sail', 'annotations', 'scenes', 'broken.png.json');
      const objectButton = (name: string) => editor.getByRole('button', { name, exact: true });
      const dirtyTab = () => page.locator('.tabs-container .tab.active.dirty');
      const acceptButton = () => editor.getByRole('button', { name: 'Accept' });
      // A click on the image's top-left corner (background) puts the keyboard focus in the editor
      // without selecting anything.
      const focusImage = () => editor.locator('canvas').click({ position: { x: 4, y: 4 } });
      // The development extension's menu items appear once a fresh window has scanned it, and a click
      // while the menu re-renders can be lost; a user then simply tries again. An attempt counts once
      // the editor for that image is on screen.
      const openFromExplorer = (file: string) =>
        eventually(`"Segment with Prompt" on ${file} to open its editor`, async () => {
          await page.getByRole('treeitem', { name: file, exact: true }).click({ button: 'right' });
          const item = page.getByRole('menuitem', { name: 'Segment with Prompt' });
          if (await item.waitFor({ timeout: 5000 }).then(() => true, () => false)) {
            await item.click();
            const shown = await eventually(`the editor of ${file}`, async () => ((await editor.locator('#status').textContent({ timeout: 1000 })) ?? '').startsWith(`scenes/${file}`), 30000).then(() => true, () => false);
            if (shown) return true;
          }
          // What the window showed when this attempt did not open the editor, for whoever reads a failure.
          await screenshot(page, `retry-open-${file}`).catch(() => {});
          await page.keyboard.press('Escape');
          return false;
        }, 240000);
      const prompt = async (text: string) => {
        const box = editor.getByRole('textbox', { name: 'Prompt' });
        await box.click();
        await box.fill('');
        await box.pressSequentially(text);
        await box.press('Enter');
        await eventually('the candidate (Accept enabled)', () => acceptButton().isEnabled(), 60000);
      };

      result = await runSteps('Pixel-SAIL image editor, driven as a user would', [
        ['right-click the scene in the Explorer → Segment with Prompt opens the editor with the image', async () => {
          await page.getByRole('treeitem', { name: 'scenes' }).click();
          await openFromExplorer('scene.png');
          await eventually('the size label', async () => /512×512/.test((await editor.locator('#status').textContent()) ?? ''));
          await eventually('the status bar item', () => page.locator('.statusbar-item', { hasText: 'Pixel-SAIL' }).first().isVisible());
        }],
        [`typing "${FIRST}" into Prompt and Enter shows the candidate and the model's answer`, async () => {
          await prompt(FIRST);
          const answer = (await editor.locator('#answer').textContent()) ?? '';
          assert.match(answer, /^Sure\. \(\d+ px, \d+ ms\)$/);
          assert.equal(await editor.getByRole('button', { name: 'Reject' }).isEnabled(), true);
          // On the CPU with device auto (the normal case) the status bar item is neutral, not a warning.
          const status = page.locator('.statusbar-item', { hasText: 'Pixel-SAIL: default · CPU · int8' }).first();
          await eventually('the status bar item with the last latency', async () => /\d+ ms/.test((await status.textContent()) ?? ''));
          assert.equal(await status.locator('.codicon-warning').count(), 0, 'no warning on the CPU');
          await screenshot(page, '01-candidate');
        }],
        ['Accept with a new Category turns the candidate into an object and marks the tab dirty', async () => {
          const category = editor.getByRole('combobox', { name: 'Category' });
          await category.click();
          await category.pressSequentially('hexagon');
          await acceptButton().click();
          await objectButton('#1 hexagon').waitFor({ timeout: 10000 });
          assert.equal(await acceptButton().isEnabled(), false, 'the candidate is gone');
          await eventually('the dirty tab', async () => (await dirtyTab().count()) === 1);
          await screenshot(page, '02-accepted');
        }],
        ['Ctrl+Z removes the object and Ctrl+Shift+Z brings it back', async () => {
          await focusImage();
          await page.keyboard.press('Control+z');
          await objectButton('#1 hexagon').waitFor({ state: 'detached', timeout: 10000 });
          await editor.getByText('None yet').waitFor();
          await eventually('the clean tab after undoing the only edit', async () => (await dirtyTab().count()) === 0);
          await screenshot(page, '03-undone');
          await page.keyboard.press('Control+Shift+z');
          await objectButton('#1 hexagon').waitFor({ timeout: 10000 });
          await eventually('the dirty tab after redo', async () => (await dirtyTab().count()) === 1);
        }],
        ['Ctrl+S writes the store file, whose RLE decodes to exactly the engine\'s mask for the expression', async () => {
          assert.equal(fs.existsSync(storeFile), false, 'nothing is written before the user saves');
          await focusImage();
          await page.keyboard.press('Control+s');
          await eventually('the store file', async () => fs.existsSync(storeFile));
          await eventually('the clean tab after saving', async () => (await dirtyTab().count()) === 0);
          const saved = JSON.parse(fs.readFileSync(storeFile, 'utf8'));
          assert.equal(saved.version, 1);
          assert.deepEqual(saved.image, { file_name: IMAGE, width: 512, height: 512 });
          assert.equal(saved.annotations.length, 1);
          const [a] = saved.annotations;
          assert.equal(a.id, 1);
          assert.equal(a.category_id, 1);
          assert.equal(a.iscrowd, 0);
          assert.deepEqual(a.pixel_sail, { origin: 'model', status: 'accepted', prompt: FIRST, model: 'default' });
          const expected = engineMask(path.join(workspace, IMAGE), FIRST);
          const ours = decodeRle(a.segmentation);
          const theirs = decodeRle(expected);
          assert.equal(ours.length, 512 * 512);
          assert.ok(ours.every((v, i) => v === theirs[i]), 'the saved mask is the engine\'s mask, pixel for pixel');
          assert.equal(a.area, theirs.reduce((s: number, v: number) => s + v, 0));
          const categories = JSON.parse(fs.readFileSync(categoriesFile, 'utf8'));
          assert.deepEqual(categories.categories.map((c: { id: number; name: string }) => [c.id, c.name]), [[1, 'hexagon']]);
        }],
        [`a prompt the model finds nothing for ("${NOTHING}") says "No target" and offers nothing to accept`, async () => {
          const box = editor.getByRole('textbox', { name: 'Prompt' });
          await box.click();
          await box.fill('');
          await box.pressSequentially(NOTHING);
          await box.press('Enter');
          await eventually('"No target"', async () => (await editor.locator('#answer').textContent()) === 'No target', 60000);
          assert.equal(await acceptButton().isEnabled(), false);
          await box.press('Escape');
          assert.equal(await box.inputValue(), '', 'Escape clears the prompt');
        }],
        [`a second prompt ("${SECOND}") shows its candidate beside the accepted object`, async () => {
          await prompt(SECOND);
          await objectButton('#1 hexagon').waitFor();
          await screenshot(page, '04-accepted-and-candidate');
        }],
        ['key 1 accepts the candidate as the first category; selecting the object shows its category, origin and prompt', async () => {
          await focusImage();
          await page.keyboard.press('1');
          await objectButton('#2 hexagon').click({ timeout: 10000 });
          const info = (await editor.getByRole('region', { name: 'Selected object' }).textContent()) ?? '';
          assert.match(info, /Category\s*hexagon/);
          assert.match(info, /Origin\s*model/);
          assert.match(info, new RegExp(`Prompt\\s*“${SECOND}”`));
          await screenshot(page, '05-selected');
        }],
        ['a new name in Category + Enter changes the selected object\'s category; Ctrl+Z changes it back', async () => {
          const category = editor.getByRole('combobox', { name: 'Category' });
          await category.fill('');
          await category.pressSequentially('circle');
          await category.press('Enter');
          await objectButton('#2 circle').waitFor({ timeout: 10000 });
          assert.match((await editor.getByRole('list', { name: 'Categories' }).textContent()) ?? '', /1 hexagon\s*2 circle/);
          await focusImage();
          await page.keyboard.press('Control+z');
          await objectButton('#2 hexagon').waitFor({ timeout: 10000 });
          await objectButton('#2 hexagon').click();
        }],
        ['Delete removes the selected object and Ctrl+Z restores it', async () => {
          await page.keyboard.press('Delete');
          await objectButton('#2 hexagon').waitFor({ state: 'detached', timeout: 10000 });
          await focusImage();
          await page.keyboard.press('Control+z');
          await objectButton('#2 hexagon').waitFor({ timeout: 10000 });
          lastEditAt = Date.now();
        }],
        ['closing the window with the unsaved object and reopening it restores the object from the backup; Ctrl+S then saves it', async () => {
          await eventually('the dirty tab', async () => (await dirtyTab().count()) === 1);
          // VS Code backs a dirty editor up about a second after its last change, and a browser window
          // records which backup belongs to which editor when it saves its state: every 5 s while its
          // document has the focus, and on unload only if the browser lets the write finish (headless
          // chromium often does not).
          // So wait for the backup of the last edit (the store format, in VS Code's workspace storage),
          // then for the next state saves, as a person who pauses before closing the tab would.
          await eventually('the hot-exit backup of the last edit', async () => backups(userDataDir).some((b) => b.data.annotations?.length === 2 && b.mtimeMs > lastEditAt), 60000);
          // The window saves its state only while its own document has the focus, which a focused
          // webview (a frame of another origin) takes away: click the editor's tab, as one does before
          // closing, and give it two state-save periods.
          await page.locator('.tabs-container .tab.active').click();
          await new Promise((r) => setTimeout(r, 10000));
          // Close the tab as a person does, with the page's unload handlers (VS Code saves its window
          // state there); a "Leave site?" prompt, should one come, is answered with Leave.
          const closed = page.waitForEvent('close', { timeout: 30000 });
          await page.close({ runBeforeUnload: true });
          await closed;
          page = await openWindow();
          editor = webview(page);
          await objectButton('#2 hexagon').waitFor({ timeout: 60000 });
          await objectButton('#1 hexagon').waitFor();
          await eventually('the restored editor to be dirty', async () => (await dirtyTab().count()) === 1);
          assert.equal(JSON.parse(fs.readFileSync(storeFile, 'utf8')).annotations.length, 1, 'the unsaved object is not in the store file');
          await screenshot(page, '06-restored');
          await focusImage();
          await page.keyboard.press('Control+s');
          await eventually('the restored object in the store file', async () => JSON.parse(fs.readFileSync(storeFile, 'utf8')).annotations.length === 2);
          await eventually('the clean tab after saving', async () => (await dirtyTab().count()) === 0);
        }],
        ['a change to the store file on disk (a pull, a script) reloads the editor', async () => {
          const saved = JSON.parse(fs.readFileSync(storeFile, 'utf8'));
          fs.writeFileSync(storeFile, JSON.stringify({ ...saved, annotations: saved.annotations.slice(0, 1) }, null, 2));
          await objectButton('#2 hexagon').waitFor({ state: 'detached', timeout: 30000 });
          await objectButton('#1 hexagon').waitFor();
          assert.equal(await dirtyTab().count(), 0);
        }],
        ['with unsaved edits, a change on disk asks first; Reload from Disk takes the file and clears the dirty mark', async () => {
          await objectButton('#1 hexagon').click();
          await page.keyboard.press('Delete');
          await objectButton('#1 hexagon').waitFor({ state: 'detached', timeout: 10000 });
          await eventually('the dirty tab', async () => (await dirtyTab().count()) === 1);
          const saved = JSON.parse(fs.readFileSync(storeFile, 'utf8'));
          fs.writeFileSync(storeFile, JSON.stringify({ ...saved, annotations: [...saved.annotations, { ...saved.annotations[0], id: 7 }] }, null, 2));
          await page.getByRole('button', { name: 'Reload from Disk' }).click({ timeout: 30000 });
          await objectButton('#7 hexagon').waitFor({ timeout: 10000 });
          await objectButton('#1 hexagon').waitFor();
          await eventually('the clean tab after reloading', async () => (await dirtyTab().count()) === 0);
        }],
        ['a broken store file opens with a banner naming its JSON path, and nothing can be accepted into it', async () => {
          // A second image whose store file a script broke: one bbox width is a string.
          fs.copyFileSync(path.join(repoRoot, 'media/samples/scene.png'), path.join(workspace, 'scenes/broken.png'));
          fs.writeFileSync(brokenStore, JSON.stringify({
            version: 1,
            image: { file_name: 'scenes/broken.png', width: 512, height: 512 },
            annotations: [{ id: 1, category_id: 1, segmentation: [[0, 0, 10, 0, 10, 10]], area: 50, bbox: [0, 0, 'ten', 10], iscrowd: 0, pixel_sail: { origin: 'human', status: 'accepted' } }],
          }, null, 2));
          const before = fs.readFileSync(brokenStore, 'utf8');
          await page.getByRole('treeitem', { name: 'broken.png' }).waitFor({ timeout: 30000 });
          await openFromExplorer('broken.png');
          const banner = editor.getByRole('alert');
          await eventually('the banner', async () => /\$\.annotations\[0\]\.bbox\[2\]/.test((await banner.textContent()) ?? ''));
          assert.match((await banner.textContent()) ?? '', /will not save over the file/);
          const box = editor.getByRole('textbox', { name: 'Prompt' });
          await box.click();
          await box.pressSequentially(FIRST);
          await box.press('Enter');
          await eventually('the candidate', async () => /^Sure\./.test((await editor.locator('#answer').textContent()) ?? ''), 60000);
          assert.equal(await editor.getByRole('button', { name: 'Accept' }).isEnabled(), false, 'Accept stays off');
          await screenshot(page, '07-broken-store');
          assert.equal(fs.readFileSync(brokenStore, 'utf8'), before, 'the broken file is untouched');
        }],
        ['an engine that cannot load its model shows a banner with Retry; Retry after the folder is fixed brings it back', async () => {
          const modelDir = path.join(workspace, '..', 'model-being-copied');
          fs.mkdirSync(modelDir);
          fs.mkdirSync(path.join(workspace, '.vscode'), { recursive: true });
          fs.writeFileSync(path.join(workspace, '.vscode', 'settings.json'), JSON.stringify({ 'pixelSail.modelPath': modelDir }));
          const retry = editor.getByRole('button', { name: 'Retry' });
          await retry.waitFor({ timeout: 60000 });
          assert.match((await editor.getByRole('alert').textContent()) ?? '', /could not start: .*config\.json/);
          await screenshot(page, '08-engine-failed');
          fs.cpSync(path.join(repoRoot, 'models', 'default'), modelDir, { recursive: true });
          await retry.click();
          await retry.waitFor({ state: 'hidden', timeout: 60000 });
          await eventually('the engine to be ready again', async () => /default on CPU/.test((await editor.locator('#status').textContent()) ?? ''), 60000);
        }],
      ], () => screenshot(page, 'failure').then(() => undefined));
    },
  );
  console.log(`${result[0]} passed, ${result[1]} failed`);
  return result[1] === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`editor UI test: ${(e as Error).stack ?? e}`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  },
);
