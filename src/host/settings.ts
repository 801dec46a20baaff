// The extension's settings, read in one place.
import * as vscode from 'vscode';
import { DEFAULT_MODEL_NAME } from '../engine/modelDir';

/** pixelSail.maxInputSide: a positive cap on the model's input side, or undefined for the model's own size. */
export function maxInputSide(): number | undefined {
  const v = vscode.workspace.getConfiguration('pixelSail').get<number>('maxInputSide', 0);
  return typeof v === 'number' && Number.isInteger(v) && v >= 16 ? v : undefined;
}

export function resolveModelPath(context: vscode.ExtensionContext): string {
  const configured = vscode.workspace.getConfiguration('pixelSail').get<string>('modelPath', '').trim();
  if (configured) return configured;
  return vscode.Uri.joinPath(context.extensionUri, 'models', DEFAULT_MODEL_NAME).fsPath;
}
