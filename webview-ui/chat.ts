// The chat view's webview: regions as chips, the conversation (answers streamed token by token, region
// references as chips, masks as thumbnails with Accept), and the message box. Questions leave as parts:
// `@regionN` (what typing @ or clicking a chip inserts) becomes a region reference; all else is text.
import type { AnswerPart, QuestionPart } from '../src/engine/questionParts';
import { maskLabel, regionLabel } from '../src/engine/questionParts';
import type { AnswerProgressView, ChatStateView, MaskView, ToChat, TurnView } from '../src/chat/protocol';
import { toChatSchema } from '../src/chat/protocol';
import { objectOptions } from './chatObjects';
import { parseHostMessage } from './hostMessage';
import { elapsedSeconds, elapsedText, stageText } from '../src/engine/progressText';
import { ChatError, parseMessage } from '../src/chat/conversation';
import { stringToCounts } from '../src/masks/rle';
import './chat.css';

declare function acquireVsCodeApi(): { postMessage(msg: unknown): void };
const vscode = acquireVsCodeApi();
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const turnsEl = $<HTMLOListElement>('turns');
const regionsEl = $<HTMLSpanElement>('regions');
// The chips are rebuilt with each state: a chip replaced under the pointer never gets its mouseleave, so
// leaving the row (which stays) clears the canvas's highlight too.
regionsEl.addEventListener('mouseleave', () => vscode.postMessage({ type: 'highlight', region: null }));
const objectSel = $<HTMLSelectElement>('object');
const message = $<HTMLTextAreaElement>('message');
const sendBtn = $<HTMLButtonElement>('send');
const stopBtn = $<HTMLButtonElement>('stop');
const clearBtn = $<HTMLButtonElement>('clear');
const addBtn = $<HTMLButtonElement>('add-region');
const problem = $<HTMLDivElement>('problem');
const suggest = $<HTMLDivElement>('suggest');

let state: ChatStateView | undefined;
let image: HTMLImageElement | undefined;
/** Send → first token painted, for timing the panel (performance.measure 'chat:first-token'). */
let awaitingFirstToken = false;
let localNotice: string | undefined;
/**
 * The last message from the host that did not fit the protocol (not applied), and its type: the problem area
 * says so until a message of that type is applied again.
 */
let refused: { type: unknown; problem: string } | undefined;

function chip(n: number, interactive: boolean): HTMLElement {
  const el = document.createElement(interactive ? 'button' : 'span');
  el.className = 'chip';
  el.textContent = regionLabel(n);
  el.dataset.region = String(n);
  if (interactive) {
    (el as HTMLButtonElement).type = 'button';
    el.title = `Insert a reference to region ${n}`;
  } else {
    el.setAttribute('role', 'img');
    el.setAttribute('aria-label', regionLabel(n));
  }
  el.addEventListener('mouseenter', () => vscode.postMessage({ type: 'highlight', region: n }));
  el.addEventListener('mouseleave', () => vscode.postMessage({ type: 'highlight', region: null }));
  return el;
}

function insertReference(n: number) {
  const start = message.selectionStart ?? message.value.length;
  const end = message.selectionEnd ?? start;
  // Typing `@` and then picking replaces the `@` just typed.
  const before = message.value.slice(0, start).replace(/@$/, '');
  const ref = `@region${n} `;
  message.value = before + ref + message.value.slice(end);
  const at = before.length + ref.length;
  message.focus();
  message.setSelectionRange(at, at);
  suggest.hidden = true;
}

function renderParts(target: HTMLElement, parts: (AnswerPart | QuestionPart)[]) {
  for (const p of parts) appendPart(target, p);
}

function appendPart(target: HTMLElement, p: AnswerPart | QuestionPart) {
  if (p.kind === 'text') {
    const last = target.lastChild;
    if (last && last.nodeType === Node.TEXT_NODE) last.textContent += p.text;
    else target.append(document.createTextNode(p.text));
  } else if (p.kind === 'region') target.append(chip(p.region, false));
  else {
    const m = document.createElement('span');
    m.className = 'mask-ref';
    m.textContent = maskLabel(p.index);
    target.append(m);
  }
}

