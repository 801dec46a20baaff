import * as vscode from 'vscode';
import type { ReadyInfo } from '../../engine/engineClient';
import type { EngineService } from '../engineService';

/** Pixel-SAIL: Show Model Info — starts the engine process if needed and says which model runs where. */
export function registerShowModelInfo(engine: EngineService): vscode.Disposable {
  return vscode.commands.registerCommand('pixelSail.showModelInfo', async (): Promise<ReadyInfo | undefined> => {
    try {
      const info = await engine.get().start();
      const where = info.device.provider === 'cuda' ? 'CUDA' : 'CPU';
      const why = info.device.fallbackReason ? ` Not on CUDA: ${info.device.fallbackReason}` : '';
      void vscode.window.showInformationMessage(`Pixel-SAIL model "${info.model.name}" runs on ${where} with ${info.device.weights} decoder weights in engine process ${info.pid}.${why}`);
      return info;
    } catch (e) {
      void vscode.window.showErrorMessage(`Pixel-SAIL: ${(e as Error).message}`);
      return undefined;
    }
  });
}
