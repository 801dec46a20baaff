// One engine client per extension host, created on first use and rebuilt when the model or device
// settings change. The status bar always shows where the model runs, and why when it fell back.
import * as vscode from 'vscode';
import { EngineClient, ReadyInfo } from './engine/engineClient';
import type { DeviceSetting, WeightsSetting } from './engine/protocol';
import { resolveModelPath } from './settings';

export class EngineService implements vscode.Disposable {
  private client?: EngineClient;
  private readonly status = vscode.window.createStatusBarItem('pixelSail.engine', vscode.StatusBarAlignment.Right, 100);
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly context: vscode.ExtensionContext) {
    this.status.name = 'Pixel-SAIL engine';
    this.status.command = 'pixelSail.showModelInfo';
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('pixelSail.modelPath') || e.affectsConfiguration('pixelSail.device') || e.affectsConfiguration('pixelSail.weights')) this.reset();
      }),
    );
  }

  get(): EngineClient {
    if (!this.client) {
      const cfg = vscode.workspace.getConfiguration('pixelSail');
      const client = new EngineClient({
        workerPath: vscode.Uri.joinPath(this.context.extensionUri, 'dist', 'worker.js').fsPath,
        config: {
          modelPath: resolveModelPath(this.context),
          device: cfg.get<DeviceSetting>('device', 'auto'),
          weights: cfg.get<WeightsSetting>('weights', 'auto'),
          cacheBudgetMb: 512,
          maxImagePixels: 100_000_000,
        },
      });
      client.on('ready', (info: ReadyInfo) => this.showReady(info));
      client.on('exit', (why: string) => {
        this.status.text = '$(warning) Pixel-SAIL: restarting';
        this.status.tooltip = `The engine process stopped (${why}) and is being restarted.`;
      });
      this.client = client;
      this.status.text = '$(loading~spin) Pixel-SAIL';
      this.status.tooltip = 'Loading the model…';
      this.status.show();
    }
    return this.client;
  }

  private showReady(info: ReadyInfo) {
    const where = info.device.provider === 'cuda' ? 'CUDA' : 'CPU';
    this.status.text = `${info.device.fallbackReason ? '$(warning) ' : '$(chip) '}Pixel-SAIL: ${where} ${info.device.weights}`;
    this.status.tooltip = new vscode.MarkdownString(
      `**${info.model.name}** runs on **${where}** (setting: \`${info.device.requested}\`) with **${info.device.weights}** decoder weights` +
        (info.device.weightsReason ? ` (${info.device.weightsReason})` : '') +
        '.' +
        (info.device.fallbackReason ? `\n\nNot on CUDA because: ${info.device.fallbackReason}` : ''),
    );
    this.status.show();
  }

  reset() {
    this.client?.dispose();
    this.client = undefined;
  }

  dispose() {
    this.reset();
    this.status.dispose();
    this.disposables.forEach((d) => d.dispose());
  }
}
