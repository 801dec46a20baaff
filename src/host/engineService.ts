// One engine client per extension host, created on first use and rebuilt when the model or device
// settings change. From the first use on, the status bar says which model runs where with which weights
// and how long the last request took. Running on the CPU is the normal case and looks neutral; only when
// the user asked for CUDA and did not get it is the item a warning. Editors follow the engine's state
// (starting, ready, failed) through onDidChangeState to show a banner with Retry.
import * as os from 'node:os';
import * as vscode from 'vscode';
import { batchLanes, modelBytes } from '../annotations/batchLanes';
import type { TaskRunner } from '../annotations/batch';
import { EngineClient, EngineRequestError, ReadyInfo, RequestOptions } from '../engine/engineClient';
import type { DeviceSetting, EngineAnswer, EngineTask, WeightsSetting } from '../engine/types';
import type { EngineView } from '../editor/protocol';
import { maxInputSide, resolveModelPath } from './settings';

export class EngineService implements vscode.Disposable {
  private client?: EngineClient;
  private readonly status = vscode.window.createStatusBarItem('pixelSail.engine', vscode.StatusBarAlignment.Right, 100);
  private readonly disposables: vscode.Disposable[] = [];
  private readonly stateEmitter = new vscode.EventEmitter<EngineView>();
  private current: EngineView = { state: 'starting' };
  private readyInfo?: ReadyInfo;
  private lastMs?: number;
  readonly onDidChangeState = this.stateEmitter.event;

