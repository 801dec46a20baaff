// Harness for UI tests that drive a real VS Code as a person would: code-server 4.100.3 (VS Code 1.100.3)
// serves the workbench with this extension loaded as an extension development host, and Debian's
// chromium opens it through playwright-core. Tests click, type and press keys on elements found by their
// accessible names; they never post messages into the extension. Each test is a list of steps that share
// one window; the first failing step stops the rest, which are reported as not run (failed).
import { spawn, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Browser, BrowserContext, chromium, FrameLocator, Locator, Page } from 'playwright-core';

export const repoRoot = path.resolve(__dirname, '../../..');
const cacheHome = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
const codeServerPath = process.env.CODE_SERVER || path.join(cacheHome, 'pixel-sail/code-server-4.100.3/node_modules/.bin/code-server');
const browserPath = process.env.CHROMIUM || '/usr/bin/chromium';
/** Screenshots land here (git-ignored: results/ is). */
export const screenshotDir = path.join(repoRoot, 'results', 'ui-screenshots');

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });

const waitHttp = (url: string, ms: number) =>
  new Promise<void>((resolve, reject) => {
    const t0 = Date.now();
    const attempt = () =>
      http
        .get(url, (r) => {
          r.resume();
          resolve();
        })
        .on('error', () => (Date.now() - t0 > ms ? reject(new Error('code-server did not start')) : setTimeout(attempt, 200)));
    attempt();
  });

export interface Workbench {
  /** The scratch workspace folder the window has open. */
  workspace: string;
  /** VS Code's user data folder (settings, workspace storage, extension backups). */
  userDataDir: string;
  context: BrowserContext;
  page: Page;
  /** Opens the same workspace in a new window (tab) of the same browser profile. */
  openWindow(): Promise<Page>;
  log: () => string;
}

