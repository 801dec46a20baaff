// The image annotator: a CustomEditorProvider over AnnotationEditorDocument. Every change to the objects
// is one AnnotationEdit reported through onDidChangeCustomDocument, so undo/redo, the dirty mark, save,
// revert and hot-exit backup are VS Code's own. Each open panel gets an EditorSession (editorSession.ts)
// that talks to its webview.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { applyToStoreFile, ImageResult, jobEditLabel, JobStore } from '../../annotations/batch';
import { AnnotationEdit, describeEdit, EditConflictError, jobResultEdit, stateToFile } from '../../annotations/document';
import { readAnnotationFile, StorePaths, storePaths } from '../../annotations/store';
import type { EngineService } from '../engineService';
import { AnnotationEditorDocument } from './annotationEditorDocument';
import { EditorSession } from './editorSession';
import type { ChatController } from '../chat/chatController';
import { watchStoreFile } from './storeWatcher';

export class ImageEditorProvider implements vscode.CustomEditorProvider<AnnotationEditorDocument> {
  static readonly viewType = 'pixelSail.imageEditor';

  private readonly edits = new vscode.EventEmitter<vscode.CustomDocumentEditEvent<AnnotationEditorDocument> | vscode.CustomDocumentContentChangeEvent<AnnotationEditorDocument>>();
  // VS Code tells the two kinds of event apart one by one (an edit has undo and redo); see perform().
  readonly onDidChangeCustomDocument = this.edits.event as vscode.Event<vscode.CustomDocumentEditEvent<AnnotationEditorDocument>>;
  /** Fires with a dataset root whose categories.json changed, so every editor under it refreshes. */
  private readonly categoriesChanged = new vscode.EventEmitter<string>();
  /** Open image documents by URI: the chat view (src/host/chat/) edits them like the editor does, and batch results for an open image go into its document. */
  private readonly documents = new Map<string, AnnotationEditorDocument>();
  private readonly documentsChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeDocuments = this.documentsChanged.event;
  readonly viewType = ImageEditorProvider.viewType;
  /** The chat (set by activate() right after the provider is made, before any editor opens). */
  chat?: ChatController;

  static register(context: vscode.ExtensionContext, engine: EngineService, output?: vscode.OutputChannel): { provider: ImageEditorProvider; disposable: vscode.Disposable } {
    const provider = new ImageEditorProvider(context, engine, output);
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

  constructor(private readonly context: vscode.ExtensionContext, private readonly engine: EngineService, private readonly output?: vscode.OutputChannel) {}

  /**
   * Where a batch job reads and puts objects: an image open in an editor through its document, as one
   * undoable edit, so nothing the editor holds is written over; every other image through its store file.
   * A clean document is saved right after (disk and editor agree, and Undo still takes the result back);
   * a document with unsaved edits keeps them, and the file on disk gets the same result on top of what it
   * holds, so the job's work is on disk even if those edits are never saved.
   */
  readonly jobStore: JobStore = {
    objects: async (image: string, paths: StorePaths) => {
      const document = this.documents.get(vscode.Uri.file(image).toString());
      return document && !document.problem ? stateToFile(document.state) : readAnnotationFile(paths.annotationFile);
    },
    apply: async (image: string, paths: StorePaths, result: ImageResult) => {
      const document = this.documents.get(vscode.Uri.file(image).toString());
      if (!document || document.problem) return applyToStoreFile(paths, result);
      const wasDirty = document.dirty;
      const edit = jobResultEdit(document.state, result.replaced, result.found, jobEditLabel(result.job));
      if (edit) this.perform(document, edit);
      if (!wasDirty && edit && (await vscode.workspace.save(document.uri))) return;
      // Our own write: the store watcher must not take it for someone else's change and offer a reload.
      await applyToStoreFile(paths, result, (text) => (document.lastStoreText = text));
    },
  };

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
      chat: this.chat,
      log: (line) => this.output?.appendLine(line),
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
    if (document.savedStateUnreachable) this.edits.fire({ document });
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