function maskThumb(mask: MaskView, index: number, turnId: string): HTMLElement {
  const fig = document.createElement('figure');
  fig.className = 'mask';
  const canvas = document.createElement('canvas');
  const [h, w] = mask.rle.size;
  const scale = Math.min(1, 160 / Math.max(w, h));
  canvas.width = Math.max(1, Math.round(w * scale));
  canvas.height = Math.max(1, Math.round(h * scale));
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', `mask ${index + 1}: ${mask.area} pixels`);
  const draw = () => {
    const ctx = canvas.getContext('2d')!;
    if (image?.complete && image.naturalWidth) ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
    const full = new ImageData(w, h);
    const counts = stringToCounts(mask.rle.counts);
    // COCO RLE is column-major: runs go down columns.
    let pos = 0;
    counts.forEach((c, i) => {
      if (i % 2) for (let k = pos; k < pos + c; k++) {
        const y = k % h, x = Math.floor(k / h), o = (y * w + x) * 4;
        full.data[o] = 255; full.data[o + 1] = 64; full.data[o + 2] = 160; full.data[o + 3] = 150;
      }
      pos += c;
    });
    const tmp = document.createElement('canvas');
    tmp.width = w; tmp.height = h;
    tmp.getContext('2d')!.putImageData(full, 0, 0);
    ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
  };
  if (image && !image.complete) image.addEventListener('load', draw, { once: true });
  draw();
  const cap = document.createElement('figcaption');
  if (mask.acceptedAs) cap.textContent = `mask ${index + 1}: object ${mask.acceptedAs}`;
  else {
    const accept = document.createElement('button');
    accept.type = 'button';
    accept.textContent = 'Accept';
    accept.setAttribute('aria-label', `Accept mask ${index + 1}`);
    accept.addEventListener('click', () => vscode.postMessage({ type: 'accept', turnId, index }));
    cap.append(`mask ${index + 1} `, accept);
  }
  fig.append(canvas, cap);
  return fig;
}

/**
 * When each pending answer was first shown here (this webview's clock), for its elapsed time: the engine
 * cannot tell how far into an image prefill it is, so the stage and the seconds since the question are shown.
 */
const pendingSince = new Map<string, number>();
let progressTimer: ReturnType<typeof setInterval> | undefined;

/**
 * The pending answer's line "Prefilling the image (144 patches, 192 px) · 12 s": a polite live region whose
 * stage words are announced when they change; the ticking seconds are for the eye only (aria-hidden), or a
 * screen reader would read them out every second.
 */
function progressElement(turnId: string, progress: AnswerProgressView | undefined): HTMLElement {
  const el = document.createElement('div');
  el.className = 'progress';
  el.setAttribute('role', 'status');
  el.setAttribute('aria-live', 'polite');
  el.setAttribute('aria-label', 'Answer progress');
  const words = document.createElement('span');
  words.className = 'stage';
  const time = document.createElement('span');
  time.className = 'elapsed';
  time.setAttribute('aria-hidden', 'true');
  el.append(words, ' ', time);
  if (!pendingSince.has(turnId)) pendingSince.set(turnId, Date.now());
  showProgress(el, turnId, progress);
  return el;
}

function showProgress(el: HTMLElement, turnId: string, progress: AnswerProgressView | undefined) {
  const words = stageText(progress?.stage, progress?.engineStarting ?? false);
  const stage = el.querySelector<HTMLElement>('.stage')!;
  if (stage.textContent !== words) stage.textContent = words;
  el.querySelector<HTMLElement>('.elapsed')!.textContent = elapsedText(elapsedSeconds(pendingSince.get(turnId) ?? Date.now(), Date.now()));
}

/** Ticks the seconds of the pending answers on screen; stops when there are none. */
function tickProgress() {
  const shown = turnsEl.querySelectorAll<HTMLElement>('li.answer[data-status="streaming"] .progress .elapsed');
  if (!shown.length) {
    clearInterval(progressTimer);
    progressTimer = undefined;
    return;
  }
  progressTimer ??= setInterval(tickProgress, 1000);
  shown.forEach((el) => {
    const since = pendingSince.get(el.closest<HTMLElement>('li')?.dataset.turn ?? '');
    if (since !== undefined) el.textContent = elapsedText(elapsedSeconds(since, Date.now()));
  });
}

function turnElement(t: TurnView): HTMLLIElement {
  const li = document.createElement('li');
  li.className = `turn ${t.kind}`;
  li.dataset.turn = t.id;
  if (t.kind === 'notice') {
    li.setAttribute('aria-label', 'Notice');
    li.textContent = t.text;
    return li;
  }
  const who = document.createElement('div');
  who.className = 'who';
  who.textContent = t.kind === 'question' ? 'You' : 'Pixel-SAIL';
  const body = document.createElement('div');
  body.className = 'body';
  renderParts(body, t.parts);
  li.setAttribute('aria-label', t.kind === 'question' ? 'Question' : 'Answer');
  li.append(who, body);
  if (t.kind === 'answer') {
    li.dataset.status = t.status;
    if (t.status === 'streaming') li.append(progressElement(t.id, t.progress));
    if (t.message) {
      const m = document.createElement('div');
      m.className = t.status === 'failed' ? 'error' : 'note';
      m.setAttribute('role', t.status === 'failed' ? 'alert' : 'status');
      m.textContent = t.message;
      li.append(m);
    }
    if (t.masks.length) {
      const masks = document.createElement('div');
      masks.className = 'masks';
      t.masks.forEach((m, i) => masks.append(maskThumb(m, i, t.id)));
      li.append(masks);
    }
    if (t.status !== 'streaming' && t.parts.length) {
      const tools = document.createElement('div');
      tools.className = 'tools';
      const copy = document.createElement('button');
      copy.type = 'button';
      copy.textContent = 'Copy';
      copy.setAttribute('aria-label', 'Copy answer');
      copy.addEventListener('click', () => vscode.postMessage({ type: 'copy', turnId: t.id }));
      const caption = document.createElement('button');
      caption.type = 'button';
      caption.textContent = 'Use as caption';
      caption.title = 'Use this answer as the caption of the object chosen under Object';
      caption.disabled = !objectSel.value;
      caption.addEventListener('click', () => objectSel.value && vscode.postMessage({ type: 'useAsCaption', turnId: t.id, objectId: Number(objectSel.value) }));
      tools.append(copy, caption);
      li.append(tools);
    }
  }
  return li;
}

