// extensionTestsPath entry for the packaged-extension suite: it runs in the host of an empty harness
// extension (test/fixtures/vsix-harness), while Pixel-SAIL comes from the VSIX that
// scripts/run-vscode-tests.mjs --install put into the extensions directory.
import * as path from 'node:path';
import { runMochaFiles } from '../support/runInHost';

export function run(): Promise<void> {
  return runMochaFiles([path.join(__dirname, 'installedExtension.test.js')]);
}
