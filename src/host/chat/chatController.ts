// The chat about the active image: it follows the active Pixel-SAIL editor, keeps one conversation per image
// in that image's document (so saving and undo are the editor's), sends questions to the engine as parts,
// streams the answer to the chat view, stops a request in the engine, and turns masks into objects.
//
// API for the image editor (the canvas side), to be wired where the editor is built:
//   chat.addRegion(imageUri, spec)            a region marked on the canvas (box / points / scribble / rle)
//                                             becomes the next chip `region N`; returns N, or throws ChatError
//                                             (too many regions, outside the image), which the chat also shows.
//   chat.onDidHighlightRegion(e => …)         a chip is hovered: e.region (ChatRegion, its spec) or undefined
//                                             when the pointer leaves; draw / clear that region on e.imageUri.
//   chat.onDidProposeMasks(e => …)            an answer came with masks (e.masks, image-size RLE): draw them.
//   chat.highlightFromCanvas(imageUri, n)     the pointer is over region n on the canvas: the chip lights up.
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { addCategory, readCategoriesFile } from '../../annotations/categories';
import type { ChatRegion, Conversation, StoredRegionSpec, Turn } from '../../annotations/conversationSchema';
import { acceptCandidate, AnnotationEdit, setCaption } from '../../annotations/document';
import { readableAnswerParts } from '../../editor/readableText';
import type { Annotation } from '../../annotations/schema';
import { addRegion, AnswerStream, ChatError, engineRegions, freshContextReason, newConversation, regionSetKey, withoutMissingMasks, withTurns } from '../../chat/conversation';
import type { AnswerProgressView, ChatStateView, MaskView, ToChat, TurnView } from '../../chat/protocol';
import { EngineRequestError } from '../../engine/engineClient';
import { AnswerPart, fillTemplate, QuestionPart, shownAnswerText } from '../../engine/question';
import { MAX_REGIONS } from '../../engine/questionParts';
import { rasterizeRegion, RegionSpecError } from '../../engine/regions';
import type { EngineAnswer, EngineProgress, Rle } from '../../engine/types';
import { decodeRle, encodeMask } from '../../masks/rle';
import { fillPolygons } from '../../masks/polygons';
import type { EngineService } from '../engineService';
import type { AnnotationEditorDocument } from '../editor/annotationEditorDocument';
import { epochNow } from '../../epochClock';

/** What the chat needs from the image editor provider. */
export interface ChatEditorHost {
  documentFor(uri: vscode.Uri): AnnotationEditorDocument | undefined;
  perform(document: AnnotationEditorDocument, edit: AnnotationEdit): void;
  categoriesChanged(root: string): void;
  /** Fires when an image document opens or closes. */
  onDidChangeDocuments: vscode.Event<void>;
  readonly viewType: string;
}

interface EngineContext {
  conversationId: string;
  regionKey: string;
  afterTurn: string;
  imageKey: string;
}

interface Pending {
  uri: string;
  notice?: Turn;
  question: Turn & { kind: 'question' };
  answerId: string;
  stream: AnswerStream;
  abort: AbortController;
  stopped: boolean;
  /** The stage the engine began last for this answer (shown with the pending answer). */
  stage?: EngineProgress;
  /** Tokens not yet posted: posted together at most once a frame (see postTokens). */
  unsent: { parts: AnswerPart[]; producedAt: number[]; hostAt: number[]; timer?: NodeJS.Timeout; lastPost: number };
}

/** Tokens that arrive within one frame of the last post go to the webview in one message. */
const TOKEN_POST_MS = 16;

/** The reference's caption prompt, for a model whose summary carries no templates (older workers). */
const CAPTION_FALLBACK = 'Can you provide me with a detailed description of the region in the picture marked by {region}? Please provide as detailed as possible.';

