// The image editor's webview: the Prompt box runs the model, the candidate mask is drawn over the image
// with the model's answer beside it, Accept (with a Category) or Reject decide it, and objects can be
// selected, re-categorised and deleted. The webview holds no document: it shows what the host sends and
// asks the host for every change, so undo/redo and saving stay with VS Code. Message shapes are in
// src/editor/protocol.ts, shared with the host.
import type { Category } from '../src/annotations/schema';
import type { CategoryChoice, EngineView, FromWebview, ObjectView, ToWebview } from '../src/editor/protocol';
import type { Rle } from '../src/masks/rle';
import { categoryChoice, readableAnswer } from './choices';
import { maskOf, paintCandidate, paintObject, parseHex } from './overlay';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-label/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import type { VscodeButton } from '@vscode-elements/elements/dist/vscode-button/vscode-button.js';
import type { VscodeTextfield } from '@vscode-elements/elements/dist/vscode-textfield/vscode-textfield.js';
import './editor.css';

declare function acquireVsCodeApi(): { postMessage(message: FromWebview): void };
const vscode = acquireVsCodeApi();
const send = (msg: FromWebview) => vscode.postMessage(msg);

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const canvas = $<HTMLCanvasElement>('canvas');
const ctx = canvas.getContext('2d')!;
const promptBox = document.getElementById('prompt') as unknown as VscodeTextfield;
const answerText = $('answer');
// The Category box stays a native <input> with a <datalist>: it must take a freely typed new name as well
// as a listed one, with Enter to accept, and the platform control does that with its own accessibility.
const categoryBox = $<HTMLInputElement>('category');
const categoryList = $<HTMLDataListElement>('category-list');
const acceptButton = document.getElementById('accept') as unknown as VscodeButton;
const rejectButton = document.getElementById('reject') as unknown as VscodeButton;
const objectList = $<HTMLUListElement>('objects');
const selectionInfo = $('selection');
const legend = $<HTMLOListElement>('legend');
const banner = $('banner');
const bannerText = $('banner-text');
const retryButton = document.getElementById('retry') as unknown as VscodeButton;
const statusLine = $('status');

interface CandidateView {
  prompt: string;
  rle: Rle;
}

const view = {
  image: undefined as HTMLImageElement | undefined,
  name: '',
  objects: [] as ObjectView[],
  categories: [] as Category[],
  candidate: undefined as CandidateView | undefined,
  selected: undefined as number | undefined,
  engine: { state: 'starting' } as EngineView,
  problem: undefined as string | undefined,
  busy: false,
};

const categoryById = (id: number) => view.categories.find((c) => c.id === id);
const categoryName = (id: number) => categoryById(id)?.name ?? `category ${id}`;
const categoryColor = (id: number) => categoryById(id)?.color ?? '#888888';

function render() {
  const img = view.image;
  if (!img) return;
  ctx.drawImage(img, 0, 0);
  const w = canvas.width;
  const h = canvas.height;
  const overlay = new ImageData(w, h);
  for (const o of view.objects) {
    if (!o.rle || o.rle.size[0] !== h || o.rle.size[1] !== w) continue;
    paintObject(overlay, maskOf(o.rle), parseHex(categoryColor(o.categoryId)), o.id === view.selected);
  }
  if (view.candidate && view.candidate.rle.size[0] === h && view.candidate.rle.size[1] === w) paintCandidate(overlay, maskOf(view.candidate.rle));
  // putImageData replaces pixels, so the overlay goes through a second canvas to be blended over the image.
  const layer = document.createElement('canvas');
  layer.width = w;
  layer.height = h;
  layer.getContext('2d')!.putImageData(overlay, 0, 0);
  ctx.drawImage(layer, 0, 0);
  // Hand-drawn objects are polygons; outline them in their colour.
  for (const o of view.objects) {
    if (!o.polygons) continue;
    ctx.strokeStyle = o.id === view.selected ? '#ffffff' : categoryColor(o.categoryId);
    ctx.lineWidth = o.id === view.selected ? 3 : 2;
    for (const poly of o.polygons) {
      ctx.beginPath();
      for (let i = 0; i < poly.length; i += 2) (i ? ctx.lineTo : ctx.moveTo).call(ctx, poly[i], poly[i + 1]);
      ctx.closePath();
      ctx.stroke();
    }
  }
}

