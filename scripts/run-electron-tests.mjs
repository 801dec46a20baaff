// The same integration suite under a desktop VS Code, for machines that have one (or can download one):
// @vscode/test-electron launches it with extensionDevelopmentPath / extensionTestsPath.
// Offline machines use scripts/run-vscode-tests.mjs (code-server + chromium) instead.
//   VSCODE_EXECUTABLE=/path/to/code node scripts/run-electron-tests.mjs
import { runTests } from '@vscode/test-electron';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
try {
  await runTests({
    extensionDevelopmentPath: root,
    extensionTestsPath: path.join(root, 'out/test/integration/index.js'),
    launchArgs: [path.join(root, 'test/fixtures/workspace'), '--disable-extensions'],
    ...(process.env.VSCODE_EXECUTABLE ? { vscodeExecutablePath: process.env.VSCODE_EXECUTABLE } : {}),
  });
} catch (e) {
  console.error(`run-electron-tests: ${e.message ?? e}`);
  process.exit(1);
}
