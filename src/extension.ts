// Extension entry point: registers the commands and the image editor.
import * as vscode from 'vscode';
import { registerShowModelInfo } from './commands/showModelInfo';
import { ImageEditorProvider } from './views/imageEditorProvider';
import { resolveModelPath } from './settings';

export function activate(context: vscode.ExtensionContext) {
  context.subscriptions.push(
    registerShowModelInfo(context),
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
  return { modelPath: () => resolveModelPath(context) };
}

export function deactivate() {}
