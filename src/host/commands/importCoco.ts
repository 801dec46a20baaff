// Pixel-SAIL: Import COCO JSON — objects from another tool's COCO file into a dataset folder's store. Open
// editors of the affected images reload the changed store files themselves (see editor/storeWatcher.ts).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { importCoco, ImportReport } from '../../annotations/cocoImport';

export function registerImportCoco(output: vscode.OutputChannel): vscode.Disposable {
  return vscode.commands.registerCommand('pixelSail.importCoco', async (folder?: vscode.Uri, file?: vscode.Uri): Promise<ImportReport | undefined> => {
    const root = folder?.fsPath ?? (await vscode.window.showWorkspaceFolderPick({ placeHolder: 'Import into the store of which folder?' }))?.uri.fsPath;
    if (!root) return undefined;
    const source = file ?? (await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'COCO JSON': ['json'] }, title: 'Import COCO JSON', defaultUri: vscode.Uri.file(root) }))?.[0];
    if (!source) return undefined;
    try {
      const report = await importCoco(source.fsPath, root);
      for (const w of report.warnings) output.appendLine(`import ${path.basename(source.fsPath)}: ${w}`);
      const warned = report.warnings.length ? ` ${report.warnings.length} warning${report.warnings.length > 1 ? 's' : ''} about what was changed are in the Pixel-SAIL output.` : '';
      const shown = vscode.window.showInformationMessage(`Pixel-SAIL: ${report.added} objects added to ${report.images} images (${report.duplicates} already there).${warned}`, ...(warned ? ['Show Warnings'] : []));
      void shown.then((a) => { if (a) output.show(); });
      return report;
    } catch (e) {
      void vscode.window.showErrorMessage(`Pixel-SAIL: nothing was imported: ${(e as Error).message}`);
      if (file) throw e;
      return undefined;
    }
  });
}
