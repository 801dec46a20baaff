import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ReadyInfo } from '../../src/engine/engineClient';
import type { PixelSailApi } from '../../src/host/extension';
import { AnnotationEditorDocument } from '../../src/host/editor/annotationEditorDocument';

const EXTENSION_ID = 'pixel-sail.pixel-sail';

describe('Pixel-SAIL extension in a real VS Code host', () => {
  it('activates', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, 'extension is installed in the development host');
    await ext.activate();
    assert.ok(ext.isActive);
    console.log(`vscode ${vscode.version} appHost ${vscode.env.appHost} node ${process.version}`);
  });

  it('contributes its commands', async () => {
    const commands = await vscode.commands.getCommands(true);
    for (const c of ['pixelSail.showModelInfo', 'pixelSail.segmentWithPrompt', 'pixelSail.exportCoco', 'pixelSail.importCoco', 'pixelSail.annotateFolder']) assert.ok(commands.includes(c), c);
  });

  it('runs Show Model Info, which forks the engine process and reports where the model runs', async () => {
    const info = (await vscode.commands.executeCommand('pixelSail.showModelInfo')) as ReadyInfo | undefined;
    assert.ok(info, 'the command returned model info');
    assert.equal(info.model.name, 'default');
    assert.notEqual(info.pid, process.pid, 'the engine runs in a child process');
    assert.equal(info.device.provider, 'cpu');
    assert.match(info.device.fallbackReason ?? '', /CUDA/, 'auto explains why it is not on CUDA');
    assert.equal(info.device.weights, 'int8', 'the shipped int8 decoder runs on the CPU by default');
    assert.match(info.device.weightsReason ?? '', /int8 decoder on the CPU/);
  });

  it('gets a mask back from the engine process forked by the extension', async () => {
    const api = vscode.extensions.getExtension<PixelSailApi>(EXTENSION_ID)!.exports;
    const folder = vscode.workspace.workspaceFolders![0];
    const image = vscode.Uri.joinPath(folder.uri, 'sample.png').fsPath;
    const answer = await api.engine().request({ kind: 'segment', image, text: 'the red box' });
    assert.equal(answer.masks.length, 1);
    const [h, w] = answer.masks[0].rle.size;
    assert.deepEqual([w, h], [80, 48], 'the mask has the original image size');
    assert.equal(typeof answer.masks[0].rle.counts, 'string');
    assert.equal(answer.device, 'cpu');
  });

  it('opens an image in the Pixel-SAIL editor from Segment with Prompt', async () => {
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, 'a workspace folder is open');
    const uri = vscode.Uri.joinPath(folder.uri, 'sample.png');
    await vscode.commands.executeCommand('pixelSail.segmentWithPrompt', uri);
    const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
    assert.ok(tab?.input instanceof vscode.TabInputCustom, 'a custom editor tab is active');
    assert.equal((tab.input as vscode.TabInputCustom).viewType, 'pixelSail.imageEditor');
  });

  it('an image whose hot-exit backup was never written opens with its saved annotations (no error)', async () => {
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, 'a workspace folder is open');
    const uri = vscode.Uri.joinPath(folder.uri, 'sample.png');
    const missing = vscode.Uri.joinPath(folder.uri, '.no-such-backup', 'backup-1').toString();
    const doc = await AnnotationEditorDocument.open(uri, missing);
    try {
      assert.equal(doc.problem, undefined);
      assert.equal(doc.state.image.file_name, 'sample.png');
    } finally {
      doc.dispose();
    }
  });

  it('Export COCO JSON writes the store of a folder as COCO, with the engine\'s mask', async () => {
    const api = vscode.extensions.getExtension<PixelSailApi>(EXTENSION_ID)!.exports;
    const folder = vscode.workspace.workspaceFolders![0];
    const root = folder.uri.fsPath;
    const image = path.join(root, 'sample.png');
    const answer = await api.engine().request({ kind: 'segment', image, text: 'the red box' });
    const mask = answer.masks[0];
    // the store an accepted object leaves behind (the editor's own tests cover how it gets there)
    fs.mkdirSync(path.join(root, '.pixel-sail/annotations'), { recursive: true });
    fs.writeFileSync(path.join(root, '.pixel-sail/categories.json'), JSON.stringify({ version: 1, next_id: 2, categories: [{ id: 1, name: 'box', color: '#e6194b' }] }));
    fs.writeFileSync(path.join(root, '.pixel-sail/annotations/sample.png.json'), JSON.stringify({ version: 1, image: { file_name: 'sample.png', width: 80, height: 48 },
      annotations: [{ id: 1, category_id: 1, segmentation: mask.rle, area: mask.area, bbox: mask.bbox, iscrowd: 0, pixel_sail: { origin: 'model', status: 'accepted', prompt: 'the red box' } }] }));
    const out = path.join(root, 'export.coco.json');
    const result = (await vscode.commands.executeCommand('pixelSail.exportCoco', folder.uri, { out, format: 'rle' })) as { images: number; annotations: number };
    assert.deepEqual([result.images, result.annotations], [1, 1]);
    const coco = JSON.parse(fs.readFileSync(out, 'utf8'));
    assert.deepEqual(coco.images, [{ id: 1, file_name: 'sample.png', width: 80, height: 48 }]);
    assert.deepEqual(coco.categories, [{ id: 1, name: 'box' }]);
    assert.deepEqual(coco.annotations[0].segmentation, mask.rle);
    assert.equal(coco.annotations[0].area, mask.area);
    assert.equal(coco.annotations[0].iscrowd, 0);
  });

  it('Import COCO JSON adds another tool\'s objects to the store, with a warning for each quirk', async () => {
    const folder = vscode.workspace.workspaceFolders![0];
    const root = folder.uri.fsPath;
    const file = path.join(root, 'labelme.coco.json');
    fs.writeFileSync(file, JSON.stringify({
      images: [{ id: 0, file_name: 'sample.png', width: 80, height: 48 }],
      categories: [{ id: 0, name: '_background_' }, { id: 1, name: 'box' }],
      annotations: [{ id: 0, image_id: 0, category_id: 1, segmentation: [[10, 10, 30, 10, 30, 20, 10, 20]], iscrowd: 0 }],
    }));
    const report = (await vscode.commands.executeCommand('pixelSail.importCoco', folder.uri, vscode.Uri.file(file))) as { added: number; warnings: string[] };
    assert.equal(report.added, 1);
    assert.ok(report.warnings.some((w) => /_background_/.test(w)) && report.warnings.some((w) => /ids start at 0/.test(w)), report.warnings.join('; '));
    const store = JSON.parse(fs.readFileSync(path.join(root, '.pixel-sail/annotations/sample.png.json'), 'utf8'));
    assert.deepEqual(store.annotations.at(-1).segmentation, [[10, 10, 30, 10, 30, 20, 10, 20]]);
    assert.deepEqual(store.annotations.at(-1).pixel_sail, { origin: 'human', status: 'accepted' });
  });

  it('Annotate Folder runs a job in the engine worker and writes proposals into the store', async () => {
    const folder = vscode.workspace.workspaceFolders![0];
    const root = folder.uri.fsPath;
    fs.mkdirSync(path.join(root, 'batch'), { recursive: true });
    for (const n of ['one', 'two', 'three']) fs.copyFileSync(path.join(root, 'sample.png'), path.join(root, 'batch', `${n}.png`));
    const sub = vscode.Uri.file(path.join(root, 'batch'));
    const result = (await vscode.commands.executeCommand('pixelSail.annotateFolder', sub, { prompts: ['box=the red box'] })) as { images: number; failed: unknown[]; job: string; cancelled: boolean };
    assert.equal(result.images, 3);
    assert.deepEqual(result.failed, []);
    assert.equal(result.cancelled, false);
    // the workspace folder is the dataset root, as for the editor; the job covers the chosen subfolder only
    const manifest = JSON.parse(fs.readFileSync(path.join(root, '.pixel-sail/jobs', `${result.job}.json`), 'utf8'));
    assert.deepEqual(Object.keys(manifest.images), ['batch/one.png', 'batch/three.png', 'batch/two.png']);
    assert.deepEqual(Object.values(manifest.images).map((i) => (i as { state: string }).state), ['done', 'done', 'done']);
    const store = JSON.parse(fs.readFileSync(path.join(root, '.pixel-sail/annotations/batch/one.png.json'), 'utf8'));
    assert.equal(store.image.file_name, 'batch/one.png');
    for (const a of store.annotations) assert.deepEqual([a.pixel_sail.origin, a.pixel_sail.status, a.pixel_sail.job], ['model', 'proposed', result.job]);
  });
  it('Annotate Folder puts the results for an open image into its document: undoable, and never over unsaved edits', async () => {
    const root = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const dir = path.join(root, 'open');
    fs.mkdirSync(dir, { recursive: true });
    for (const n of ['a', 'b']) fs.copyFileSync(path.join(root, 'sample.png'), path.join(dir, `${n}.png`));
    const image = vscode.Uri.file(path.join(dir, 'a.png'));
    const storeOf = (n: string) => JSON.parse(fs.readFileSync(path.join(root, `.pixel-sail/annotations/open/${n}.png.json`), 'utf8')) as { annotations: { id: number; pixel_sail: { job?: string } }[] };
    const jobsIn = (n: string) => storeOf(n).annotations.map((a) => a.pixel_sail.job);
    const tab = () => vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.input instanceof vscode.TabInputCustom && t.input.uri.fsPath === image.fsPath);
    const annotate = async () => (await vscode.commands.executeCommand('pixelSail.annotateFolder', vscode.Uri.file(dir), { prompts: ['box=the red box'], policy: 'add' })) as { job: string; objects: number };

    await vscode.commands.executeCommand('vscode.openWith', image, 'pixelSail.imageEditor');
    assert.ok(tab(), 'a.png is open in the Pixel-SAIL editor');
    const first = await annotate();
    assert.ok(first.objects >= 2, `the model proposed objects for both images (got ${first.objects})`);
    assert.equal(tab()!.isDirty, false, 'a clean document is saved with the job\'s result');
    const ofFirst = jobsIn('a').filter((j) => j === first.job).length;
    assert.ok(ofFirst > 0);

    // Undo takes the job's result back in the editor: the document now differs from the file.
    await vscode.commands.executeCommand('workbench.action.focusActiveEditorGroup');
    await vscode.commands.executeCommand('undo');
    assert.equal(tab()!.isDirty, true, 'undoing the job leaves an unsaved edit');

    const second = await annotate();
    assert.equal(tab()!.isDirty, true, 'the unsaved edit is kept: no reload from disk');
    assert.deepEqual(jobsIn('a').filter((j) => j === second.job).length, ofFirst, 'the file on disk got the second result too');
    assert.ok(jobsIn('a').includes(first.job), 'on disk, the first result is still there (the undo was never saved)');
    await vscode.workspace.save(image);
    assert.deepEqual(new Set(jobsIn('a')), new Set([second.job]), 'saving writes the editor\'s objects: the undone result stays undone, the second is kept');
    assert.deepEqual(new Set(jobsIn('b')), new Set([first.job, second.job]), 'a closed image gets both results in its file');
    const ids = storeOf('a').annotations.map((a) => a.id);
    assert.equal(new Set(ids).size, ids.length, 'ids are unique');
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });
});