export async function withWorkbench(setupWorkspace: (dir: string) => void, body: (wb: Workbench) => Promise<void>): Promise<void> {
  for (const [what, p] of [['code-server', codeServerPath], ['chromium', browserPath]]) {
    if (!fs.existsSync(p)) throw new Error(`${what} not found at ${p} (see README: scripts/setup.sh installs it)`);
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pixel-sail-ui-'));
  const workspace = path.join(tmp, 'workspace');
  fs.mkdirSync(workspace);
  setupWorkspace(workspace);
  fs.mkdirSync(path.join(tmp, 'user/User'), { recursive: true });
  fs.writeFileSync(
    path.join(tmp, 'user/User/settings.json'),
    JSON.stringify({
      'workbench.startupEditor': 'none',
      'telemetry.telemetryLevel': 'off',
      'extensions.autoUpdate': false,
      'extensions.autoCheckUpdates': false,
      'workbench.tips.enabled': false,
      'workbench.enableExperiments': false,
      'chat.commandCenter.enabled': false,
      // VS Code in a browser auto-saves after a delay by default; desktop VS Code does not. The tests
      // use the desktop default so that Ctrl+S and hot-exit backups are what they exercise.
      'files.autoSave': 'off',
    }),
  );
  const host = `127.0.0.1:${await freePort()}`;
  let log = '';
  const cs: ChildProcess = spawn(
    codeServerPath,
    ['--bind-addr', host, '--auth', 'none', '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
      '--user-data-dir', path.join(tmp, 'user'), '--extensions-dir', path.join(tmp, 'ext'), workspace],
    { env: { ...process.env, XDG_CONFIG_HOME: path.join(tmp, 'cfg') }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  cs.stdout!.on('data', (d) => (log = (log + d).slice(-20000)));
  cs.stderr!.on('data', (d) => (log = (log + d).slice(-20000)));
  let browser: Browser | undefined;
  try {
    await waitHttp(`http://${host}/healthz`, 30000);
    browser = await chromium.launch({
      executablePath: browserPath,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    const context = await browser.newContext({ viewport: { width: 1400, height: 860 } });
    // Only extensionDevelopmentPath: an interactive development host with this extension, as F5 gives.
    const payload = [['extensionDevelopmentPath', `vscode-remote://${host}${repoRoot}`], ['skipWelcome', 'true']];
    const url = `http://${host}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
    const openWindow = async () => {
      const page = await context.newPage();
      await page.goto(url);
      await page.locator('.monaco-workbench').waitFor({ timeout: 60000 });
      return page;
    };
    const page = await openWindow();
    await body({ workspace, userDataDir: path.join(tmp, 'user'), context, page, openWindow, log: () => log });
  } finally {
    if (browser) await browser.close().catch(() => {});
    try {
      process.kill(-cs.pid!, 'SIGTERM');
    } catch {
      // already gone
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** The content frame of the webview editor on screen (hidden editors keep their frames in the page). */
export function webview(page: Page): FrameLocator {
  return page.locator('iframe.webview.ready').filter({ visible: true }).last().contentFrame().frameLocator('#active-frame');
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(screenshotDir, { recursive: true });
  const file = path.join(screenshotDir, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

export async function eventually<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 30000): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The frames of the webviews on screen: the chat view's (it has the Message box) and the image editor's. */
/**
 * Types `text` into a text box as a person does: a webview that finishes loading (the editor, after a reload)
 * may take the keyboard focus while one types, so look at the box and type again if the text did not land.
 */
export async function typeInto(box: Locator, text: string): Promise<void> {
  await eventually(`"${text}" typed into the box`, async () => {
    await box.click();
    await box.fill('');
    await box.pressSequentially(text);
    return (await box.inputValue()) === text;
  }, 60000);
}

export async function webviewFrames(page: Page): Promise<{ chat?: FrameLocator; editor?: FrameLocator }> {
  const all = page.locator('iframe.webview.ready');
  const out: { chat?: FrameLocator; editor?: FrameLocator } = {};
  for (let i = 0; i < (await all.count()); i++) {
    const f = all.nth(i).contentFrame().frameLocator('#active-frame');
    if (await f.getByRole('textbox', { name: 'Message' }).count()) out.chat = f;
    else if (await all.nth(i).isVisible()) out.editor = f;
  }
  return out;
}

/** Opens the Pixel-SAIL Chat panel; under load the command can be lost while the extension starts, so a user runs it again. */
export function openChat(page: Page, timeoutMs = 120000): Promise<FrameLocator> {
  return eventually('the chat view', async () => {
    await command(page, 'Pixel-SAIL: Open Chat');
    return eventually('the chat view to show', async () => (await webviewFrames(page)).chat, 30000).catch(() => undefined);
  }, timeoutMs);
}

/** Runs a command by its title from the command palette (F1), retrying until the palette lists it. */
export async function command(page: Page, title: string) {
  await eventually(`the command "${title}"`, async () => {
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ timeout: 5000 });
    await input.fill(`>${title}`);
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
    if (!(await row.waitFor({ timeout: 5000 }).then(() => true, () => false))) {
      await page.keyboard.press('Escape');
      return false;
    }
    await page.keyboard.press('Enter');
    return true;
  }, 120000);
}

export type Step = [name: string, run: () => Promise<void>];

/** Runs steps in order; prints one line per step and returns [passed, failed]. */
export async function runSteps(title: string, steps: Step[], onFailure?: () => Promise<void>): Promise<[number, number]> {
  console.log(`\n  ${title}`);
  let passed = 0;
  for (let i = 0; i < steps.length; i++) {
    const [name, run] = steps[i];
    const t0 = Date.now();
    try {
      await run();
      passed++;
      console.log(`    ✔ ${name} (${Date.now() - t0} ms)`);
    } catch (e) {
      console.log(`    ✖ ${name}: ${(e as Error).stack ?? e}`);
      await onFailure?.().catch(() => {});
      for (const [rest] of steps.slice(i + 1)) console.log(`    - not run: ${rest}`);
      return [passed, steps.length - passed];
    }
  }
  return [passed, 0];
}

/**
 * Right-click `file` in the Explorer → **Segment with Prompt**, until `opened()` says its editor is on screen.
 * The development extension's menu items appear once a fresh window has scanned it, and a click while the
 * menu re-renders can be lost; a user then simply tries again, and so does this.
 */
export async function openFromExplorer(page: Page, file: string, opened: () => Promise<boolean>, timeoutMs = 240000): Promise<void> {
  await eventually(`"Segment with Prompt" on ${file} to open its editor`, async () => {
    await page.getByRole('treeitem', { name: file, exact: true }).click({ button: 'right' });
    const item = page.getByRole('menuitem', { name: 'Segment with Prompt' });
    if (await item.waitFor({ timeout: 5000 }).then(() => true, () => false)) {
      await item.click();
      const editorOpens = (ms: number) => eventually(`the editor of ${file}`, async () => (await opened()) || undefined, ms).then(() => true, () => false);
      // A click can reach a menu that is still settling and be lost while the item stays highlighted
      // (seen on a busy CI machine for minutes on end); Enter then chooses the highlighted item. Only then:
      // after a click that worked, an Enter while the menu closes would go to the editor it opened.
      if (await editorOpens(3000)) return true;
      if (await item.isVisible().catch(() => false)) await page.keyboard.press('Enter');
      if (await editorOpens(30000)) return true;
    }
    await screenshot(page, `retry-open-${file}`).catch(() => {});
    await page.keyboard.press('Escape');
    return false;
  }, timeoutMs);
}
