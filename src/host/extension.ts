// Extension entry point: registers the commands, the image editor and the engine service. Everything that
// imports `vscode` lives under src/host/; the rest of src/ runs (and is tested) on plain Node.
import * as vscode from 'vscode';
import type { EngineClient } from '../engine/engineClient';
import { registerAnnotateFolder } from './commands/annotateFolder';
import { registerExportCoco } from './commands/exportCoco';
import { registerImportCoco } from './commands/importCoco';
import { registerShowModelInfo } from './commands/showModelInfo';
import { ImageEditorProvider } from './editor/imageEditorProvider';
import { EngineService } from './engineService';
import { ChatController } from './chat/chatController';
import { ChatViewProvider } from './chat/chatView';

export interface PixelSailApi {
  /** The engine client (used by tests and by other extensions that want masks). */
  engine(): EngineClient;
  /** The chat about the active image; the image editor wires canvas regions and highlights through it. */
  chat(): ChatController;
}

export function activate(context: vscode.ExtensionContext): PixelSailApi {
  const engine = new EngineService(context);
  const output = vscode.window.createOutputChannel('Pixel-SAIL');
  const editors = ImageEditorProvider.register(context, engine, output);
  let chat: ChatController | undefined;
  const chatView = new ChatViewProvider(context.extensionUri, () => chat!, output);
  chat = new ChatController(
    { documentFor: (u) => editors.provider.documentFor(u), perform: (d, e) => editors.provider.perform(d, e), categoriesChanged: (r) => editors.provider.categoriesChangedAt(r), onDidChangeDocuments: editors.provider.onDidChangeDocuments, viewType: ImageEditorProvider.viewType },
    engine,
    (file) => chatView.asWebviewUri(file),
  );
  editors.provider.chat = chat;
  context.subscriptions.push(
    engine,
    output,
    registerShowModelInfo(engine),
    registerExportCoco(output),
    registerImportCoco(output),
    registerAnnotateFolder(context, engine, output, editors.provider.jobStore),
    editors.disposable,
    chat,
    chatView,
    vscode.window.registerWebviewViewProvider(ChatViewProvider.viewId, chatView, { webviewOptions: { retainContextWhenHidden: true } }),
    vscode.commands.registerCommand('pixelSail.openChat', () => vscode.commands.executeCommand(`${ChatViewProvider.viewId}.focus`)),
    vscode.commands.registerCommand('pixelSail.segmentWithPrompt', (uri?: vscode.Uri) => {
      const target = uri ?? vscode.window.activeTextEditor?.document.uri;
      if (!target) {
        void vscode.window.showErrorMessage('Pixel-SAIL: choose an image in the Explorer first.');
        return;
      }
      return vscode.commands.executeCommand('vscode.openWith', target, ImageEditorProvider.viewType);
    }),
  );
  return { engine: () => engine.get(), chat: () => chat! };
}

export function deactivate() {}
