// Pixel-SAIL: Import COCO JSON — objects from another tool's COCO file into a dataset folder's store. Open
// editors of the affected images reload the changed store files themselves (see editor/storeWatcher.ts).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { importCoco, ImportReport } from '../../annotations/cocoImport';
import { folderInStore } from '../../annotations/store';
import { count } from '../../words';

export function registerImportCoco(output: vscode.OutputChannel): vscode.Disposable {
  return vscode.commands.registerCommand('pixelSail.importCoco', async (folder?: vscode.Uri, fileArg?: unknown): Promise<ImportReport | undefined> => {
    // From the Explorer the second argument is the list of selected items, not a file to import.
    const file = fileArg instanceof vscode.Uri ? fileArg : undefined;
    const workspaceFolders = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
    const target = folder?.fsPath ?? (workspaceFolders.length === 1 ? workspaceFolders[0]
      : (await vscode.window.showWorkspaceFolderPick({ placeHolder: 'Import into the store of which folder?' }))?.uri.fsPath);
    if (!target) return undefined;
    // The store is the dataset root's; the file's image paths are taken as relative to the chosen folder.
    const { root, under } = folderInStore(target, workspaceFolders);
    const source = file ?? (await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'COCO JSON': ['json'] }, title: 'Import COCO JSON', defaultUri: vscode.Uri.file(target) }))?.[0];
    if (!source) return undefined;
    try {
      const report = await importCoco(source.fsPath, root, under);
      for (const w of report.warnings) output.appendLine(`import ${path.basename(source.fsPath)}: ${w}`);
      const warned = report.warnings.length ? ` ${report.warnings.length} warning${report.warnings.length > 1 ? 's' : ''} about what was changed are in the Pixel-SAIL output.` : '';
      const shown = vscode.window.showInformationMessage(`Pixel-SAIL: ${count(report.added, 'object')} added to ${count(report.images, 'image')} (${report.duplicates} already there).${warned}`, ...(warned ? ['Show Warnings'] : []));
      void shown.then((a) => { if (a) output.show(); });
      return report;
    } catch (e) {
      void vscode.window.showErrorMessage(`Pixel-SAIL: nothing was imported: ${(e as Error).message}`);
      if (file) throw e;
      return undefined;
    }
  });
}