export class ChatController implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private active?: vscode.Uri;
  private pending?: Pending;
  private readonly contexts = new Map<string, EngineContext>();
  /** Problems said in the chat that are not part of the conversation (nothing was asked). */
  private readonly transient = new Map<string, Turn[]>();
  private readonly posted = new vscode.EventEmitter<ToChat>();
  /** Messages for the chat view (chatView.ts posts them to its webview). */
  readonly onDidPost = this.posted.event;
  private readonly highlight = new vscode.EventEmitter<{ imageUri: vscode.Uri; region: ChatRegion | undefined }>();
  readonly onDidHighlightRegion = this.highlight.event;
  private readonly proposed = new vscode.EventEmitter<{ imageUri: vscode.Uri; masks: MaskView[]; turnId: string }>();
  readonly onDidProposeMasks = this.proposed.event;
  private stateListeners = new Map<string, vscode.Disposable>();

  constructor(private readonly editors: ChatEditorHost, private readonly engine: EngineService, private readonly webviewUri: (file: vscode.Uri) => string | undefined) {
    this.disposables.push(
      this.posted,
      this.highlight,
      this.proposed,
      vscode.window.tabGroups.onDidChangeTabs(() => this.follow()),
      vscode.window.tabGroups.onDidChangeTabGroups(() => this.follow()),
      editors.onDidChangeDocuments(() => this.follow()),
      // A question asked while the model (re)loads says so until its first stage begins.
      engine.onDidChangeState(() => { if (this.pending && !this.pending.stage) this.postProgress(this.pending); }),
    );
    this.follow();
  }

  /** The image of the active Pixel-SAIL editor; the last one while it stays open and another tab is active. */
  private follow() {
    const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
    const input = tab?.input;
    let next = this.active;
    if (input instanceof vscode.TabInputCustom && input.viewType === this.editors.viewType && this.editors.documentFor(input.uri)) next = input.uri;
    if (next && !this.editors.documentFor(next)) next = undefined;
    if (next?.toString() !== this.active?.toString()) {
      this.active = next;
    }
    if (next && !this.stateListeners.has(next.toString())) {
      const doc = this.editors.documentFor(next)!;
      const key = next.toString();
      this.stateListeners.set(key, vscode.Disposable.from(
        doc.onDidChangeState(() => { if (this.active?.toString() === key) this.postState(); }),
        doc.onDidDispose(() => { this.stateListeners.get(key)?.dispose(); this.stateListeners.delete(key); this.follow(); }),
      ));
    }
    this.postState();
  }

  private get document(): AnnotationEditorDocument | undefined {
    return this.active ? this.editors.documentFor(this.active) : undefined;
  }

  private conversationOf(doc: AnnotationEditorDocument): Conversation {
    return doc.state.conversations?.[0] ?? newConversation(randomUUID());
  }

  private commit(doc: AnnotationEditorDocument, next: Conversation, label: string) {
    const before = doc.state.conversations ?? [];
    this.editors.perform(doc, { kind: 'setConversations', from: before, to: [next, ...before.slice(1)], label });
  }

  private say(uri: vscode.Uri | undefined, text: string) {
    if (!uri) return;
    const list = this.transient.get(uri.toString()) ?? [];
    list.push({ kind: 'notice', id: `say-${randomUUID()}`, text });
    this.transient.set(uri.toString(), list.slice(-3));
    this.postState();
  }

  // ---- API for the editor -------------------------------------------------------------------------

  /** Adds a region marked on the canvas as the next chip; returns its number. */
  addRegion(imageUri: vscode.Uri, spec: StoredRegionSpec, source: 'canvas' | 'object' = 'canvas', objectId?: number): number {
    const doc = this.editors.documentFor(imageUri);
    if (!doc) throw new ChatError('Open the image in the Pixel-SAIL Image Annotator first.');
    try {
      const { width, height } = doc.state.image;
      try {
        rasterizeRegion(spec, width, height, 1);
      } catch (e) {
        if (e instanceof RegionSpecError) throw new ChatError(`That region is outside the ${width}×${height} image (${e.message}): mark it on the image.`);
        throw e;
      }
      const { conversation, region } = addRegion(this.conversationOf(doc), { source, objectId, spec });
      this.commit(doc, conversation, `Chat: add region ${region.n}`);
      return region.n;
    } catch (e) {
      if (e instanceof ChatError) this.say(imageUri, e.message);
      throw e;
    }
  }

  /**
   * Adds the regions of one visual prompt (Add to chat in the editor) as the next chips, all or none, in one
   * undoable edit; returns their numbers, or throws ChatError (said in the chat too) and adds nothing.
   */
  addRegions(imageUri: vscode.Uri, specs: StoredRegionSpec[]): number[] {
    const doc = this.editors.documentFor(imageUri);
    if (!doc) throw new ChatError('Open the image in the Pixel-SAIL Image Annotator first.');
    try {
      const { width, height } = doc.state.image;
      let conversation = this.conversationOf(doc);
      const have = conversation.regions.length;
      if (have + specs.length > MAX_REGIONS) {
        throw new ChatError(`The model takes at most ${MAX_REGIONS} regions at once: this conversation has ${have} and the marks would add ${specs.length}. Mark fewer (the points are one region, the box one, each scribble one), or clear the conversation to start again.`);
      }
      const added: number[] = [];
      for (const spec of specs) {
        try {
          rasterizeRegion(spec, width, height, 1);
        } catch (e) {
          if (e instanceof RegionSpecError) throw new ChatError(`That region is outside the ${width}×${height} image (${e.message}): mark it on the image.`);
          throw e;
        }
        const next = addRegion(conversation, { source: 'canvas', spec });
        conversation = next.conversation;
        added.push(next.region.n);
      }
      if (!added.length) return added;
      this.commit(doc, conversation, `Chat: add region ${added.join(', ')}`);
      return added;
    } catch (e) {
      if (e instanceof ChatError) this.say(imageUri, e.message);
      throw e;
    }
  }

  /** A message in the chat about this image that is not part of the conversation (the editor's errors). */
  notify(imageUri: vscode.Uri, text: string) {
    this.say(imageUri, text);
  }

  /** The canvas's pointer is over region n (or none): the chat lights that chip. */
  highlightFromCanvas(imageUri: vscode.Uri, n: number | null) {
    if (imageUri.toString() === this.active?.toString()) this.posted.fire({ type: 'highlightFromCanvas', region: n });
  }

  // ---- from the chat view -------------------------------------------------------------------------

  addObjectRegion(objectId: number) {
    const doc = this.document;
    if (!doc) return;
    const a = doc.state.annotations.find((o) => o.id === objectId);
    if (!a) return this.say(this.active, `Object ${objectId} is no longer in the document: pick another one.`);
    this.addRegion(doc.uri, { kind: 'rle', rle: objectRle(a, doc.state.image.width, doc.state.image.height) }, 'object', objectId);
  }

  hover(n: number | null) {
    const doc = this.document;
    if (!doc) return;
    const region = n === null ? undefined : this.conversationOf(doc).regions.find((r) => r.n === n);
    this.highlight.fire({ imageUri: doc.uri, region });
  }

  async describe(n: number) {
    let template: string;
    try {
      template = (await this.engine.prompts())?.caption ?? CAPTION_FALLBACK;
    } catch (e) {
      return this.say(this.active, failureMessage(e));
    }
    return this.ask(fillTemplate(template, { region: [{ kind: 'region', region: n }] }));
  }

  async ask(question: QuestionPart[], sentAt?: number): Promise<void> {
    const doc = this.document;
    if (!doc) return;
    if (this.pending) return this.say(doc.uri, 'The model is still answering: wait for it, or press Stop.');
    if (doc.problem) return this.say(doc.uri, doc.problem);
    const key = doc.uri.toString();
    const conv = this.conversationOf(doc);
    const highest = question.reduce((m, p) => (p.kind === 'region' ? Math.max(m, p.region) : m), 0);
    if (highest > conv.regions.length) return this.say(doc.uri, `There is no region ${highest}: add it first (pick an object, or mark it on the image).`);
    this.transient.delete(key);
    const imageKey = imageKeyOf(doc.uri.fsPath);
    const reason = freshContextReason(conv, this.contexts.get(key), imageKey);
    const context = reason ? undefined : this.contexts.get(key);
    const pending: Pending = {
      uri: key,
      notice: reason ? { kind: 'notice', id: `n-${randomUUID()}`, text: reason } : undefined,
      question: { kind: 'question', id: `q-${randomUUID()}`, parts: question },
      answerId: `a-${randomUUID()}`,
      stream: new AnswerStream(),
      abort: new AbortController(),
      stopped: false,
      unsent: { parts: [], producedAt: [], hostAt: [], lastPost: 0 },
    };
    this.pending = pending;
    this.postState();
    void sentAt;
    const regions = engineRegions(conv);
    const maxNewTokens = vscode.workspace.getConfiguration('pixelSail').get<number>('chat.maxNewTokens', 256);
    const run = (conversationId?: string) => this.engine.request(
      { kind: 'ask', image: doc.uri.fsPath, question, regions, conversationId, maxNewTokens },
      {
        priority: 'interactive',
        signal: pending.abort.signal,
        timeoutMs: 10 * 60 * 1000,
        onProgress: (stage) => {
          pending.stage = stage;
          if (this.pending === pending) this.postProgress(pending);
        },
        onToken: (text, special, at) => {
          const part = pending.stream.push(text, special);
          if (part && this.pending === pending) this.postTokens(pending, part, at);
        },
      },
    );
    let answerTurn: Turn;
    let answer: EngineAnswer | undefined;
    try {
      try {
        answer = await run(context?.conversationId);
      } catch (e) {
        // The engine's cache let the context go: start afresh and say so rather than fail.
        if (context && e instanceof EngineRequestError && /conversation has expired/.test(e.message)) {
          pending.notice = { kind: 'notice', id: `n-${randomUUID()}`, text: 'New context: the engine had let go of the earlier turns (cache full), so it answers this question on its own.' };
          pending.stream = new AnswerStream();
          answer = await run(undefined);
        } else throw e;
      }
      // "No target [SEG]." has a [SEG] but no mask: a mask reference without a mask would point at nothing.
      const masks = answer.masks.length;
      const parts = withoutMissingMasks(answer.answerParts ?? [], masks);
      const empty = !parts.some((p) => p.kind !== 'text' || p.text.trim()) && answer.masks.length === 0;
      answerTurn = empty
        ? { kind: 'answer', id: pending.answerId, parts, masks: [], status: 'failed', message: 'The model answered nothing. Rephrase the question, or ask about a region (Describe next to its chip).' }
        : { kind: 'answer', id: pending.answerId, parts, masks: answer.masks.map((m) => ({ rle: m.rle, area: m.area, bbox: m.bbox })), status: 'complete' };
    } catch (e) {
      // No masks were computed for an answer that did not finish: drop its [SEG] references.
      const parts = pending.stream.parts.filter((p) => p.kind !== 'mask');
      answerTurn = pending.stopped
        ? { kind: 'answer', id: pending.answerId, parts, masks: [], status: 'stopped', message: 'Stopped.' }
        : { kind: 'answer', id: pending.answerId, parts, masks: [], status: 'failed', message: failureMessage(e) };
    }
    this.flushTokens(pending);
    this.pending = undefined;
    const live = this.editors.documentFor(doc.uri);
    if (!live) return;
    const current = this.conversationOf(live);
    const turns = [...(pending.notice ? [pending.notice] : []), pending.question, answerTurn];
    const next = withTurns(current, ...turns);
    if (answer?.conversationId) {
      this.contexts.set(key, { conversationId: answer.conversationId, regionKey: regionSetKey(current), afterTurn: answerTurn.id, imageKey });
    } else if (pending.stopped && context) {
      // A stopped answer never entered the engine's context; the next question continues the one before.
      this.contexts.set(key, { ...context, afterTurn: answerTurn.id });
    }
    this.commit(live, next, 'Chat: ask');
    if (answerTurn.kind === 'answer' && answerTurn.masks.length) this.proposed.fire({ imageUri: live.uri, masks: answerTurn.masks, turnId: answerTurn.id });
  }

  /**
   * A streamed token to the webview. One message per token crossed the webview channel (through the remote
   * connection in code-server) slower than the model writes: measured, 105 tokens/s painted against 342
   * generated. The first token goes at once; later ones ride together at most once a frame.
   */
  private postTokens(pending: Pending, part: AnswerPart, producedAt: number) {
    const u = pending.unsent;
    u.parts.push(part);
    u.producedAt.push(producedAt);
    u.hostAt.push(epochNow());
    if (u.timer) return;
    const wait = u.lastPost + TOKEN_POST_MS - Date.now();
    if (wait <= 0) this.flushTokens(pending);
    else u.timer = setTimeout(() => this.flushTokens(pending), wait);
  }

  private progressOf(pending: Pending): AnswerProgressView {
    return { stage: pending.stage, engineStarting: this.engine.state.state === 'starting' };
  }

  /** The pending answer's stage, as its own small message: a whole state would cost the first token's time. */
  private postProgress(pending: Pending) {
    if (this.pending === pending && pending.uri === this.active?.toString()) this.posted.fire({ type: 'progress', turnId: pending.answerId, progress: this.progressOf(pending) });
  }

  private flushTokens(pending: Pending) {
    const u = pending.unsent;
    clearTimeout(u.timer);
    u.timer = undefined;
    if (!u.parts.length) return;
    if (this.pending === pending) this.posted.fire({ type: 'tokens', turnId: pending.answerId, parts: u.parts, producedAt: u.producedAt, hostAt: u.hostAt, postedAt: epochNow() });
    u.parts = [];
    u.producedAt = [];
    u.hostAt = [];
    u.lastPost = Date.now();
  }

  stop() {
    const p = this.pending;
    if (!p) return;
    p.stopped = true;
    p.abort.abort();
  }

  clear() {
    const doc = this.document;
    if (!doc) return;
    this.stop();
    this.contexts.delete(doc.uri.toString());
    this.transient.delete(doc.uri.toString());
    const before = doc.state.conversations ?? [];
    if (before.length) this.editors.perform(doc, { kind: 'setConversations', from: before, to: before.slice(1), label: 'Chat: clear conversation' });
    else this.postState();
  }

  private findAnswer(turnId: string) {
    const doc = this.document;
    const t = doc ? this.conversationOf(doc).turns.find((x) => x.id === turnId) : undefined;
    return t?.kind === 'answer' ? { doc: doc!, turn: t } : undefined;
  }

  async copy(turnId: string) {
    const found = this.findAnswer(turnId);
    if (found) await vscode.env.clipboard.writeText(shownAnswerText(found.turn.parts).trim());
  }

  useAsCaption(turnId: string, objectId: number) {
    const found = this.findAnswer(turnId);
    if (!found) return;
    const a = found.doc.state.annotations.find((o) => o.id === objectId);
    if (!a) return this.say(found.doc.uri, `Object ${objectId} is no longer in the document: pick another one.`);
    const text = readableAnswerParts(found.turn.parts);
    if (!text) return this.say(found.doc.uri, 'That answer has no text to use as a caption.');
    const edit = setCaption(found.doc.state, objectId, text, 'Chat: use answer as caption');
    if (edit) this.editors.perform(found.doc, edit);
  }

  async accept(turnId: string, index: number) {
    const found = this.findAnswer(turnId);
    const mask = found?.turn.masks[index];
    if (!found || !mask) return;
    const doc = found.doc;
    if (doc.problem) return this.say(doc.uri, doc.problem);
    if (acceptedAs(doc.state.annotations, mask.rle)) return this.say(doc.uri, 'That mask is already an object of the image.');
    if (mask.area === 0) return this.say(doc.uri, 'That mask is empty: there is nothing to accept. Ask again with a clearer description.');
    const category = await this.pickCategory(doc);
    if (!category) return;
    const question = this.conversationOf(doc).turns.slice(0, this.conversationOf(doc).turns.findIndex((t) => t.id === turnId)).reverse().find((t) => t.kind === 'question');
    const prompt = question?.kind === 'question' ? `chat: ${question.parts.map((p) => (p.kind === 'text' ? p.text : `region ${p.region}`)).join('')}` : 'chat';
    this.editors.perform(doc, acceptCandidate(doc.state, { rle: mask.rle, area: mask.area, bbox: mask.bbox, prompt, model: this.engine.model ?? 'unknown' }, category));
  }

  /** The category for an accepted mask: an existing one, or a new name typed into the same box. */
  private async pickCategory(doc: AnnotationEditorDocument): Promise<number | undefined> {
    let categories;
    try {
      categories = (await readCategoriesFile(doc.paths.categoriesFile)).categories;
    } catch (e) {
      this.say(doc.uri, `The category list cannot be read, so nothing can be accepted until it is fixed: ${(e as Error).message}`);
      return undefined;
    }
    const pick = vscode.window.createQuickPick();
    pick.title = 'Category of the new object';
    pick.placeholder = 'Pick a category, or type a new name and press Enter';
    pick.items = categories.map((c) => ({ label: c.name, description: `category ${c.id}` }));
    const chosen = await new Promise<string | undefined>((resolve) => {
      pick.onDidAccept(() => resolve((pick.selectedItems[0]?.label ?? pick.value).trim() || undefined));
      pick.onDidHide(() => resolve(undefined));
      pick.show();
    });
    pick.dispose();
    if (!chosen) return undefined;
    const existing = categories.find((c) => c.name.toLowerCase() === chosen.toLowerCase());
    if (existing) return existing.id;
    const { category } = await addCategory(doc.paths.categoriesFile, chosen);
    this.editors.categoriesChanged(doc.paths.root);
    return category.id;
  }

  // ---- the view's picture -------------------------------------------------------------------------

  view(): ChatStateView {
    const doc = this.document;
    if (!doc) return { image: null, regions: [], objects: [], turns: [], busy: false, problem: 'Open an image with the Pixel-SAIL Image Annotator to ask about it.' };
    const conv = this.conversationOf(doc);
    const { width, height, file_name } = doc.state.image;
    const turns: TurnView[] = conv.turns.map((t) => (t.kind === 'answer'
      ? { kind: 'answer', id: t.id, parts: t.parts, status: t.status, message: t.message, masks: t.masks.map((m) => ({ rle: m.rle, area: m.area, bbox: m.bbox, acceptedAs: acceptedAs(doc.state.annotations, m.rle) })) }
      : t.kind === 'question' ? { kind: 'question', id: t.id, parts: t.parts } : { kind: 'notice', id: t.id, text: t.text }));
    const p = this.pending;
    if (p && p.uri === doc.uri.toString()) {
      if (p.notice?.kind === 'notice') turns.push({ kind: 'notice', id: p.notice.id, text: p.notice.text });
      turns.push({ kind: 'question', id: p.question.id, parts: p.question.parts });
      turns.push({ kind: 'answer', id: p.answerId, parts: p.stream.parts, masks: [], status: 'streaming', progress: this.progressOf(p) });
    }
    for (const t of this.transient.get(doc.uri.toString()) ?? []) if (t.kind === 'notice') turns.push({ kind: 'notice', id: t.id, text: t.text });
    return {
      image: { name: file_name, width, height, src: this.webviewUri(doc.uri) ?? '' },
      regions: conv.regions.map((r) => ({ n: r.n, label: r.source === 'object' ? `object ${r.objectId}` : `marked ${r.spec.kind}` })),
      objects: doc.state.annotations.map((a) => ({ id: a.id, label: `object ${a.id}${a.pixel_sail.caption ? ` — ${a.pixel_sail.caption.slice(0, 40)}` : ''}` })),
      turns,
      busy: !!p,
      problem: doc.problem,
    };
  }

  postState() {
    this.posted.fire({ type: 'state', state: this.view() });
  }

  dispose() {
    this.stop();
    this.stateListeners.forEach((d) => d.dispose());
    this.disposables.forEach((d) => d.dispose());
  }
}

