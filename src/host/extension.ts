// Extension entry point: registers the commands, the image editor and the engine service.
import * as vscode from 'vscode';
import { registerShowModelInfo } from './commands/showModelInfo';
import { EngineService } from './engineService';
import { ImageEditorProvider } from './views/imageEditorProvider';

export interface PixelSailApi {
  /** The engine client (used by tests and by other extensions that want masks). */
  engine(): import('./engine/engineClient').EngineClient;
}

export function activate(context: vscode.ExtensionContext): PixelSailApi {
  const engine = new EngineService(context);
  context.subscriptions.push(
    engine,
    registerShowModelInfo(engine),
    ImageEditorProvider.register(context),
    vscode.commands.registerCommand('pixelSail.segmentWithPrompt', (uri?: vscode.Uri) => {
      const target = uri ?? vscode.window.activeTextEditor?.document.uri;
      if (!target) {
        void vscode.window.showErrorMessage('Pixel-SAIL: choose an image in the Explorer first.');
        return;
      }
      return vscode.commands.executeCommand('vscode.openWith', target, ImageEditorProvider.viewType);
    }),
  );
  return { engine: () => engine.get() };
}

export function deactivate() {}