  constructor(private readonly context: vscode.ExtensionContext) {
    this.status.name = 'Pixel-SAIL engine';
    this.status.command = 'pixelSail.showModelInfo';
    this.disposables.push(
      this.stateEmitter,
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (['modelPath', 'device', 'weights', 'maxInputSide'].some((k) => e.affectsConfiguration(`pixelSail.${k}`))) {
          const wasStarted = !!this.client;
          this.reset();
          if (wasStarted) void this.warm();
        }
      }),
    );
  }

  get state(): EngineView {
    return this.current;
  }

  get model(): string | undefined {
    return this.readyInfo?.model.name;
  }

  /** The model's prompt templates, once the engine has started (starting it if needed). */
  async prompts(): Promise<{ caption: string; segment: string } | undefined> {
    const info = this.readyInfo ?? (await this.get().start());
    return info.model.prompts;
  }

  /** The worker's configuration as the settings say; threads unset lets onnxruntime use every core. */
  private workerOptions(threads?: number) {
    const cfg = vscode.workspace.getConfiguration('pixelSail');
    return {
      workerPath: vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'worker.js').fsPath,
      config: {
        modelPath: resolveModelPath(this.context),
        device: cfg.get<DeviceSetting>('device', 'auto'),
        weights: cfg.get<WeightsSetting>('weights', 'auto'),
        cacheBudgetMb: 512,
        maxImagePixels: 100_000_000,
        maxInputSide: maxInputSide(),
        ...(threads ? { threads } : {}),
      },
    };
  }

  /**
   * The engines a folder job runs on (src/annotations/batchLanes.ts decides how many): this service's own
   * engine at batch priority when one, else that many single-threaded engine processes of the job's own,
   * which `dispose` ends. `start` (and any request) rejects with EngineStartError when a model does not load,
   * which stops the job with one error (annotateFolder.ts).
   */
  batchEngines(): { runners: TaskRunner[]; count: number; start(): Promise<unknown>; dispose(): void } {
    const setting = vscode.workspace.getConfiguration('pixelSail').get<number>('batch.engines', 0);
    const n = batchLanes(setting, os.availableParallelism(), modelBytes(resolveModelPath(this.context)));
    if (n === 1) return { runners: [{ run: (task) => this.get().request(task, { priority: 'batch' }) }], count: 1, start: () => this.get().start(), dispose: () => undefined };
    const clients = Array.from({ length: n }, () => new EngineClient(this.workerOptions(1)));
    return {
      runners: clients.map((c) => ({ run: (task: EngineTask) => c.request(task) })), count: n,
      start: () => Promise.all(clients.map((c) => c.start())), dispose: () => clients.forEach((c) => c.dispose()),
    };
  }

  get(): EngineClient {
    if (!this.client) {
      const client = new EngineClient(this.workerOptions());
      client.on('ready', (info: ReadyInfo) => {
        this.readyInfo = info;
        this.setState({ state: 'ready', summary: `${info.model.name} on ${info.device.provider === 'cuda' ? 'CUDA' : 'CPU'}, ${info.device.weights}` });
        this.showStatus();
      });
      client.on('exit', (why: string, how?: 'replaced') => {
        // The client restarts the process for the requests it still holds, else with the next one; one it
        // replaced to end a cancelled request is loading again already.
        this.readyInfo = undefined;
        this.setState({ state: 'starting' });
        this.status.text = how === 'replaced' ? '$(loading~spin) Pixel-SAIL: restarting' : '$(debug-restart) Pixel-SAIL: stopped';
        this.status.tooltip = how === 'replaced'
          ? 'A request was cancelled (or timed out) while the engine was inside a model run, which cannot be interrupted, so the engine process was replaced; the model is loading again.'
          : `The engine process stopped (${why}); it starts again with the next request.`;
        this.status.backgroundColor = undefined;
      });
      this.client = client;
      this.setState({ state: 'starting' });
      this.status.text = '$(loading~spin) Pixel-SAIL';
      this.status.tooltip = 'Loading the model…';
      this.status.backgroundColor = undefined;
      this.status.show();
    }
    return this.client;
  }

  /** Starts the engine (loading the model) and reports a failure as state instead of throwing. */
  async warm(): Promise<void> {
    try {
      await this.get().start();
    } catch (e) {
      this.fail((e as Error).message);
    }
  }

  /** Drops a failed engine and starts a fresh one (the editor's Retry). */
  async retry(): Promise<void> {
    this.reset();
    await this.warm();
  }

  /** A request whose wall time (including the process hop) the status bar shows. */
  async request(task: EngineTask, options?: RequestOptions): Promise<EngineAnswer> {
    const t0 = Date.now();
    try {
      const answer = await this.get().request(task, options);
      this.lastMs = Date.now() - t0;
      this.showStatus();
      return answer;
    } catch (e) {
      // A start failure also rejects requests; the state tells editors to show the banner. A request
      // superseded or cancelled while the model loads says nothing about the engine.
      const cancelled = e instanceof EngineRequestError && (e.code === 'cancelled' || e.code === 'timeout');
      if (!this.readyInfo && !cancelled) this.fail((e as Error).message);
      throw e;
    }
  }

  private fail(message: string) {
    this.setState({ state: 'failed', message });
    this.status.text = '$(error) Pixel-SAIL';
    this.status.tooltip = `The engine could not start: ${message}`;
    this.status.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
    this.status.show();
  }

  private setState(state: EngineView) {
    this.current = state;
    this.stateEmitter.fire(state);
  }

  private showStatus() {
    const info = this.readyInfo;
    if (!info) return;
    const where = info.device.provider === 'cuda' ? 'CUDA' : 'CPU';
    // CPU is the normal case; a warning only when the user asked for CUDA and it is not what runs.
    const missedCuda = info.device.requested === 'cuda' && info.device.provider !== 'cuda';
    const latency = this.lastMs !== undefined ? ` · ${this.lastMs} ms` : '';
    const capped = info.model.inputSide < info.model.maxLongSide;
    this.status.text = `${missedCuda ? '$(warning)' : '$(chip)'} Pixel-SAIL: ${info.model.name} · ${where} · ${info.device.weights} · ${info.model.inputSide} px${latency}`;
    this.status.backgroundColor = missedCuda ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.status.tooltip = new vscode.MarkdownString(
      `**${info.model.name}** runs on **${where}** (setting: \`${info.device.requested}\`) with **${info.device.weights}** decoder weights` +
        (info.device.weightsReason ? ` (${info.device.weightsReason})` : '') +
        '.' +
        `\n\nImages are resized to at most **${info.model.inputSide} px** on the long side` +
        (capped ? ` (capped by \`pixelSail.maxInputSide\`; the model's own size is ${info.model.maxLongSide} px).` : ' (the model\'s own size).') +
        (info.device.fallbackReason ? `\n\nNot on CUDA because: ${info.device.fallbackReason}` : '') +
        (this.lastMs !== undefined ? `\n\nLast request: ${this.lastMs} ms.` : ''),
    );
    this.status.show();
  }

  reset() {
    this.client?.dispose();
    this.client = undefined;
    this.readyInfo = undefined;
  }

  dispose() {
    this.reset();
    this.status.dispose();
    this.disposables.forEach((d) => d.dispose());
  }
}
