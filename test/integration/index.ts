// extensionTestsPath entry of the integration suite (see test/support/runInHost.ts).
import * as path from 'node:path';
import { runMochaFiles } from '../support/runInHost';

export function run(): Promise<void> {
  return runMochaFiles([path.join(__dirname, 'extension.test.js')]);
}
