// Runs the integration suite inside a real VS Code extension host: code-server 4.100.3 (VS Code 1.100.3)
// serves the workbench, Debian's chromium opens it through playwright-core, and the tests go in through the
// URL payload (extensionDevelopmentPath / extensionTestsPath) — the way VS Code's own browser integration
// tests run against its server. The exit code is the suite's; the suite prints "N passed, N failed".
//   node scripts/run-vscode-tests.mjs [--tests out/test/integration/index.js] [--workspace test/fixtures/workspace]
//        [--dev EXTENSION_DIR] [--install FILE.vsix]
// --install puts a packaged extension into the run's fresh extensions directory with code-server's own
// `--install-extension` before the workbench starts; --dev names the development extension the test suite
// runs in (default: this repository).
import { chromium } from 'playwright-core';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import * as net from 'node:net';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const testsPath = path.resolve(root, arg('--tests', 'out/test/integration/index.js'));
const sourceWorkspace = path.resolve(root, arg('--workspace', 'test/fixtures/workspace'));
const devPath = path.resolve(root, arg('--dev', '.'));
const vsix = arg('--install') && path.resolve(process.cwd(), arg('--install'));
const cacheHome = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
const codeServer = process.env.CODE_SERVER || path.join(cacheHome, 'pixel-sail/code-server-4.100.3/node_modules/.bin/code-server');
const browserPath = process.env.CHROMIUM || '/usr/bin/chromium';
const timeoutMs = Number(process.env.TEST_TIMEOUT_MS || 300000);

const required = [['code-server', codeServer], ['chromium', browserPath], ['the built test suite', testsPath], ['the development extension', devPath]];
if (vsix) required.push(['the VSIX to install', vsix]);
for (const [what, p] of required) {
  if (!fs.existsSync(p)) {
    console.error(`run-vscode-tests: ${what} not found at ${p} (see README: .ci/run installs it)`);
    process.exit(2);
  }
}

const freePort = () => new Promise((resolve, reject) => {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  srv.on('error', reject);
});

const waitHttp = (url, ms) => new Promise((resolve, reject) => {
  const t0 = Date.now();
  const attempt = () => http.get(url, (r) => { r.resume(); resolve(); })
    .on('error', () => (Date.now() - t0 > ms ? reject(new Error('code-server did not start')) : setTimeout(attempt, 200)));
  attempt();
});

const t0 = Date.now();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pixel-sail-vscode-'));
// A scratch copy of the workspace, so tests may write into it freely.
const workspace = path.join(tmp, 'workspace');
fs.cpSync(sourceWorkspace, workspace, { recursive: true });
fs.mkdirSync(path.join(tmp, 'user/User'), { recursive: true });
fs.writeFileSync(path.join(tmp, 'user/User/settings.json'), JSON.stringify({
  'workbench.startupEditor': 'none', 'telemetry.telemetryLevel': 'off', 'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false, 'workbench.tips.enabled': false,
  // VS Code in a browser auto-saves a second after an edit by default; desktop VS Code does not. A test that
  // undoes an edit and then waits more than that second (a folder job starting its engines) found its unsaved
  // edit saved by the browser default, so the suite runs with the desktop default, as test/ui/harness.ts does.
  'files.autoSave': 'off',
}));
if (vsix) {
  const t = Date.now();
  const r = spawnSync(codeServer, ['--extensions-dir', path.join(tmp, 'ext'), '--user-data-dir', path.join(tmp, 'user'), '--install-extension', vsix],
    { env: { ...process.env, XDG_CONFIG_HOME: path.join(tmp, 'cfg') }, encoding: 'utf8' });
  console.log((r.stdout + r.stderr).trim());
  if (r.status !== 0) {
    console.error(`run-vscode-tests: installing ${vsix} failed (exit ${r.status})`);
    fs.rmSync(tmp, { recursive: true, force: true });
    process.exit(1);
  }
  console.log(`installed ${path.basename(vsix)} in ${Date.now() - t} ms`);
}
const host = `127.0.0.1:${await freePort()}`;
const cs = spawn(codeServer, ['--bind-addr', host, '--auth', 'none', '--disable-telemetry', '--disable-update-check',
  '--disable-workspace-trust', '--user-data-dir', path.join(tmp, 'user'), '--extensions-dir', path.join(tmp, 'ext'), workspace],
  { env: { ...process.env, XDG_CONFIG_HOME: path.join(tmp, 'cfg'), PIXEL_SAIL_TEST_WORKSPACE: workspace }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
let csLog = '';
cs.stdout.on('data', (d) => (csLog += d));
cs.stderr.on('data', (d) => (csLog += d));

let exitCode = 1;
let browser;
try {
  await waitHttp(`http://${host}/healthz`, 30000);
  browser = await chromium.launch({ executablePath: browserPath, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const done = new Promise((resolve) => page.exposeFunction('codeAutomationExit', (code) => resolve(code)));
  await page.exposeFunction('codeAutomationLog', (_type, args) => console.log(...(Array.isArray(args) ? args : [args])));
  const payload = [['extensionDevelopmentPath', `vscode-remote://${host}${devPath}`],
    ['extensionTestsPath', `vscode-remote://${host}${testsPath}`], ['skipWelcome', 'true']];
  await page.goto(`http://${host}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`);
  let timer;
  exitCode = await Promise.race([done, new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`tests did not finish within ${timeoutMs} ms`)), timeoutMs); })]);
  clearTimeout(timer);
  console.log(`extension host exited with code ${exitCode} after ${Date.now() - t0} ms`);
} catch (e) {
  console.error(`run-vscode-tests: ${e.message}`);
  console.error(csLog.slice(-3000));
  exitCode = 1;
} finally {
  if (browser) await browser.close().catch(() => {});
  try { process.kill(-cs.pid, 'SIGTERM'); } catch { /* already gone */ }
  fs.rmSync(tmp, { recursive: true, force: true });
}
process.exit(exitCode);
