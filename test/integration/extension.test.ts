import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { ReadyInfo } from '../../src/engine/engineClient';
import type { PixelSailApi } from '../../src/host/extension';

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
    for (const c of ['pixelSail.showModelInfo', 'pixelSail.segmentWithPrompt']) assert.ok(commands.includes(c), c);
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
});