/** vscode-button is a custom element: screen readers (and tests) learn it is off from aria-disabled. */
function setEnabled(button: VscodeButton, enabled: boolean) {
  button.disabled = !enabled;
  button.setAttribute('aria-disabled', String(!enabled));
}

function renderControls() {
  const editable = !view.problem || !view.problem.startsWith('The annotation file');
  setEnabled(acceptButton, !!view.candidate && editable);
  setEnabled(rejectButton, !!view.candidate);
  promptBox.disabled = view.engine.state === 'failed';
}

function renderCategories() {
  categoryList.replaceChildren(...view.categories.map((c) => Object.assign(document.createElement('option'), { value: c.name })));
  legend.replaceChildren(
    ...view.categories.map((c, i) => {
      const li = document.createElement('li');
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.backgroundColor = c.color;
      li.append(swatch, `${i < 9 ? `${i + 1} ` : ''}${c.name}`);
      return li;
    }),
  );
}

function renderObjects() {
  objectList.replaceChildren(
    ...view.objects.map((o) => {
      const li = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'object';
      button.setAttribute('aria-pressed', String(o.id === view.selected));
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.backgroundColor = categoryColor(o.categoryId);
      button.append(swatch, `#${o.id} ${categoryName(o.categoryId)}`);
      button.addEventListener('click', () => select(o.id === view.selected ? undefined : o.id));
      li.append(button);
      return li;
    }),
  );
  if (!view.objects.length) objectList.append(Object.assign(document.createElement('li'), { className: 'empty', textContent: 'None yet: type a prompt above.' }));
  const o = view.objects.find((x) => x.id === view.selected);
  if (!o) {
    selectionInfo.replaceChildren();
    return;
  }
  const rows: [string, string][] = [
    ['Object', `#${o.id}`],
    ['Category', categoryName(o.categoryId)],
    ['Origin', o.origin === 'model' ? 'model' : 'human'],
    ['Status', o.status],
    ...(o.prompt ? [['Prompt', `“${o.prompt}”`] as [string, string]] : []),
    ['Area', `${o.area} px`],
  ];
  const dl = document.createElement('dl');
  for (const [k, v] of rows) dl.append(Object.assign(document.createElement('dt'), { textContent: k }), Object.assign(document.createElement('dd'), { textContent: v }));
  const del = document.createElement('vscode-button');
  del.secondary = true;
  del.textContent = 'Delete';
  del.setAttribute('aria-label', 'Delete object');
  del.addEventListener('click', () => send({ type: 'delete', id: o.id }));
  const hint = Object.assign(document.createElement('p'), { className: 'hint', textContent: 'Change its category with 1–9 or the Category box + Enter; Delete removes it.' });
  selectionInfo.replaceChildren(dl, del, hint);
}

function renderStatus() {
  const parts = [`${canvas.width}×${canvas.height}`, `${view.objects.length} object${view.objects.length === 1 ? '' : 's'}`];
  if (view.engine.state === 'starting') parts.push('loading the model…');
  else if (view.engine.state === 'ready') parts.push(view.engine.summary);
  statusLine.textContent = `${view.name} · ${parts.join(' · ')}`;
}

function renderBanner() {
  const engineFailed = view.engine.state === 'failed';
  const engineMessage = engineFailed ? `The Pixel-SAIL engine could not start: ${(view.engine as { message: string }).message}` : undefined;
  // Both can be true at once (a broken store file and a model that does not load); show both.
  const message = [engineMessage, view.problem].filter(Boolean).join('\n') || undefined;
  banner.hidden = !message;
  bannerText.textContent = message ?? '';
  retryButton.hidden = !engineFailed;
}

function renderAll() {
  render();
  renderControls();
  renderCategories();
  renderObjects();
  renderStatus();
  renderBanner();
}

function select(id: number | undefined) {
  view.selected = id;
  render();
  renderObjects();
}


function accept(choice = categoryChoice(categoryBox.value, view.categories)) {
  if (!view.candidate) return;
  if (!choice) {
    answerText.textContent = 'Choose a category first: type a name or press 1–9.';
    categoryBox.focus();
    return;
  }
  send({ type: 'accept', category: choice });
}

function reject() {
  if (!view.candidate) return;
  send({ type: 'reject' });
}

function recategorise(choice: CategoryChoice | undefined) {
  if (view.selected !== undefined && choice) send({ type: 'setCategory', id: view.selected, category: choice });
}

