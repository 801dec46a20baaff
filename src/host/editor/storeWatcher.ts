// Follows the store files of an open document on disk. A change to the image's annotation file made by
// someone else (git pull, a script, another window) reloads the document when it has no unsaved edits,
// and asks when it has; our own saves are recognised by their text and ignored. A change to the root's
// categories.json is passed on so editors refresh their category list.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { AnnotationEditorDocument } from './annotationEditorDocument';

export function watchStoreFile(document: AnnotationEditorDocument, onCategoriesChanged: () => void): vscode.Disposable {
  const { annotationFile, categoriesFile } = document.paths;
  const watchers = [annotationFile, categoriesFile].map((file) =>
    vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(path.dirname(file)), path.basename(file))),
  );
  const [annotations, categories] = watchers;

  const onAnnotationFile = async () => {
    const text = await fs.promises.readFile(annotationFile, 'utf8').catch(() => undefined);
    if (text === document.lastStoreText) return;
    if (!document.dirty) {
      await document.load();
      return;
    }
    const reload = 'Reload from Disk';
    const keep = 'Keep My Edits';
    const choice = await vscode.window.showWarningMessage(
      `${path.basename(annotationFile)} changed on disk while ${path.basename(document.uri.fsPath)} has unsaved annotation edits.`,
      { modal: false },
      reload,
      keep,
    );
    if (choice === reload) {
      await document.load();
      // The tab is still marked dirty by VS Code; revert clears it and reloads the same file again.
      await vscode.commands.executeCommand('workbench.action.files.revert', document.uri);
    } else {
      // Keep ours: the next save writes over their version deliberately.
      document.lastStoreText = text;
    }
  };

  const subscriptions = [
    annotations.onDidChange(onAnnotationFile),
    annotations.onDidCreate(onAnnotationFile),
    annotations.onDidDelete(onAnnotationFile),
    categories.onDidChange(onCategoriesChanged),
    categories.onDidCreate(onCategoriesChanged),
  ];
  return vscode.Disposable.from(...subscriptions, ...watchers);
}
