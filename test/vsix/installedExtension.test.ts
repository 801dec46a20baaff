// The extension as a user gets it: installed from the VSIX into a fresh extensions directory, not loaded
// from the repository. Proves the packaged layout works on its own — the worker bundle, the native
// modules (onnxruntime-node, sharp) and the default model resolved from the installed folder.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ReadyInfo } from '../../src/engine/engineClient';
import type { PixelSailApi } from '../../src/host/extension';

const EXTENSION_ID = 'pixel-sail.pixel-sail';

function installed(): vscode.Extension<PixelSailApi> {
  const ext = vscode.extensions.getExtension<PixelSailApi>(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is installed`);
  return ext;
}

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.relative(dir, path.join(d.parentPath, d.name)));
}

describe('Pixel-SAIL installed from its VSIX', () => {
  it('is the installed copy, not the development folder', async () => {
    const ext = installed();
    const version = (ext.packageJSON as { version: string }).version;
    // code-server names the folder <id>-<version> in the extensions directory the runner made for this run
    assert.equal(path.basename(ext.extensionPath), `${EXTENSION_ID}-${version}`, ext.extensionPath);
    assert.equal(path.basename(path.dirname(ext.extensionPath)), 'ext', ext.extensionPath);
    assert.ok(!fs.existsSync(path.join(ext.extensionPath, '.git')), 'not the repository');
    assert.equal(ext.extensionKind, vscode.ExtensionKind.Workspace);
    await ext.activate();
    assert.ok(ext.isActive);
  });

  it('carries only what runs', () => {
    const files = filesUnder(installed().extensionPath);
    for (const needed of ['dist/extension.js', 'dist/worker.js', 'dist/cli.js', 'bin/pixel-sail.js', 'media/icon.png',
      'models/default/config.json', 'models/default/decoder.int8.onnx', 'models/default/tokenizer.json',
      'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node']) {
      assert.ok(files.includes(needed), `${needed} is packaged`);
    }
    const unwanted = files.filter((f) => /^(src|training|test|bench|scripts|webview-ui)\//.test(f) || f.startsWith('models/default/parity/') ||
      f.startsWith('models/tiny-random/') || /napi-v6\/(win32|darwin|linux\/arm64)\//.test(f) || /providers_(cuda|tensorrt)/.test(f) ||
      /sharp-(?!linux-x64|libvips-linux-x64)[a-z0-9-]+\//.test(f) || f.endsWith('.map') || f.endsWith('.ts'));
    assert.deepEqual(unwanted, [], 'nothing but runtime files');
  });

  it('Show Model Info starts the engine from the installed folder and reports the model and device', async () => {
    const ext = installed();
    const info = (await vscode.commands.executeCommand('pixelSail.showModelInfo')) as ReadyInfo | undefined;
    assert.ok(info, 'the command returned model info');
    assert.equal(info.model.name, 'default');
    assert.equal(path.resolve(info.model.dir), path.join(ext.extensionPath, 'models', 'default'));
    assert.notEqual(info.pid, process.pid, 'the engine runs in a child process');
    assert.equal(info.device.provider, 'cpu');
    assert.match(info.device.fallbackReason ?? '', /CUDA/, 'auto says why it is not on CUDA');
    assert.equal(info.device.weights, 'int8');
  });

  it('returns a mask for a segment request', async () => {
    const folder = vscode.workspace.workspaceFolders?.[0];
    assert.ok(folder, 'a workspace folder is open');
    const image = vscode.Uri.joinPath(folder.uri, 'sample.png').fsPath;
    const answer = await installed().exports.engine().request({ kind: 'segment', image, text: 'the red box' });
    assert.equal(answer.masks.length, 1, `one mask (answer: ${answer.answer})`);
    assert.deepEqual(answer.masks[0].rle.size, [48, 80], 'the mask has the image size (rows, columns)');
    assert.ok(answer.masks[0].area > 0, 'the mask is not empty');
  });
});