/**
 * Each turn's element is kept while the turn is unchanged: rebuilding every turn (mask thumbnails decoded from
 * their RLE) on each state message made a long conversation's state cost tens of ms in this webview, and
 * the streamed tokens behind it waited that long (bench:ui: host → panel 57 ms p50 for a 20-question chat).
 */
let keptTurns = new Map<string, { signature: string; el: HTMLLIElement }>();
function keptTurnElement(t: TurnView): HTMLLIElement {
  const signature = `${objectSel.value ? 1 : 0}${JSON.stringify(t)}`;
  const kept = keptTurns.get(t.id);
  if (kept && kept.signature === signature) return kept.el;
  const el = turnElement(t);
  keptTurns.set(t.id, { signature, el });
  return el;
}

function render() {
  renderProblem();
  if (!state) return;
  if (state.image && (!image || image.src !== state.image.src) && state.image.src) {
    image = new Image();
    image.src = state.image.src;
  }
  regionsEl.replaceChildren(...state.regions.map((r) => {
    const wrap = document.createElement('span');
    wrap.className = 'region';
    const c = chip(r.n, true);
    c.title = `${r.label}: click to refer to it`;
    c.addEventListener('click', () => insertReference(r.n));
    const d = document.createElement('button');
    d.type = 'button';
    d.className = 'describe';
    d.textContent = 'Describe';
    d.setAttribute('aria-label', `Describe region ${r.n}`);
    d.disabled = state!.busy;
    d.addEventListener('click', () => { markSent(); vscode.postMessage({ type: 'describe', region: r.n }); });
    wrap.append(c, d);
    return wrap;
  }));
  const chosen = objectSel.value;
  // Without an image the problem line says to open one; the list stays empty then.
  objectSel.replaceChildren(...(state.image ? objectOptions(state.objects) : []).map((o) => Object.assign(new Option(o.label, o.value, o.disabled, o.disabled), { disabled: o.disabled })));
  if (state.objects.some((o) => String(o.id) === chosen)) objectSel.value = chosen;
  addBtn.disabled = !state.objects.length || !state.image;
  const atBottom = turnsEl.scrollHeight - turnsEl.scrollTop - turnsEl.clientHeight < 40;
  turnsEl.replaceChildren(...state.turns.map(keptTurnElement));
  const shown = new Set(state.turns.map((t) => t.id));
  keptTurns = new Map([...keptTurns].filter(([id]) => shown.has(id)));
  const streaming = new Set(state.turns.filter((t) => t.kind === 'answer' && t.status === 'streaming').map((t) => t.id));
  for (const id of pendingSince.keys()) if (!streaming.has(id)) pendingSince.delete(id);
  tickProgress();
  if (localNotice) {
    const li = document.createElement('li');
    li.className = 'turn notice';
    li.setAttribute('role', 'alert');
    li.textContent = localNotice;
    turnsEl.append(li);
  }
  if (atBottom) turnsEl.scrollTop = turnsEl.scrollHeight;
  sendBtn.disabled = state.busy || !state.image;
  stopBtn.disabled = !state.busy;
  clearBtn.disabled = !state.image;
  message.disabled = !state.image;
}

/** The store's or the view's problem (state.problem) and a refused message from the host, one per line. */
function renderProblem() {
  const text = [state?.problem, refused?.problem].filter(Boolean).join('\n');
  problem.hidden = !text;
  problem.textContent = text;
}

/**
 * A message from the host that fits the protocol, or undefined: one that does not is not applied (what is on
 * screen stays), the problem area says so, and the host logs it (the `error` message).
 */