function imageKeyOf(file: string): string {
  try {
    const s = fs.statSync(file);
    return `${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

/** An object's mask as RLE at the image size (polygons are filled). */
function objectRle(a: Annotation, width: number, height: number): Rle {
  const seg = a.segmentation;
  if (!Array.isArray(seg)) return { size: [seg.size[0], seg.size[1]], counts: seg.counts };
  return encodeMask(fillPolygons(seg, height, width), height, width);
}

/** The object whose mask is exactly this RLE (an accepted answer mask), if any. */
function acceptedAs(annotations: readonly Annotation[], rle: Rle): number | undefined {
  return annotations.find((a) => !Array.isArray(a.segmentation) && a.segmentation.counts === rle.counts && a.segmentation.size[0] === rle.size[0] && a.segmentation.size[1] === rle.size[1])?.id;
}

/** An engine failure as a chat message that says what to do. */
export function failureMessage(e: unknown): string {
  const message = (e as Error).message ?? String(e);
  if (e instanceof EngineRequestError) {
    switch (e.code) {
      case 'crashed':
        return `The engine stopped while answering (${message}). It restarts by itself: press Send again.`;
      case 'unavailable':
      case 'model':
        return `The engine is not running: ${message}. Fix the model (setting pixelSail.modelPath) or press Retry in the image editor, then Send again.`;
      case 'timeout':
        return `The engine took too long (${message}). Ask a shorter question, or lower pixelSail.chat.maxNewTokens.`;
      case 'bad-input':
        return `The engine could not answer this: ${message}.`;
      case 'cancelled':
        return 'The request was cancelled.';
      default:
        return `The engine failed: ${message}. Send again; if it keeps failing, see the Pixel-SAIL output.`;
    }
  }
  return `The engine failed: ${message}. Send again; if it keeps failing, see the Pixel-SAIL output.`;
}

export { decodeRle };