/** 1–9 pick a category: it accepts the candidate, or re-categorises the selected object. */
function shortcut(digit: number) {
  const c = view.categories[digit - 1];
  if (!c) return;
  categoryBox.value = c.name;
  if (view.candidate) accept({ id: c.id });
  else recategorise({ id: c.id });
}

promptBox.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.isComposing) {
    e.preventDefault();
    const text = promptBox.value.trim();
    if (text) send({ type: 'prompt', text });
  } else if (e.key === 'Escape') {
    e.preventDefault();
    promptBox.value = '';
    answerText.textContent = '';
    reject();
  }
});

categoryBox.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.isComposing) {
    e.preventDefault();
    if (view.candidate) accept();
    else recategorise(categoryChoice(categoryBox.value, view.categories));
  }
});

acceptButton.addEventListener('click', () => accept());
rejectButton.addEventListener('click', () => reject());
retryButton.addEventListener('click', () => {
  view.engine = { state: 'starting' };
  renderBanner();
  send({ type: 'retryEngine' });
});

document.addEventListener('keydown', (e) => {
  // Text fields live inside web components' shadow roots: look at where the event began.
  const origin = e.composedPath()[0];
  const typing = origin instanceof HTMLInputElement || origin instanceof HTMLTextAreaElement;
  if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
  if (/^[1-9]$/.test(e.key)) {
    e.preventDefault();
    shortcut(Number(e.key));
  } else if ((e.key === 'Delete' || e.key === 'Backspace') && view.selected !== undefined) {
    e.preventDefault();
    send({ type: 'delete', id: view.selected });
  } else if (e.key === 'Escape') {
    if (view.candidate) reject();
    else select(undefined);
  }
});

canvas.addEventListener('click', (e) => {
  const rect = canvas.getBoundingClientRect();
  const x = Math.floor(((e.clientX - rect.left) / rect.width) * canvas.width);
  const y = Math.floor(((e.clientY - rect.top) / rect.height) * canvas.height);
  if (x < 0 || y < 0 || x >= canvas.width || y >= canvas.height) return;
  // The topmost (last drawn) object under the pointer wins.
  const hit = [...view.objects].reverse().find((o) => o.rle && o.rle.size[0] === canvas.height && maskOf(o.rle)[y * canvas.width + x]);
  select(hit?.id);
});

function loadImage(src: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error('the image could not be decoded by the webview'));
    img.src = src;
  });
}

window.addEventListener('message', async (event: MessageEvent<ToWebview>) => {
  const msg = event.data;
  switch (msg.type) {
    case 'init':
      view.name = msg.image.name;
      view.objects = msg.objects;
      view.categories = msg.categories;
      view.problem = msg.problem;
      try {
        const img = await loadImage(msg.image.src);
        view.image = img;
        canvas.width = img.naturalWidth;
        canvas.height = img.naturalHeight;
        renderAll();
        send({ type: 'imageShown', width: canvas.width, height: canvas.height });
        promptBox.focus();
      } catch (e) {
        statusLine.textContent = (e as Error).message;
        send({ type: 'error', message: (e as Error).message });
      }
      return;
    case 'objects':
      view.objects = msg.objects;
      if (!view.objects.some((o) => o.id === view.selected)) view.selected = undefined;
      render();
      renderObjects();
      renderStatus();
      return;
    case 'categories':
      view.categories = msg.categories;
      renderCategories();
      renderObjects();
      render();
      return;
    case 'engine':
      view.engine = msg.engine;
      renderControls();
      renderStatus();
      renderBanner();
      return;
    case 'busy':
      view.busy = true;
      answerText.textContent = `Segmenting “${msg.prompt}”…`;
      return;
    case 'candidate':
      view.busy = false;
      view.candidate = msg.mask ? { prompt: msg.prompt, rle: msg.mask.rle } : undefined;
      answerText.textContent = msg.mask ? `${readableAnswer(msg.answer) || 'Found'} (${msg.mask.area} px, ${msg.ms} ms)` : 'No target';
      answerText.title = msg.answer;
      render();
      renderControls();
      return;
    case 'candidateCleared':
      view.candidate = undefined;
      answerText.textContent = '';
      render();
      renderControls();
      return;
    case 'promptFailed':
      view.busy = false;
      answerText.textContent = `Failed: ${msg.message}`;
      return;
    case 'problem':
      view.problem = msg.message ?? undefined;
      renderBanner();
      renderControls();
      return;
  }
});

send({ type: 'ready' });
