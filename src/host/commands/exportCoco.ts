// Pixel-SAIL: Export COCO JSON — from the Explorer's context menu on a folder, or the palette. Exports what
// the store holds on disk; unsaved edits in open editors are offered a save first, so nothing a user sees
// is silently missing from the file. Callers (tests, other extensions) may pass the choices as an argument.
import * as path from 'node:path';
import * as vscode from 'vscode';
import writeFileAtomic from 'write-file-atomic';
import { defaultExportFile, exportCoco, ExportOptions } from '../../annotations/cocoExport';
import { folderInStore, StoreFormatError } from '../../annotations/store';
import { ImageEditorProvider } from '../editor/imageEditorProvider';
import { count } from '../../words';

export interface ExportCommandArgs extends ExportOptions {
  /** Where to write; asked with a save dialog when absent. */
  out?: string;
}

export interface ExportCommandResult {
  out: string;
  images: number;
  annotations: number;
  skipped: string[];
}

async function pickRoot(uri?: vscode.Uri): Promise<string | undefined> {
  if (uri) return uri.fsPath;  // a folder; its dataset root is found below
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length === 1) return folders[0].uri.fsPath;
  if (folders.length === 0) {
    void vscode.window.showErrorMessage('Pixel-SAIL: open the folder of your dataset first; the export reads its annotation store.');
    return undefined;
  }
  return (await vscode.window.showWorkspaceFolderPick({ placeHolder: 'Export the annotations of which folder?' }))?.uri.fsPath;
}

async function pickOptions(): Promise<ExportOptions | undefined> {
  const format = await vscode.window.showQuickPick(
    [
      { label: 'Polygons', description: 'what detectron2, mmdetection and ultralytics train on', value: 'polygon' as const },
      { label: 'RLE', description: 'exact masks (COCO run-length encoding)', value: 'rle' as const },
    ],
    { title: 'Export COCO JSON (1/2)', placeHolder: 'How should masks be written?' },
  );
  if (!format) return undefined;
  const status = await vscode.window.showQuickPick(
    [
      { label: 'Accepted objects', description: 'what a person has reviewed', value: 'accepted' as const },
      { label: 'Accepted and proposed objects', description: 'model proposals not yet reviewed too', value: 'all' as const },
    ],
    { title: 'Export COCO JSON (2/2)', placeHolder: 'Which objects?' },
  );
  return status && { format: format.value, status: status.value };
}

/** Pixel-SAIL editors with unsaved edits for images under `root`. */
function dirtyEditorsUnder(root: string): vscode.Tab[] {
  return vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) =>
    t.isDirty && t.input instanceof vscode.TabInputCustom && t.input.viewType === ImageEditorProvider.viewType &&
    !path.relative(root, t.input.uri.fsPath).startsWith('..'));
}

/** Said when the file is not beside the dataset root: its image paths are relative to the root, not to it. */
function imagesFrom(root: string, out: string): string {
  return path.resolve(path.dirname(out)) === path.resolve(root) ? '' : ` (its image paths are relative to ${root})`;
}

export function registerExportCoco(output: vscode.OutputChannel): vscode.Disposable {
  return vscode.commands.registerCommand('pixelSail.exportCoco', async (uri?: vscode.Uri, givenArg?: unknown): Promise<ExportCommandResult | undefined> => {
    // From the Explorer the second argument is the list of selected items, not the export's options.
    const given = givenArg && typeof givenArg === 'object' && !Array.isArray(givenArg) ? (givenArg as ExportCommandArgs) : undefined;
    const folder = await pickRoot(uri);
    if (!folder) return undefined;
    // The store belongs to the dataset root (the workspace folder holding the folder), as the editor's does;
    // a subfolder exports its own images only.
    const { root, under } = folderInStore(folder, (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath));
    const dirty = dirtyEditorsUnder(folder);
    if (dirty.length && !given) {
      const choice = await vscode.window.showWarningMessage(
        `${dirty.length} image${dirty.length > 1 ? 's have' : ' has'} unsaved annotations; the export reads what is saved.`,
        { modal: true }, 'Save All and Export', 'Export Saved State');
      if (!choice) return undefined;
      if (choice === 'Save All and Export') await vscode.workspace.saveAll(false);
    }
    const picked = given ?? (await pickOptions());
    if (!picked) return undefined;
    const options: ExportOptions = { ...picked, ...(under ? { under } : {}) };
    let out = given?.out;
    if (!out) {
      const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(defaultExportFile(root, under)), filters: { 'COCO JSON': ['json'] }, title: 'Export COCO JSON' });
      if (!target) return undefined;
      out = target.fsPath;
    }
    try {
      const { coco, skipped } = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Pixel-SAIL: exporting COCO JSON…' },
        () => exportCoco(root, options),
      );
      await writeFileAtomic(out, JSON.stringify(coco) + '\n');
      for (const s of skipped) output.appendLine(`export: left out ${s}`);
      const note = skipped.length ? ` ${skipped.length} object${skipped.length > 1 ? 's were' : ' was'} left out (see the Pixel-SAIL output).` : '';
      void vscode.window.showInformationMessage(`Pixel-SAIL: exported ${count(coco.images.length, 'image')} and ${count(coco.annotations.length, 'annotation')} to ${path.basename(out)}${imagesFrom(root, out)}.${note}`, 'Open').then((a) => {
        if (a === 'Open') void vscode.window.showTextDocument(vscode.Uri.file(out!));
      });
      return { out, images: coco.images.length, annotations: coco.annotations.length, skipped };
    } catch (e) {
      const message = `Pixel-SAIL: the export stopped: ${(e as Error).message}`;
      if (e instanceof StoreFormatError) {
        void vscode.window.showErrorMessage(message, 'Open File').then((a) => { if (a) void vscode.window.showTextDocument(vscode.Uri.file(e.file)); });
      } else {
        void vscode.window.showErrorMessage(message);
      }
      if (given) throw e;
      return undefined;
    }
  });
}