function checked(data: unknown): ToChat | undefined {
  const parsed = parseHostMessage(toChatSchema, data, 'chat');
  const type = (data as { type?: unknown } | null)?.type;
  if (!parsed.ok) {
    refused = { type, problem: parsed.problem };
    renderProblem();
    vscode.postMessage({ type: 'error', message: parsed.problem });
    return undefined;
  }
  if (refused && refused.type === type) {
    refused = undefined;
    renderProblem();
  }
  return parsed.message;
}

/** A streamed token's way (epoch ms): the worker had it, the host had it, the host posted it, it arrived here. */
interface TokenWay { producedAt: number; hostAt: number; postedAt: number; arrivedAt: number }

/** Tokens appended since the last frame. */
let unpainted: TokenWay[] = [];

/**
 * For bench:ui's "does the panel keep up with the engine": each token gets a mark `chat:token-painted` at the
 * frame that shows it (its startTime + performance.timeOrigin is when, in epoch ms), with the times of the
 * same token's earlier hops as its detail (TokenWay), so rates and the lag per token compare like for like.
 */
function tokenPainted(way: TokenWay) {
  if (!unpainted.length) {
    requestAnimationFrame(() => {
      for (const w of unpainted) performance.mark('chat:token-painted', { detail: w });
      unpainted = [];
    });
  }
  unpainted.push(way);
}

function markSent() {
  localNotice = undefined;
  awaitingFirstToken = true;
  performance.clearMarks('chat:send');
  performance.mark('chat:send');
  // The painted tokens' marks are kept for one answer at a time (bench:ui reads them before the next Send).
  performance.clearMarks('chat:token-painted');
}

function send() {
  if (!state?.image || state.busy) return;
  let question: QuestionPart[];
  try {
    question = parseMessage(message.value, state.regions.length);
  } catch (e) {
    localNotice = e instanceof ChatError ? e.message : String(e);
    render();
    return;
  }
  markSent();
  vscode.postMessage({ type: 'send', question, sentAt: Date.now() });
  message.value = '';
}

$<HTMLFormElement>('composer').addEventListener('submit', (e) => {
  e.preventDefault();
  send();
});
message.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) {
    e.preventDefault();
    send();
  } else if (e.key === 'Escape') suggest.hidden = true;
});
message.addEventListener('input', () => {
  const before = message.value.slice(0, message.selectionStart ?? 0);
  if (before.endsWith('@') && state?.regions.length) {
    suggest.replaceChildren(...state.regions.map((r) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.setAttribute('role', 'option');
      b.textContent = `region ${r.n}`;
      b.addEventListener('mousedown', (ev) => { ev.preventDefault(); insertReference(r.n); });
      return b;
    }));
    suggest.hidden = false;
  } else suggest.hidden = true;
});
stopBtn.addEventListener('click', () => vscode.postMessage({ type: 'stop' }));
clearBtn.addEventListener('click', () => {
  localNotice = undefined;
  vscode.postMessage({ type: 'clear' });
});
addBtn.addEventListener('click', () => objectSel.value && vscode.postMessage({ type: 'addObjectRegion', objectId: Number(objectSel.value) }));
objectSel.addEventListener('change', () => render());

window.addEventListener('message', (ev: MessageEvent<unknown>) => {
  const msg = checked(ev.data);
  if (!msg) return;
  if (msg.type === 'state') {
    state = msg.state;
    render();
  } else if (msg.type === 'tokens') {
    const li = turnsEl.querySelector<HTMLLIElement>(`li[data-turn="${CSS.escape(msg.turnId)}"] .body`);
    if (!li) return;
    const arrivedAt = performance.timeOrigin + performance.now();
    msg.parts.forEach((part, i) => {
      appendPart(li, part);
      tokenPainted({ producedAt: msg.producedAt[i], hostAt: msg.hostAt[i], postedAt: msg.postedAt, arrivedAt });
    });
    if (awaitingFirstToken) {
      awaitingFirstToken = false;
      // Measured after the browser has painted the token: the next frame.
      requestAnimationFrame(() => {
        performance.mark('chat:first-token');
        performance.measure('chat:send-to-first-token', 'chat:send', 'chat:first-token');
      });
    }
    turnsEl.scrollTop = turnsEl.scrollHeight;
  } else if (msg.type === 'progress') {
    const el = turnsEl.querySelector<HTMLElement>(`li[data-turn="${CSS.escape(msg.turnId)}"] .progress`);
    if (el) showProgress(el, msg.turnId, msg.progress);
  } else if (msg.type === 'highlightFromCanvas') {
    regionsEl.querySelectorAll('.chip').forEach((c) => c.classList.toggle('lit', (c as HTMLElement).dataset.region === String(msg.region)));
  }
});
window.addEventListener('error', (e) => vscode.postMessage({ type: 'error', message: String(e.message).slice(0, 4000) }));
vscode.postMessage({ type: 'ready' });
