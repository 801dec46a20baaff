// The image annotator: a CustomEditorProvider over AnnotationEditorDocument. Every change to the objects
// is one AnnotationEdit reported through onDidChangeCustomDocument, so undo/redo, the dirty mark, save,
// revert and hot-exit backup are VS Code's own. Each open panel gets an EditorSession (editorSession.ts)
// that talks to its webview.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { AnnotationEdit, describeEdit, EditConflictError } from '../../annotations/document';
import { storePaths } from '../../annotations/store';
import type { EngineService } from '../engineService';
import { AnnotationEditorDocument } from './annotationEditorDocument';
import { EditorSession } from './editorSession';
import { watchStoreFile } from './storeWatcher';

export class ImageEditorProvider implements vscode.CustomEditorProvider<AnnotationEditorDocument> {
  static readonly viewType = 'pixelSail.imageEditor';

  private readonly edits = new vscode.EventEmitter<vscode.CustomDocumentEditEvent<AnnotationEditorDocument>>();
  readonly onDidChangeCustomDocument = this.edits.event;
  /** Fires with a dataset root whose categories.json changed, so every editor under it refreshes. */
  private readonly categoriesChanged = new vscode.EventEmitter<string>();
  /** Open image documents by URI, for the chat view (src/host/chat/), which edits them like the editor does. */
  private readonly documents = new Map<string, AnnotationEditorDocument>();
  private readonly documentsChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeDocuments = this.documentsChanged.event;
  readonly viewType = ImageEditorProvider.viewType;

  static register(context: vscode.ExtensionContext, engine: EngineService): { provider: ImageEditorProvider; disposable: vscode.Disposable } {
    const provider = new ImageEditorProvider(context, engine);
    const disposable = vscode.Disposable.from(
      provider.edits,
      provider.categoriesChanged,
      provider.documentsChanged,
      vscode.window.registerCustomEditorProvider(ImageEditorProvider.viewType, provider, {
        webviewOptions: { retainContextWhenHidden: true },
        supportsMultipleEditorsPerDocument: false,
      }),
    );
    return { provider, disposable };
  }

  documentFor(uri: vscode.Uri): AnnotationEditorDocument | undefined {
    return this.documents.get(uri.toString());
  }

  /** A category was added outside an editor (the chat's Accept): editors under the root refresh. */
  categoriesChangedAt(root: string): void {
    this.categoriesChanged.fire(root);
  }

  constructor(private readonly context: vscode.ExtensionContext, private readonly engine: EngineService) {}

  async openCustomDocument(uri: vscode.Uri, openContext: vscode.CustomDocumentOpenContext): Promise<AnnotationEditorDocument> {
    let document: AnnotationEditorDocument;
    try {
      document = await AnnotationEditorDocument.open(uri, openContext.backupId);
    } catch (e) {
      // VS Code only says "the editor could not be opened"; say which file and why.
      void vscode.window.showErrorMessage(`Pixel-SAIL cannot open ${vscode.workspace.asRelativePath(uri)}: ${(e as Error).message}`);
      throw e;
    }
    const watcher = watchStoreFile(document, () => this.categoriesChanged.fire(document.paths.root));
    const key = uri.toString();
    this.documents.set(key, document);
    document.onDidDispose(() => {
      watcher.dispose();
      if (this.documents.get(key) === document) this.documents.delete(key);
      this.documentsChanged.fire();
    });
    return document;
  }

  resolveCustomEditor(document: AnnotationEditorDocument, panel: vscode.WebviewPanel): void {
    // Opening the editor is the moment to load the model, so the first prompt does not wait for it.
    void this.engine.warm();
    const session = new EditorSession(document, panel, this.context.extensionUri, this.engine, {
      perform: (edit) => this.perform(document, edit),
      categoriesChanged: (root) => this.categoriesChanged.fire(root),
      onCategoriesChanged: this.categoriesChanged.event,
    });
    panel.onDidDispose(() => session.dispose());
    this.documentsChanged.fire();
  }

  /** Applies an edit and hands it to VS Code's undo stack (the editor's session and the chat call it). */
  perform(document: AnnotationEditorDocument, edit: AnnotationEdit): void {
    const id = document.perform(edit);
    const guarded = (what: string, step: () => void) => () => {
      try {
        step();
      } catch (e) {
        // After a reload from disk an old edit may no longer fit: say so rather than corrupt the objects.
        if (e instanceof EditConflictError) void vscode.window.showWarningMessage(`Pixel-SAIL: cannot ${what} "${describeEdit(edit)}": ${e.message} (the file was reloaded from disk).`);
        else throw e;
      }
    };
    this.edits.fire({
      document,
      label: describeEdit(edit),
      undo: guarded('undo', () => document.undo(edit)),
      redo: guarded('redo', () => document.redo(edit, id)),
    });
  }

  saveCustomDocument(document: AnnotationEditorDocument): Thenable<void> {
    return document.save();
  }

  /** Save As copies the image and writes its objects to the copy's own store file. */
  async saveCustomDocumentAs(document: AnnotationEditorDocument, destination: vscode.Uri): Promise<void> {
    if (destination.scheme !== 'file') throw new Error('Pixel-SAIL saves annotated images to local files only.');
    const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
    const target = storePaths(destination.fsPath, folders);
    await fs.promises.mkdir(path.dirname(destination.fsPath), { recursive: true });
    await fs.promises.copyFile(document.uri.fsPath, destination.fsPath);
    await document.saveTo(target.annotationFile, { ...document.state, image: { ...document.state.image, file_name: target.fileName } });
  }

  revertCustomDocument(document: AnnotationEditorDocument): Thenable<void> {
    return document.load();
  }

  async backupCustomDocument(document: AnnotationEditorDocument, context: vscode.CustomDocumentBackupContext): Promise<vscode.CustomDocumentBackup> {
    await document.backup(context.destination);
    return {
      id: context.destination.toString(),
      delete: () => vscode.workspace.fs.delete(context.destination).then(undefined, () => undefined),
    };
  }
}
