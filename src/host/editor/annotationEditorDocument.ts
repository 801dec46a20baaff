// The VS Code side of one image's annotation document: it owns the plain AnnotationState, the store
// paths, and what was last read from or written to the store file (to tell our own writes from changes
// made by others). It keeps no undo stack of its own: edits are reported to VS Code, whose undo and redo
// call back into undo()/redo() here. It only tracks which edits are applied, to know whether it is dirty.
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { AnnotationEdit, AnnotationState, applyEdit, emptyState, invertEdit, stateFromFile, stateToFile } from '../../annotations/document';
import type { ImageEntry } from '../../annotations/schema';
import { parseAnnotationFile, readAnnotationFile, serialize, StoreFormatError, StorePaths, storePaths, writeAnnotationFile } from '../../annotations/store';
import { imageSize } from '../../engine/imageLoader';

export class AnnotationEditorDocument implements vscode.CustomDocument {
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires whenever the objects change (edit, undo, redo, revert, reload). */
  readonly onDidChangeState = this.changed.event;
  private readonly disposed = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposed.event;
  /** Set while the store file cannot be read: the document is shown but never saved over it. */
  problem?: string;
  /** The store file's text as last read or written here, to recognise our own writes in the watcher. */
  lastStoreText?: string;
  private applied: number[] = [];
  private saved: number[] = [];
  private nextEditId = 1;

  private constructor(readonly uri: vscode.Uri, readonly paths: StorePaths, private current: AnnotationState) {}

  get state(): AnnotationState {
    return this.current;
  }

  /** Whether the objects differ from the store file (the same rule as the tab's dirty mark). */
  get dirty(): boolean {
    return this.applied.join() !== this.saved.join();
  }

  static async open(uri: vscode.Uri, backupId: string | undefined): Promise<AnnotationEditorDocument> {
    const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
    const paths = storePaths(uri.fsPath, folders);
    const size = await imageSize(await fs.promises.readFile(uri.fsPath));
    const image: ImageEntry = { file_name: paths.fileName, width: size.width, height: size.height };
    const doc = new AnnotationEditorDocument(uri, paths, emptyState(image));
    await doc.load();
    if (backupId) {
      // A hot-exit backup holds the unsaved objects in the store format; it wins over the saved file.
      const backup = vscode.Uri.parse(backupId);
      // The workbench can name a backup that was never written (a window reloaded while the backup was still
      // being made): there is nothing to restore then, and the saved file is the image's latest state.
      const bytes = await vscode.workspace.fs.readFile(backup).then((b) => b, (e: unknown) => {
        if (e instanceof vscode.FileSystemError && e.code === 'FileNotFound') return undefined;
        throw e;
      });
      if (bytes) {
        const text = Buffer.from(bytes).toString('utf8');
        doc.current = doc.withImage(stateFromFile(parseAnnotationFile(text, backup.fsPath)));
        doc.saved = [-1];
      } else console.warn(`Pixel-SAIL: the backup of ${uri.fsPath} is gone; opening the saved annotations.`);
    }
    return doc;
  }

  /** Reads the store file into the document; a malformed file becomes `problem` and is left as it is. */
  async load(): Promise<void> {
    try {
      const text = await fs.promises.readFile(this.paths.annotationFile, 'utf8').catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return undefined;
        throw e;
      });
      this.lastStoreText = text;
      const file = text === undefined ? undefined : parseAnnotationFile(text, this.paths.annotationFile);
      this.current = file ? this.withImage(stateFromFile(file)) : emptyState(this.current.image);
      this.problem = undefined;
    } catch (e) {
      this.problem =
        e instanceof StoreFormatError
          ? `The annotation file is broken, so the image is shown without objects and Pixel-SAIL will not save over the file. ${e.message}`
          : `The annotation file cannot be read: ${(e as Error).message}`;
      this.current = emptyState(this.current.image);
    }
    this.saved = [...this.applied];
    this.changed.fire();
  }

  /** The image entry describes the image as it is now (size, name), whatever an older file said. */
  private withImage(state: AnnotationState): AnnotationState {
    return { ...state, image: { ...state.image, ...this.current.image } };
  }

  /**
   * True when the saved state can no longer be reached by undo or redo: the user undid past the save
   * point and then made a new edit. VS Code's custom-editor model compares only stack positions (the new
   * edit lands on the save point's index), so it would call such a document clean; the provider reports a
   * content change then, which keeps the tab dirty until the next save or revert.
   */
  get savedStateUnreachable(): boolean {
    return this.saved.length > this.applied.length || this.saved.some((id, i) => this.applied[i] !== id);
  }

  /** Applies a new edit; returns its id for undo/redo bookkeeping. */
  perform(edit: AnnotationEdit): number {
    this.current = applyEdit(this.current, edit);
    const id = this.nextEditId++;
    this.applied.push(id);
    this.changed.fire();
    return id;
  }

  undo(edit: AnnotationEdit): void {
    this.current = applyEdit(this.current, invertEdit(edit));
    this.applied.pop();
    this.changed.fire();
  }

  redo(edit: AnnotationEdit, id: number): void {
    this.current = applyEdit(this.current, edit);
    this.applied.push(id);
    this.changed.fire();
  }

  async save(): Promise<void> {
    await this.saveTo(this.paths.annotationFile, this.current);
    this.saved = [...this.applied];
  }

  async saveTo(file: string, state: AnnotationState): Promise<void> {
    if (this.problem) throw new Error(`Pixel-SAIL did not save. ${this.problem}`);
    // A malformed file that appeared after the editor opened is not written over either.
    const onDisk = await readAnnotationFile(file).catch((e: unknown) => e);
    if (onDisk instanceof StoreFormatError) throw new Error(`Pixel-SAIL did not save over a broken annotation file. ${onDisk.message}`);
    const data = stateToFile(state);
    await writeAnnotationFile(file, data);
    if (file === this.paths.annotationFile) this.lastStoreText = serialize(data);
  }

  async backup(destination: vscode.Uri): Promise<void> {
    await vscode.workspace.fs.writeFile(destination, Buffer.from(serialize(stateToFile(this.current))));
  }

  dispose(): void {
    this.disposed.fire();
    this.changed.dispose();
    this.disposed.dispose();
  }
}
