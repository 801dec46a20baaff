// The extension's settings, read in one place.
import * as vscode from 'vscode';
import { DEFAULT_MODEL_NAME } from '../engine/modelDir';

export function resolveModelPath(context: vscode.ExtensionContext): string {
  const configured = vscode.workspace.getConfiguration('pixelSail').get<string>('modelPath', '').trim();
  if (configured) return configured;
  return vscode.Uri.joinPath(context.extensionUri, 'models', DEFAULT_MODEL_NAME).fsPath;
}
