import * as vscode from 'vscode';
import { requestModelInfo, InfoResult } from '../engine/engineProcess';
import { resolveModelPath } from '../settings';

/** Pixel-SAIL: Show Model Info — asks the engine child process which model it loads. */
export function registerShowModelInfo(context: vscode.ExtensionContext): vscode.Disposable {
  return vscode.commands.registerCommand('pixelSail.showModelInfo', async (): Promise<InfoResult | undefined> => {
    const worker = vscode.Uri.joinPath(context.extensionUri, 'dist', 'worker.js').fsPath;
    try {
      const info = await requestModelInfo(worker, resolveModelPath(context));
      void vscode.window.showInformationMessage(`Pixel-SAIL model "${info.name}" (hidden size ${info.hidden}) loaded by engine process ${info.pid}.`);
      return info;
    } catch (e) {
      void vscode.window.showErrorMessage(`Pixel-SAIL: ${(e as Error).message}`);
      return undefined;
    }
  });
}
