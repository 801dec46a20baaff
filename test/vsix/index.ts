// extensionTestsPath entry for the packaged-extension suite: it runs in the host of an empty harness
// extension (test/fixtures/vsix-harness), while Pixel-SAIL comes from the VSIX that
// scripts/run-vscode-tests.mjs --install put into the extensions directory.
import * as path from 'node:path';

export function run(): Promise<void> {
  // mocha 12 is ESM-only; from CommonJS require() returns its namespace.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const m = require('mocha');
  const Mocha = m.default || m.Mocha || m;
  const mocha = new Mocha({ ui: 'bdd', timeout: 60000, color: false, reporter: 'spec' });
  mocha.addFile(path.join(__dirname, 'installedExtension.test.js'));
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures: number) => {
      console.log(`${runner.stats.passes} passed, ${runner.stats.failures} failed`);
      if (failures) reject(new Error(`${failures} tests failed.`));
      else resolve();
    });
  });
}
