// One open image editor panel: it validates what its webview sends, runs prompts on the engine, holds
// the current candidate mask (the webview only ever names it, so it cannot accept a mask the model did
// not produce), turns user actions into AnnotationEdits, and keeps the webview's picture of the objects,
// categories and engine state current.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { addCategory, readCategoriesFile, renameCategory } from '../../annotations/categories';
import { acceptAllProposals, acceptCandidate, acceptProposal, AnnotationEdit, rejectProposal, Candidate, changeCategory, objectMask, paintStroke, polygonObject, removeObject, reshapePolygons, setCaption, Stroke, strokeObject } from '../../annotations/document';
import { nextUnreviewed, previousImage, reviewStatus } from '../../annotations/review';
import type { Category } from '../../annotations/schema';
import { EngineRequestError, RequestOptions } from '../../engine/engineClient';
import { BENCH_ECHO_ENV, CategoryChoice, FromWebview, fromWebviewSchema, ObjectView, ToWebview } from '../../editor/protocol';
import { objectView } from '../../editor/objectView';
import { readableAnswer } from '../../editor/readableText';
import { isEmptyRegionPrompt, RegionPrompt, RegionPromptError, regionsOf } from '../../editor/regionPrompt';
import { encodeMask } from '../../masks/rle';
import type { EngineService } from '../engineService';
import { ChatError } from '../../chat/conversation';
import type { ChatController } from '../chat/chatController';
import type { AnnotationEditorDocument } from './annotationEditorDocument';
import { editorHtml } from './webviewHtml';
import { epochNow } from '../../epochClock';
import { heldStages } from '../../editor/progressDelay';
import type { EngineProgress } from '../../engine/types';

export interface SessionHost {
  perform(edit: AnnotationEdit): void;
  categoriesChanged(root: string): void;
  onCategoriesChanged: vscode.Event<string>;
  /** The chat about images: canvas regions go to it, its highlights and answer masks come to the canvas. */
  chat?: ChatController;
  /** A line for the Pixel-SAIL output channel (a webview's report of a problem, such as a refused message). */
  log?(line: string): void;
}

let sessionCount = 0;

/** bench:ui runs the host with BENCH_ECHO_ENV=1 to measure the message path's floor; users never do. */
const benchEcho = () => process.env[BENCH_ECHO_ENV] === '1';

/** Interactive requests end by Cancel, by a newer prompt, or after this long (a 1024-px prefill of a paper-size model on a loaded CPU took 4 min). */
const INTERACTIVE_TIMEOUT_MS = 30 * 60 * 1000;

/** How a visual prompt is named in the answer line and in the object's `prompt`: "2 points, 1 box". */
export function regionLabel(p: RegionPrompt): string {
  const parts: string[] = [];
  const pos = p.points.filter((q) => q.positive).length;
  const neg = p.points.length - pos;
  if (pos) parts.push(`${pos} point${pos === 1 ? '' : 's'}`);
  if (neg) parts.push(`${neg} negative point${neg === 1 ? '' : 's'}`);
  if (p.box) parts.push('1 box');
  if (p.scribbles.length) parts.push(`${p.scribbles.length} scribble${p.scribbles.length === 1 ? '' : 's'}`);
  return parts.join(', ');
}

