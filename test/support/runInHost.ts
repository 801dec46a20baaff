// The extensionTestsPath entry shared by the suites that run inside a VS Code host: the same run() contract
// as @vscode/test-electron (so they also run under a desktop VS Code), printing the plain
// "N passed, N failed" line the test driver reads.
export function runMochaFiles(files: string[]): Promise<void> {
  // mocha 12 is ESM-only; from CommonJS require() returns its namespace.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const m = require('mocha');
  const Mocha = m.default || m.Mocha || m;
  const mocha = new Mocha({ ui: 'bdd', timeout: 60000, color: false, reporter: 'spec' });
  for (const f of files) mocha.addFile(f);
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures: number) => {
      console.log(`${runner.stats.passes} passed, ${runner.stats.failures} failed`);
      if (failures) reject(new Error(`${failures} tests failed.`));
      else resolve();
    });
  });
}