export class EditorSession implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private reviewTimer?: NodeJS.Timeout;
  private candidate?: Candidate;
  private categories: Category[] = [];
  private categoryProblem?: string;
  /** A newer prompt in the same editor supersedes an older one still queued or running. */
  private readonly cancelKey = `editor-${++sessionCount}`;
  /** Counts prompts and clears: an answer that arrives after a newer one (or after Escape) is dropped. */
  private generation = 0;
  /** The running prompt and describe, for Cancel. */
  private promptAbort?: AbortController;
  private describeAbort?: AbortController;

  constructor(
    private readonly document: AnnotationEditorDocument,
    private readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly engine: EngineService,
    private readonly host: SessionHost,
  ) {
    const dist = vscode.Uri.joinPath(extensionUri, 'dist');
    const imageFolder = vscode.Uri.joinPath(document.uri, '..');
    panel.webview.options = { enableScripts: true, localResourceRoots: [dist, imageFolder] };
    panel.webview.html = editorHtml(panel.webview, dist);
    this.disposables.push(
      panel.webview.onDidReceiveMessage((raw: unknown) => void this.receive(raw)),
      document.onDidChangeState(() => {
        this.post({ type: 'objects', objects: this.objects() });
        this.post({ type: 'problem', message: this.problem() ?? null });
        this.scheduleReview();
      }),
      engine.onDidChangeState((engine) => this.post({ type: 'engine', engine })),
      host.onCategoriesChanged((root) => {
        if (root === document.paths.root) void this.refreshCategories();
      }),
    );
    this.wireChat();
  }

  // ---- the chat's side of the canvas ----------------------------------------------------------------

  private isThisImage(uri: vscode.Uri) {
    return uri.toString() === this.document.uri.toString();
  }

  /** The chat's regions of this image follow the document (adding a region, undo, clear all change it). */
  private postChatRegions() {
    const regions = this.document.state.conversations?.[0]?.regions ?? [];
    this.post({ type: 'chatRegions', regions: regions.map((r) => ({ n: r.n, spec: r.spec })) });
  }

  private wireChat() {
    const chat = this.host.chat;
    if (!chat) return;
    this.disposables.push(
      this.document.onDidChangeState(() => this.postChatRegions()),
      chat.onDidHighlightRegion(({ imageUri, region }) => {
        if (this.isThisImage(imageUri)) this.post({ type: 'chatHighlight', n: region?.n ?? null });
      }),
      chat.onDidProposeMasks(({ imageUri, masks, turnId }) => {
        if (this.isThisImage(imageUri)) this.post({ type: 'chatMasks', turnId, masks: masks.map((m) => ({ rle: m.rle, bbox: m.bbox })) });
      }),
    );
  }

  /** Add to chat: each engine region of the visual prompt becomes the chat's next chip, in regionsOf's order, all or none. */
  private addToChat(prompt: RegionPrompt) {
    const chat = this.host.chat;
    if (!chat) throw new Error('the chat is not available');
    let added: number[];
    try {
      // regionsOf gives no mask-file regions; the chat stores box, points and scribbles as they are.
      const specs = regionsOf(prompt, this.document.state.image).filter((r): r is Exclude<typeof r, { kind: 'mask' }> => r.kind !== 'mask');
      added = chat.addRegions(this.document.uri, specs);
    } catch (e) {
      if (!(e instanceof RegionPromptError) && !(e instanceof ChatError)) throw e;
      // The chat says a ChatError itself (addRegions); a prompt error is said in both places here.
      if (e instanceof RegionPromptError) chat.notify(this.document.uri, `Add to chat: ${e.message}.`);
      this.post({ type: 'chatFailed', message: e.message });
      return;
    }
    this.post({ type: 'addedToChat', regions: added });
  }

  private objects(): ObjectView[] {
    return this.document.state.annotations.map(objectView);
  }

  private problem(): string | undefined {
    return this.document.problem ?? this.categoryProblem;
  }

  /** When the latest message from the webview arrived (epoch ms): where a prompt's time starts in the host. */
  private receivedAt = 0;

  private post(msg: ToWebview) {
    void this.panel.webview.postMessage(msg);
  }

  private async receive(raw: unknown) {
    this.receivedAt = epochNow();
    const parsed = fromWebviewSchema.safeParse(raw);
    if (!parsed.success) {
      // A message that does not fit the protocol is a bug in the webview, never something to act on.
      console.error(`Pixel-SAIL: ignored a malformed message from the image editor: ${parsed.error.issues[0]?.message}`);
      return;
    }
    const msg = parsed.data;
    try {
      await this.handle(msg);
    } catch (e) {
      const message = (e as Error).message;
      this.post({ type: 'problem', message });
      void vscode.window.showErrorMessage(`Pixel-SAIL: ${message}`);
    }
  }

  private async handle(msg: FromWebview) {
    switch (msg.type) {
      case 'ready':
        await this.refreshCategories(false);
        this.post({
          type: 'init',
          image: {
            src: this.panel.webview.asWebviewUri(this.document.uri).toString(),
            name: this.document.paths.fileName,
            width: this.document.state.image.width,
            height: this.document.state.image.height,
          },
          objects: this.objects(),
          categories: this.categories,
          problem: this.problem(),
          ...(benchEcho() ? { bench: true as const } : {}),
        });
        this.post({ type: 'engine', engine: this.engine.state });
        this.postReview();
        this.postChatRegions();
        return;
      case 'imageShown':
        return;
      case 'prompt':
        return this.runPrompt(msg.text);
      case 'regionPrompt':
        return this.runRegionPrompt(msg.prompt);
      case 'stroke': {
        this.assertEditable();
        const stroke: Stroke = msg.stroke;
        if (msg.id !== undefined) {
          const edit = paintStroke(this.document.state, msg.id, stroke, msg.mode);
          if (edit) this.host.perform(edit);
          return;
        }
        if (msg.mode === 'eraser') throw new Error('select an object to erase from first');
        if (!msg.category) throw new Error('choose a category for the new object first: type a name or press 1–9');
        const category = await this.resolveCategory(msg.category);
        this.host.perform(strokeObject(this.document.state, stroke, category.id));
        return;
      }
      case 'polygon': {
        this.assertEditable();
        this.assertInside(msg.points);
        const category = await this.resolveCategory(msg.category);
        this.host.perform(polygonObject(this.document.state, msg.points, category.id));
        return;
      }
      case 'describe':
        return this.describe(msg.id);
      case 'renameCategory': {
        const data = await renameCategory(this.document.paths.categoriesFile, msg.id, msg.name);
        this.categories = data.categories;
        this.post({ type: 'categories', categories: this.categories });
        this.host.categoriesChanged(this.document.paths.root);
        return;
      }
      case 'reshape': {
        this.assertEditable();
        this.assertInside(msg.polygons.flat());
        const edit = reshapePolygons(this.document.state, msg.id, msg.polygons);
        if (edit) this.host.perform(edit);
        return;
      }
      case 'accept': {
        const candidate = this.candidate;
        if (!candidate) throw new Error('there is no candidate to accept: type a prompt and press Enter first');
        this.assertEditable();
        const category = await this.resolveCategory(msg.category);
        this.candidate = undefined;
        this.post({ type: 'candidateCleared' });
        this.host.perform(acceptCandidate(this.document.state, candidate, category.id));
        return;
      }
      case 'reject':
        this.promptAbort?.abort(); // its answer would be dropped: end the work
        this.generation++;
        this.candidate = undefined;
        this.post({ type: 'candidateCleared' });
        return;
      case 'delete':
        this.assertEditable();
        this.host.perform(removeObject(this.document.state, msg.id));
        return;
      case 'setCategory': {
        this.assertEditable();
        const category = await this.resolveCategory(msg.category);
        const edit = changeCategory(this.document.state, msg.id, category.id);
        if (edit) this.host.perform(edit);
        return;
      }
      case 'retryEngine':
        await this.engine.retry();
        return;
      case 'cancel':
        this.promptAbort?.abort();
        this.describeAbort?.abort();
        return;
      case 'error':
        this.host.log?.(`image editor: ${msg.message}`);
        void vscode.window.showErrorMessage(`Pixel-SAIL image editor: ${msg.message}`);
        return;
      case 'review':
        this.assertEditable();
        this.host.perform(msg.verdict === 'accept' ? acceptProposal(this.document.state, msg.id) : rejectProposal(this.document.state, msg.id));
        return;
      case 'acceptAll': {
        this.assertEditable();
        const edit = acceptAllProposals(this.document.state);
        if (edit) this.host.perform(edit);
        return;
      }
      case 'goTo':
        return this.goTo(msg.which);
      case 'addToChat':
        return this.addToChat(msg.prompt);
      case 'chatHoverRegion':
        this.host.chat?.highlightFromCanvas(this.document.uri, msg.n);
        return;
      case 'benchEcho': {
        if (!benchEcho()) {
          console.error('Pixel-SAIL: ignored a bench echo from the image editor (only bench:ui asks for one)');
          return;
        }
        // Answered at once, as the candidate is (same shape, the same mask when asked for it), without the engine.
        const c = msg.withMask ? this.candidate : undefined;
        this.post({ type: 'benchEcho', prompt: msg.text, answer: 'echo', mask: c ? { rle: c.rle, area: c.area, bbox: c.bbox } : null, ms: 0,
          host: { receivedAt: this.receivedAt, postedAt: epochNow(), engineMs: 0 } });
        return;
      }
    }
  }

  private reviewStatus() {
    return reviewStatus(this.document.paths.root, { fileName: this.document.paths.fileName, annotations: this.document.state.annotations });
  }

  /**
   * The review bar after an edit: once the edits of a burst have landed (typing, a brush stroke, undo held
   * down), since the folder's status takes a stat per image of the dataset.
   */
  private scheduleReview() {
    clearTimeout(this.reviewTimer);
    this.reviewTimer = setTimeout(() => this.postReview(), 150);
  }

  /** The folder's review progress, for the editor's review bar (hidden when no job has run on the root). */
  private postReview(message?: string) {
    const status = this.reviewStatus();
    const here = this.document.paths.fileName;
    this.post({
      type: 'review', images: status.images.length, reviewed: status.images.length - status.unreviewed.length,
      hasNext: nextUnreviewed(status, here) !== undefined, hasPrevious: previousImage(status, here) !== undefined, ...(message ? { message } : {}),
    });
  }

  /**
   * Opens the next image to review (or the previous one) in this editor's place: the new editor opens, and
   * this one closes unless it has unsaved edits, so a review walks through the folder in one tab.
   */
  private async goTo(which: 'nextUnreviewed' | 'previous') {
    const status = this.reviewStatus();
    const here = this.document.paths.fileName;
    const target = which === 'nextUnreviewed' ? nextUnreviewed(status, here) : previousImage(status, here);
    if (!target) {
      this.postReview(which === 'nextUnreviewed' ? `All ${status.images.length} images of the batch jobs are reviewed.` : 'This is the first image.');
      return;
    }
    const uri = vscode.Uri.file(path.join(this.document.paths.root, ...target.split('/')));
    const column = this.panel.viewColumn;
    await vscode.commands.executeCommand('vscode.openWith', uri, 'pixelSail.imageEditor', { viewColumn: column, preview: false });
    if (!this.document.dirty) this.panel.dispose();
  }

  /** Polygon vertices (flat x, y, …) may sit on the image's far edge (x = width), not beyond it. */
  private assertInside(flat: number[]) {
    const { width, height } = this.document.state.image;
    for (let i = 0; i < flat.length; i += 2) {
      const x = flat[i], y = flat[i + 1];
      if (x < 0 || y < 0 || x > width || y > height) throw new Error(`the polygon's vertex ${x},${y} is outside the ${width}×${height} image`);
    }
  }

  private assertEditable() {
    if (this.document.problem) throw new Error(this.document.problem);
  }

  /**
   * Options of an interactive request: superseded by this editor's next prompt, ended by Cancel, stages
   * shown as progress. No short timeout: a paper-size model's image prefill takes minutes on a loaded CPU,
   * and the user sees the progress and has Cancel.
   */
  private interactive(what: 'prompt' | 'describe', abort: AbortController, cancelKey: string): RequestOptions {
    // A run answered within PROGRESS_AFTER_MS posts no stage (see progressDelay.ts); a longer one its latest
    // stage then, unless it was ended or replaced meanwhile.
    const running = () => (what === 'prompt' ? this.promptAbort : this.describeAbort) === abort && !abort.signal.aborted;
    const onProgress = heldStages((p: EngineProgress) => this.post({ type: 'progress', what, ...p }), running);
    return { cancelKey, priority: 'interactive', signal: abort.signal, timeoutMs: INTERACTIVE_TIMEOUT_MS, onProgress };
  }

  private postCancelled(prompt: string) {
    this.post({ type: 'cancelled', prompt });
  }

  private async runPrompt(text: string) {
    const receivedAt = this.receivedAt;
    const generation = ++this.generation;
    this.post({ type: 'busy', prompt: text, postedAt: epochNow() });
    const t0 = Date.now();
    const abort = (this.promptAbort = new AbortController());
    try {
      const answer = await this.engine.request({ kind: 'segment', image: this.document.uri.fsPath, text }, this.interactive('prompt', abort, this.cancelKey));
      if (generation !== this.generation) return;
      // A mask with no pixel is nothing to accept: an invisible object would only block later batch jobs.
      const empty = answer.masks[0] !== undefined && answer.masks[0].area === 0;
      const mask = empty ? undefined : answer.masks[0];
      this.candidate = mask ? { rle: mask.rle, area: mask.area, bbox: mask.bbox, prompt: text, model: this.engine.model ?? 'unknown' } : undefined;
      const said = empty ? `${answer.answer} (but the mask is empty: nothing to accept)` : answer.answer;
      this.post({ type: 'candidate', prompt: text, answer: said, mask: mask ? { rle: mask.rle, area: mask.area, bbox: mask.bbox } : null, ms: Date.now() - t0,
        host: { receivedAt, postedAt: epochNow(), engineMs: answer.timingsMs.total } });
    } catch (e) {
      if (e instanceof EngineRequestError && e.code === 'cancelled') {
        if (abort.signal.aborted && generation === this.generation) this.postCancelled(text);
        return; // else a newer prompt took over
      }
      this.post({ type: 'promptFailed', prompt: text, message: (e as Error).message });
    } finally {
      if (this.promptAbort === abort) this.promptAbort = undefined;
    }
  }

  /** A visual prompt: the engine's answer for its regions becomes the candidate; an empty one clears it. */
  private async runRegionPrompt(prompt: RegionPrompt) {
    const receivedAt = this.receivedAt;
    const generation = ++this.generation;
    if (isEmptyRegionPrompt(prompt)) {
      this.promptAbort?.abort(); // its answer would be dropped: end the work
      this.candidate = undefined;
      this.post({ type: 'candidateCleared' });
      return;
    }
    const label = regionLabel(prompt);
    let regions;
    try {
      regions = regionsOf(prompt, this.document.state.image);
    } catch (e) {
      if (!(e instanceof RegionPromptError)) throw e;
      this.candidate = undefined;
      this.post({ type: 'promptFailed', prompt: label, message: e.message });
      return;
    }
    this.post({ type: 'busy', prompt: label, postedAt: epochNow() });
    const t0 = Date.now();
    const abort = (this.promptAbort = new AbortController());
    try {
      const answer = await this.engine.request({ kind: 'segmentRegions', image: this.document.uri.fsPath, regions }, this.interactive('prompt', abort, this.cancelKey));
      if (generation !== this.generation) return; // cleared (Escape) or superseded while it ran
      const empty = answer.masks[0] !== undefined && answer.masks[0].area === 0;
      const mask = empty ? undefined : answer.masks[0];
      this.candidate = mask ? { rle: mask.rle, area: mask.area, bbox: mask.bbox, prompt: label, model: this.engine.model ?? 'unknown', regions } : undefined;
      const said = empty ? `${answer.answer} (but the mask is empty: nothing to accept)` : answer.answer;
      this.post({ type: 'candidate', prompt: label, answer: said, mask: mask ? { rle: mask.rle, area: mask.area, bbox: mask.bbox } : null, ms: Date.now() - t0,
        host: { receivedAt, postedAt: epochNow(), engineMs: answer.timingsMs.total } });
    } catch (e) {
      if (generation !== this.generation) return; // cleared or superseded
      if (e instanceof EngineRequestError && e.code === 'cancelled') {
        if (abort.signal.aborted) {
          this.candidate = undefined;
          this.postCancelled(label);
        }
        return;
      }
      this.candidate = undefined;
      this.post({ type: 'promptFailed', prompt: label, message: (e as Error).message });
    } finally {
      if (this.promptAbort === abort) this.promptAbort = undefined;
    }
  }

  /** The model's caption of an object, stored through an undoable edit. */
  private async describe(id: number) {
    this.assertEditable();
    const annotation = this.document.state.annotations.find((a) => a.id === id);
    if (!annotation) throw new Error(`object ${id} is not in the document`);
    const { width, height } = this.document.state.image;
    const seg = annotation.segmentation;
    const rle = Array.isArray(seg) ? encodeMask(objectMask(annotation, width, height), height, width) : seg;
    this.post({ type: 'describing', id });
    const abort = (this.describeAbort = new AbortController());
    try {
      // Its own cancel key: a describe is not superseded by the next click prompt.
      const answer = await this.engine.request({ kind: 'describe', image: this.document.uri.fsPath, region: { kind: 'rle', rle } }, this.interactive('describe', abort, `${this.cancelKey}-describe`));
      const caption = readableAnswer(answer.answer);
      if (!caption) {
        this.post({ type: 'described', id, caption: null, message: 'the model gave no caption for this object' });
        return;
      }
      const edit = setCaption(this.document.state, id, caption);
      if (edit) this.host.perform(edit);
      this.post({ type: 'described', id, caption });
    } catch (e) {
      if (e instanceof EngineRequestError && e.code === 'cancelled') {
        if (abort.signal.aborted) this.post({ type: 'described', id, caption: null, message: 'cancelled' });
        return;
      }
      this.post({ type: 'described', id, caption: null, message: (e as Error).message });
    } finally {
      if (this.describeAbort === abort) this.describeAbort = undefined;
    }
  }

  private async resolveCategory(choice: CategoryChoice): Promise<Category> {
    if ('id' in choice) {
      const found = this.categories.find((c) => c.id === choice.id);
      if (!found) throw new Error(`category ${choice.id} does not exist`);
      return found;
    }
    const { data, category } = await addCategory(this.document.paths.categoriesFile, choice.name);
    this.categories = data.categories;
    this.post({ type: 'categories', categories: this.categories });
    this.host.categoriesChanged(this.document.paths.root);
    return category;
  }

  private async refreshCategories(post = true) {
    try {
      this.categories = (await readCategoriesFile(this.document.paths.categoriesFile)).categories;
      this.categoryProblem = undefined;
    } catch (e) {
      this.categoryProblem = `The category list cannot be read, so no category can be added until it is fixed. ${(e as Error).message}`;
    }
    if (post) {
      this.post({ type: 'categories', categories: this.categories });
      this.post({ type: 'problem', message: this.problem() ?? null });
    }
  }

  dispose() {
    clearTimeout(this.reviewTimer);
    this.disposables.forEach((d) => d.dispose());
  }
}
