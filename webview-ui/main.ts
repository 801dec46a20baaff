// The image editor's webview: the Prompt box runs the model, the candidate mask is drawn over the image
// with the model's answer beside it, Accept (with a Category) or Reject decide it, and objects can be
// selected, re-categorised and deleted. The webview holds no document: it shows what the host sends and
// asks the host for every change, so undo/redo and saving stay with VS Code. Message shapes are in
// src/editor/protocol.ts, shared with the host; every message from the host is checked against them first.
import type { Category } from '../src/annotations/schema';
import type { CategoryChoice, ChatRegionView, EngineView, FromWebview, HostTiming, ObjectView, ToWebview } from '../src/editor/protocol';
import { toWebviewSchema } from '../src/editor/protocol';
import { parseHostMessage } from './hostMessage';
import type { Rle } from '../src/masks/rle';
import { categoryChoice, noCategoryForKey, readableAnswer } from './choices';
import { decodedOf, maskHas } from './overlay';
import { candidateLayer as paintCandidateLayer, colourLayer, drawLayer, drawObjects, Layer } from './layers';
import { emptyRegionPrompt, isEmptyRegionPrompt, RegionPrompt } from '../src/editor/regionPrompt';
import { elapsedSeconds, progressLine, stageText } from '../src/engine/progressText';
import { PROGRESS_AFTER_MS } from '../src/editor/progressDelay';
import { fitView, panBy, pixelAt, toImage, toScreen, Viewport, zoomAt, zoomStep, zoomTo } from './viewport';
import { statusLineText } from './statusLine';
import { closesPolygon, nextSize, pressBesideImageDraws, roundCoord, thinPath, Tool, TOOL_KEYS } from './tools';
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
/**
 * The answer line says `text`. The line is one line cut with an ellipsis (a long text must not re-flow the
 * toolbar), so the whole text is also its tooltip: every message goes through here, or the tooltip of a cut
 * message would still read an earlier answer.
 */
function say(text: string) {
  answerText.textContent = text;
  answerText.title = text;
}
// The Category box stays a native <input> with a <datalist>: it must take a freely typed new name as well
// as a listed one, with Enter to accept, and the platform control does that with its own accessibility.
const categoryBox = $<HTMLInputElement>('category');
const categoryList = $<HTMLDataListElement>('category-list');
const acceptButton = document.getElementById('accept') as unknown as VscodeButton;
const rejectButton = document.getElementById('reject') as unknown as VscodeButton;
const objectList = $<HTMLUListElement>('objects');
const selectionInfo = $('selection');
const reviewSection = $('review');
const reviewProgress = $('review-progress');
const reviewPrevious = $<HTMLButtonElement>('review-previous');
const reviewNext = $<HTMLButtonElement>('review-next');
const acceptAllButton = $<HTMLButtonElement>('accept-all');
let review: Extract<ToWebview, { type: 'review' }> | undefined;
const legend = $<HTMLOListElement>('legend');
const banner = $('banner');
const bannerText = $('banner-text');
const retryButton = document.getElementById('retry') as unknown as VscodeButton;
const progressArea = $('progress');
const progressText = $('progress-text');
const cancelButton = document.getElementById('cancel-run') as unknown as VscodeButton;
const statusLine = $('status');
const stage = $('stage');
const toolButtons = Array.from(document.querySelectorAll<HTMLButtonElement>('button.tool'));
const describeButton = $<HTMLButtonElement>('describe');
const sizeLabel = $('size');
const zoomLabel = $('zoom');
const opacitySlider = $<HTMLInputElement>('opacity');
const showAllBox = $<HTMLInputElement>('show-all');

interface CandidateView {
  prompt: string;
  rle: Rle;
  bbox: [number, number, number, number];
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
  /**
   * The last message from the host that did not fit the protocol (not applied), and its type: the banner
   * says so until a message of that type is applied again.
   */
  refused: undefined as { type: unknown; problem: string } | undefined,
  busy: false,
  viewport: { scale: 1, tx: 0, ty: 0 } as Viewport,
  tool: 'select' as Tool,
  /** The visual prompt being placed; every change is sent to the host, which runs it. */
  regionPrompt: emptyRegionPrompt() as RegionPrompt,
  drag: undefined as
    | { kind: 'pan'; lastX: number; lastY: number }
    | { kind: 'box'; start: { x: number; y: number }; end: { x: number; y: number } }
    | { kind: 'scribble' | 'stroke'; points: { x: number; y: number }[] }
    /** A vertex of a hand-drawn polygon being moved: the object's polygons as they are while dragging. */
    | { kind: 'vertex'; id: number; part: number; index: number; polygons: number[][]; moved: boolean }
    | undefined,
  /** Vertices of the polygon being drawn (image coordinates). */
  polygon: [] as { x: number; y: number }[],
  /** The pointer in image coordinates while it is over the canvas. */
  pointer: undefined as { x: number; y: number } | undefined,
  /** Brush, eraser and scribble width in image pixels. */
  size: 12,
  /** Fill opacity of the masks (outlines stay solid). */
  opacity: 0.4,
  showMasks: true,
  hidden: new Set<number>(),
  hovered: undefined as number | undefined,
  describing: undefined as number | undefined,
  spaceHeld: false,
  pendingPaintMark: false,
  /** The chat's regions of this image, its answer masks on show, and the region lit from either side. */
  chatRegions: [] as ChatRegionView[],
  chatMasks: undefined as { turnId: string; masks: { rle: Rle; bbox: [number, number, number, number] }[] } | undefined,
  /** Region hovered as a chip in the chat. */
  chatHighlight: null as number | null,
  /** Region under the pointer on the canvas. */
  canvasChatHover: null as number | null,
};

/**
 * What the engine is doing for this editor: the prompt and/or the describe running, the stage each reached,
 * and since when (counted here: the engine cannot report a fraction of a model run, so the time is shown).
 */
type ProgressMsg = Extract<ToWebview, { type: 'progress' }>;
const running = {
  prompt: undefined as { since: number; stage?: ProgressMsg } | undefined,
  describe: undefined as { since: number; stage?: ProgressMsg } | undefined,
};
let progressTimer: ReturnType<typeof setInterval> | undefined;

let progressShowTimer: ReturnType<typeof setTimeout> | undefined;

function renderProgress() {
  const job = running.prompt ?? running.describe;
  // Shown once the run has lasted PROGRESS_AFTER_MS (progressDelay.ts): a quicker answer never flashes it.
  const waited = job ? Date.now() - Math.min(running.prompt?.since ?? Infinity, running.describe?.since ?? Infinity) : 0;
  progressArea.hidden = !job || waited < PROGRESS_AFTER_MS;
  if (!job || waited < PROGRESS_AFTER_MS) {
    clearInterval(progressTimer);
    progressTimer = undefined;
    clearTimeout(progressShowTimer);
    progressShowTimer = job ? setTimeout(renderProgress, PROGRESS_AFTER_MS - waited) : undefined;
    return;
  }
  progressTimer ??= setInterval(renderProgress, 1000);
  const doing = stageText(job.stage, view.engine.state === 'starting');
  progressText.textContent = `${running.prompt ? '' : 'Describe: '}${progressLine(doing, elapsedSeconds(job.since, Date.now()))}`;
}

function startRunning(what: 'prompt' | 'describe') {
  running[what] = { since: Date.now() };
  renderProgress();
}

function stopRunning(what: 'prompt' | 'describe') {
  running[what] = undefined;
  renderProgress();
}

cancelButton.addEventListener('click', () => send({ type: 'cancel' }));

const categoryById = (id: number) => view.categories.find((c) => c.id === id);
const categoryName = (id: number) => categoryById(id)?.name ?? `category ${id}`;
const categoryColor = (id: number) => categoryById(id)?.color ?? '#888888';

/**
 * The masks are tiles of their own boxes (layers.ts): each object's are kept between paints, and hover,
 * selection, visibility and opacity only change how they are composited; the candidate's tile is rebuilt
 * when a new candidate arrives. So a prompt's answer paints only its own pixels however large the image.
 */
let candidateLayer: Layer | undefined;
/** The candidate's RLE its tile was painted for (hover, opacity and the rest leave the tile as it is). */
let candidateLayerFor: Rle | undefined;
let candidateDirty = true;

function buildCandidateLayer(w: number, h: number) {
  candidateDirty = false;
  const c = view.candidate;
  candidateLayerFor = c?.rle;
  // The stage marks come for an answer without a mask too (as stages of no work), so every prompt has them.
  const mark = (name: string) => view.pendingPaintMark && performance.mark(name);
  if (!c || c.rle.size[0] !== h || c.rle.size[1] !== w) {
    candidateLayer = undefined;
    mark('pixel-sail:candidate-decoded');
    mark('pixel-sail:candidate-layer-built');
    return;
  }
  decodedOf(c.rle); // decoded here (and kept) so that its time is its own stage
  mark('pixel-sail:candidate-decoded');
  candidateLayer = paintCandidateLayer(c.rle, candidateLayer?.canvas);
  mark('pixel-sail:candidate-layer-built');
}

/** Repaints: objects, selection, hover, visibility or opacity changed (all of which only recomposite the tiles). */
function render() {
  paint();
}

/** A new or cleared candidate: only its layer is rebuilt. */
function renderCandidate() {
  candidateDirty = true;
  paint();
}

let paintRequest: number | undefined;
/** Repaints on the next animation frame (pointer moves come faster than frames). */
function schedulePaint() {
  if (paintRequest !== undefined) return;
  paintRequest = requestAnimationFrame(() => {
    paintRequest = undefined;
    paint();
  });
}

function resizeCanvas() {
  const dpr = window.devicePixelRatio || 1;
  const w = stage.clientWidth;
  const h = stage.clientHeight;
  if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    canvas.style.width = `${w}px`;
    canvas.style.height = `${h}px`;
  }
}

/**
 * The image as the view shows it, drawn through the viewport into a canvas of the view's size, kept while the
 * image, the view and the canvas's size stay the same: a paint then copies it one to one instead of drawing the
 * image at its full resolution again, which the browser rasterises on this thread at the end of the paint's
 * task (so every answer's frame waited for 4000 × 3000 pixels smoothed down, the page's other work with it).
 * While a pan drags the view every frame, the image is drawn directly (a kept copy would be redrawn anyway).
 */
const viewImage = { canvas: document.createElement('canvas'), img: undefined as HTMLImageElement | undefined, key: '' };
function drawViewImage(img: HTMLImageElement, v: Viewport, dpr: number) {
  const through = (g: CanvasRenderingContext2D) => {
    g.setTransform(dpr * v.scale, 0, 0, dpr * v.scale, dpr * v.tx, dpr * v.ty);
    // Zoomed in, pixels stay crisp squares; zoomed out, the browser's smoothing downscales.
    g.imageSmoothingEnabled = v.scale < 1;
    g.drawImage(img, 0, 0);
  };
  if (view.drag?.kind === 'pan') {
    through(ctx);
    return;
  }
  const key = `${canvas.width}x${canvas.height}|${dpr}|${v.scale}|${v.tx}|${v.ty}`;
  const c = viewImage.canvas;
  if (viewImage.img !== img || viewImage.key !== key) {
    if (c.width !== canvas.width || c.height !== canvas.height) {
      c.width = canvas.width;
      c.height = canvas.height;
    }
    const g = c.getContext('2d')!;
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.clearRect(0, 0, c.width, c.height);
    through(g);
    viewImage.img = img;
    viewImage.key = key;
  }
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(c, 0, 0);
}

/** Draws image, masks and prompt geometry through the viewport (the image is scaled, masks keep full resolution). */
function paint() {
  const img = view.image;
  if (!img) return;
  resizeCanvas();
  const dpr = window.devicePixelRatio || 1;
  const w = img.naturalWidth;
  const h = img.naturalHeight;
  if (candidateDirty || candidateLayerFor !== view.candidate?.rle) buildCandidateLayer(w, h);
  const v = view.viewport;
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  drawViewImage(img, v, dpr);
  ctx.setTransform(dpr * v.scale, 0, 0, dpr * v.scale, dpr * v.tx, dpr * v.ty);
  ctx.imageSmoothingEnabled = v.scale < 1;
  // Masks too: smoothed when shown downscaled (no moiré in the stripes), crisp pixels when zoomed in.
  if (view.showMasks) {
    const shown = view.objects.filter((o) => o.rle && o.rle.size[0] === h && o.rle.size[1] === w && !view.hidden.has(o.id));
    drawObjects(ctx, shown.map((o) => ({ rle: o.rle!, colour: categoryColor(o.categoryId), proposed: o.status === 'proposed', strong: o.id === view.selected || o.id === view.hovered })), view.opacity);
  }
  if (candidateLayer) drawLayer(ctx, candidateLayer);
  paintChatMasks(w, h);
  // Everything else is drawn in screen space, so lines keep their width at any zoom.
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const path = (pts: { x: number; y: number }[], close: boolean) => {
    ctx.beginPath();
    pts.forEach((p, i) => {
      const s = toScreen(v, p.x, p.y);
      if (i) ctx.lineTo(s.x, s.y);
      else ctx.moveTo(s.x, s.y);
    });
    if (close) ctx.closePath();
  };
  const flatPoints = (flat: number[]) => Array.from({ length: flat.length / 2 }, (_, i) => ({ x: flat[2 * i], y: flat[2 * i + 1] }));
  if (view.showMasks) {
    for (const o of view.objects) {
      if (!o.polygons || view.hidden.has(o.id)) continue;
      const strong = o.id === view.selected || o.id === view.hovered;
      const polygons = view.drag?.kind === 'vertex' && view.drag.id === o.id ? view.drag.polygons : o.polygons;
      ctx.strokeStyle = strong ? '#ffffff' : categoryColor(o.categoryId);
      ctx.lineWidth = strong ? 3 : 2;
      for (const poly of polygons) {
        path(flatPoints(poly), true);
        ctx.globalAlpha = view.opacity;
        ctx.fillStyle = categoryColor(o.categoryId);
        ctx.fill();
        ctx.globalAlpha = 1;
        ctx.stroke();
      }
    }
  }
  // Vertex handles of the selected hand-drawn object (drag one with Select to move it).
  const selectedPolygons = view.tool === 'select' ? polygonsOf(view.selected) : undefined;
  if (selectedPolygons && view.showMasks) {
    ctx.fillStyle = '#ffffff';
    ctx.strokeStyle = '#000000';
    ctx.lineWidth = 1;
    for (const poly of selectedPolygons) {
      for (let i = 0; i < poly.length; i += 2) {
        const p = toScreen(v, poly[i], poly[i + 1]);
        ctx.fillRect(p.x - 4, p.y - 4, 8, 8);
        ctx.strokeRect(p.x - 4, p.y - 4, 8, 8);
      }
    }
  }
  // The visual prompt: scribbles, the box, then the points on top.
  const rp = view.regionPrompt;
  ctx.lineCap = 'round';
  ctx.lineJoin = 'round';
  for (const s of [...rp.scribbles, ...(view.drag?.kind === 'scribble' ? [{ points: view.drag.points, width: view.size }] : [])]) {
    path(s.points, false);
    ctx.strokeStyle = 'rgba(80, 220, 120, 0.7)';
    ctx.lineWidth = Math.max(1, s.width * v.scale);
    ctx.stroke();
  }
  const box = view.drag?.kind === 'box' ? boxOf(view.drag.start, view.drag.end) : rp.box;
  if (box) {
    const a = toScreen(v, box.x, box.y);
    ctx.setLineDash([6, 4]);
    ctx.strokeStyle = '#50dc78';
    ctx.lineWidth = 2;
    ctx.strokeRect(a.x, a.y, box.w * v.scale, box.h * v.scale);
    ctx.setLineDash([]);
  }
  for (const p of rp.points) {
    const s = toScreen(v, p.x + 0.5, p.y + 0.5);
    ctx.beginPath();
    ctx.arc(s.x, s.y, 6, 0, 2 * Math.PI);
    ctx.fillStyle = p.positive ? '#2ecc40' : '#ff4136';
    ctx.fill();
    ctx.strokeStyle = '#ffffff';
    ctx.lineWidth = 2;
    ctx.stroke();
  }
  paintChatHighlight();
  // Brush and eraser strokes being drawn, and the polygon being built.
  if (view.drag?.kind === 'stroke') {
    path(view.drag.points, false);
    ctx.strokeStyle = view.tool === 'eraser' ? 'rgba(255, 65, 54, 0.6)' : 'rgba(255, 255, 255, 0.6)';
    ctx.lineWidth = Math.max(1, view.size * v.scale);
    ctx.stroke();
  }
  if (view.polygon.length) {
    path(view.polygon, false);
    if (view.pointer) {
      const s = toScreen(v, view.pointer.x, view.pointer.y);
      ctx.lineTo(s.x, s.y);
    }
    ctx.strokeStyle = '#ffdc00';
    ctx.lineWidth = 2;
    ctx.stroke();
    for (const [i, p] of view.polygon.entries()) {
      const s = toScreen(v, p.x, p.y);
      ctx.fillStyle = i === 0 ? '#ffffff' : '#ffdc00';
      ctx.fillRect(s.x - 3, s.y - 3, 6, 6);
    }
  }
  // The brush's footprint under the pointer.
  if (view.pointer && (view.tool === 'brush' || view.tool === 'eraser' || view.tool === 'scribble')) {
    const s = toScreen(v, view.pointer.x, view.pointer.y);
    ctx.beginPath();
    ctx.arc(s.x, s.y, Math.max(1, (view.size * v.scale) / 2), 0, 2 * Math.PI);
    ctx.strokeStyle = '#ffffff';
    ctx.lineWidth = 1;
    ctx.stroke();
  }
  if (view.pendingPaintMark) {
    // "prompt submitted → overlay painted" ends at the frame after this draw (bench:ui reads the measure).
    view.pendingPaintMark = false;
    performance.mark('pixel-sail:candidate-drawn');
    requestAnimationFrame(() => {
      performance.mark('pixel-sail:overlay-painted');
      measureStages();
    });
  }
}

/**
 * prompt-to-paint is what the user feels; candidate-to-paint is the webview's own share of it (decode,
 * paint, frame); the rest is the host and the engine (the candidate message's `ms` is the engine's wall time).
 * The stages split the webview's share: RLE decode, the candidate's layer, drawing the view, and the wait
 * for the frame that shows it (bench:ui reports each one's p50).
 */
function measureStages() {
  const measure = (name: string, from: string, to: string) => {
    try {
      performance.measure(name, from, to);
    } catch {
      // a mark is missing (a candidate restored without a prompt, or one without a mask): nothing to measure
    }
  };
  measure('pixel-sail:candidate-to-paint', 'pixel-sail:candidate-received', 'pixel-sail:overlay-painted');
  measure('pixel-sail:stage:decode', 'pixel-sail:candidate-received', 'pixel-sail:candidate-decoded');
  measure('pixel-sail:stage:layer', 'pixel-sail:candidate-decoded', 'pixel-sail:candidate-layer-built');
  measure('pixel-sail:stage:draw', 'pixel-sail:candidate-layer-built', 'pixel-sail:candidate-drawn');
  measure('pixel-sail:stage:frame', 'pixel-sail:candidate-drawn', 'pixel-sail:overlay-painted');
  measure('pixel-sail:prompt-to-candidate', 'pixel-sail:prompt-submitted', 'pixel-sail:candidate-received');
  measureHops();
  // Last: bench:ui waits for this one, so the others are there when it reads them.
  measure('pixel-sail:prompt-to-paint', 'pixel-sail:prompt-submitted', 'pixel-sail:overlay-painted');
  // Under bench:ui only, after the measures: the candidate message's size as JSON (the form it crosses the hops in).
  if (benchEchoInstalled && lastCandidate) performance.mark('pixel-sail:candidate-bytes', { detail: JSON.stringify(lastCandidate).length });
  lastCandidate = undefined;
  for (const m of ['candidate-received', 'candidate-decoded', 'candidate-layer-built', 'candidate-drawn']) performance.clearMarks(`pixel-sail:${m}`);
}

/**
 * prompt-to-candidate split by process from the host's time stamps (the same system clock, epoch ms): the
 * prompt's way to the extension host, the host's own work, the host ↔ worker IPC (the host's wait minus the
 * worker's engine time), and the answer's way back to this webview.
 */
function measureHops() {
  const submitted = performance.getEntriesByName('pixel-sail:prompt-submitted').pop();
  const received = performance.getEntriesByName('pixel-sail:candidate-received').pop() as PerformanceMark | undefined;
  const host = received?.detail as HostTiming | undefined;
  if (!submitted || !received || !host) return;
  const page = (epoch: number) => epoch - performance.timeOrigin;
  const span = (name: string, start: number, end: number) => {
    try {
      performance.measure(`pixel-sail:hop:${name}`, { start, end });
    } catch {
      // a time before this page's origin (a clock step between processes): nothing honest to measure
    }
  };
  span('to-host', submitted.startTime, page(host.receivedAt));
  span('host-and-ipc', page(host.receivedAt), page(host.postedAt) - host.engineMs);
  span('to-webview', page(host.postedAt), received.startTime);
  // The same way for the prompt's busy message, posted as the engine starts its work.
  const busy = performance.getEntriesByName('pixel-sail:busy-received').pop() as PerformanceMark | undefined;
  performance.clearMarks('pixel-sail:busy-received');
  if (busy && typeof busy.detail === 'number' && busy.startTime >= submitted.startTime) span('busy-to-webview', page(busy.detail), busy.startTime);
}

/** The polygons of a hand-drawn object as shown now (mid-drag, the dragged copy). */
function polygonsOf(id: number | undefined): number[][] | undefined {
  if (id === undefined) return undefined;
  if (view.drag?.kind === 'vertex' && view.drag.id === id) return view.drag.polygons;
  return view.objects.find((o) => o.id === id && !view.hidden.has(o.id))?.polygons ?? undefined;
}

function boxOf(a: { x: number; y: number }, b: { x: number; y: number }) {
  return { x: Math.min(a.x, b.x), y: Math.min(a.y, b.y), w: Math.abs(b.x - a.x), h: Math.abs(b.y - a.y) };
}

/** vscode-button is a custom element: screen readers (and tests) learn it is off from aria-disabled. */
function setEnabled(button: VscodeButton, enabled: boolean) {
  button.disabled = !enabled;
  setAttr(button, 'aria-disabled', String(!enabled));
}

// renderControls runs after every answer: writing only what changed keeps the answer's frame from
// re-styling and re-laying out controls that look the same (a text node set to the same text is still a new one).
function setAttr(el: Element, name: string, value: string) {
  if (el.getAttribute(name) !== value) el.setAttribute(name, value);
}
function setText(el: HTMLElement, text: string) {
  if (el.textContent !== text) el.textContent = text;
}

function renderControls() {
  const editable = !view.problem || !view.problem.startsWith('The annotation file');
  setEnabled(acceptButton, !!view.candidate && editable);
  setEnabled(rejectButton, !!view.candidate);
  promptBox.disabled = view.engine.state === 'failed';
  describeButton.disabled = view.selected === undefined || view.describing !== undefined || view.engine.state === 'failed' || !editable;
  for (const b of toolButtons) setAttr(b, 'aria-pressed', String(b.dataset.tool === view.tool));
  setText(sizeLabel, `Size ${view.size} px`);
  setText(zoomLabel, `${Math.round(view.viewport.scale * 100)} %`);
  setAttr(canvas, 'data-tool', view.tool);
}

function renderCategories() {
  categoryList.replaceChildren(...view.categories.map((c) => Object.assign(document.createElement('option'), { value: c.name })));
  legend.replaceChildren(
    ...view.categories.map((c, i) => {
      const li = document.createElement('li');
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.backgroundColor = c.color;
      const label = document.createElement('span');
      label.className = 'category-name';
      label.textContent = `${i < 9 ? `${i + 1} ` : ''}${c.name}`;
      const rename = document.createElement('button');
      rename.type = 'button';
      rename.className = 'rename';
      // The pencil comes from the stylesheet, so the list's text stays "1 name 2 name …" for readers.
      rename.title = `Rename "${c.name}" (every object of it keeps it)`;
      rename.setAttribute('aria-label', `Rename category ${c.name}`);
      rename.addEventListener('click', () => startRename(li, c));
      li.append(swatch, label, rename);
      return li;
    }),
  );
}

/** Swaps a category's name for a text box: Enter renames, Escape or leaving the box cancels. */
function startRename(li: HTMLLIElement, c: Category) {
  const box = document.createElement('input');
  box.type = 'text';
  box.value = c.name;
  box.setAttribute('aria-label', `New name for ${c.name}`);
  const done = () => renderCategories();
  box.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.isComposing) {
      e.preventDefault();
      const name = box.value.trim();
      if (name && name !== c.name) send({ type: 'renameCategory', id: c.id, name });
      done();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      done();
    }
  });
  box.addEventListener('blur', done);
  li.querySelector('.category-name')?.replaceWith(box);
  li.querySelector('.rename')?.remove();
  box.focus();
  box.select();
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
      button.append(swatch, `#${o.id} ${categoryName(o.categoryId)}${o.status === 'proposed' ? ' · proposed' : ''}`);
      button.addEventListener('click', () => select(o.id === view.selected ? undefined : o.id));
      button.addEventListener('mouseenter', () => hover(o.id));
      button.addEventListener('mouseleave', () => hover(undefined));
      const eye = document.createElement('input');
      eye.type = 'checkbox';
      eye.checked = !view.hidden.has(o.id);
      eye.title = 'Show or hide this object';
      eye.setAttribute('aria-label', `Show #${o.id}`);
      eye.addEventListener('change', () => {
        if (eye.checked) view.hidden.delete(o.id);
        else view.hidden.add(o.id);
        render();
      });
      const row = document.createElement('div');
      row.className = 'object-row';
      row.append(eye, button);
      li.append(row);
      if (o.caption) li.append(Object.assign(document.createElement('div'), { className: 'caption', textContent: o.caption }));
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
    ...(o.caption ? [['Caption', o.caption] as [string, string]] : []),
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
  const describe = document.createElement('vscode-button');
  describe.secondary = true;
  describe.textContent = view.describing === o.id ? 'Describing…' : 'Describe';
  describe.setAttribute('aria-label', 'Describe object');
  describe.addEventListener('click', () => describeSelected());
  if (o.status === 'proposed') {
    // A batch job's proposal: the review verdict comes first.
    const accept = reviewButton('Accept proposal', 'Accept this proposal (Y)', () => send({ type: 'review', id: o.id, verdict: 'accept' }));
    const reject = reviewButton('Reject proposal', 'Reject this proposal: it is removed (N)', () => send({ type: 'review', id: o.id, verdict: 'reject' }));
    selectionInfo.replaceChildren(dl, accept, reject, del, describe, hint);
  } else {
    selectionInfo.replaceChildren(dl, del, describe, hint);
  }
}

function reviewButton(label: string, title: string, onClick: () => void): HTMLElement {
  const b = document.createElement('vscode-button');
  b.textContent = label;
  b.title = title;
  b.addEventListener('click', onClick);
  return b;
}

function renderReview() {
  reviewSection.hidden = !review || review.images === 0;
  if (!review || review.images === 0) return;
  const proposedHere = view.objects.filter((o) => o.status === 'proposed').length;
  const folder = `${review.reviewed} of ${review.images} image${review.images === 1 ? '' : 's'} reviewed`;
  const here = proposedHere ? `${proposedHere} proposal${proposedHere === 1 ? '' : 's'} on this image` : 'this image is reviewed';
  reviewProgress.textContent = `${folder} · ${here}${review.message ? ` · ${review.message}` : ''}`;
  reviewPrevious.disabled = !review.hasPrevious;
  reviewNext.disabled = !review.hasNext;
  acceptAllButton.disabled = proposedHere === 0;
}

/** Y / N: the selected proposal accepted or rejected. */
function reviewSelected(verdict: 'accept' | 'reject') {
  const o = view.objects.find((x) => x.id === view.selected);
  if (o?.status === 'proposed') send({ type: 'review', id: o.id, verdict });
}

reviewPrevious.addEventListener('click', () => send({ type: 'goTo', which: 'previous' }));
reviewNext.addEventListener('click', () => send({ type: 'goTo', which: 'nextUnreviewed' }));
acceptAllButton.addEventListener('click', () => send({ type: 'acceptAll' }));

function renderStatus() {
  statusLine.textContent = statusLineText({
    name: view.name, width: imageWidth(), height: imageHeight(), objects: view.objects.length,
    engine: view.engine.state === 'starting' ? 'loading the model…' : view.engine.state === 'ready' ? view.engine.summary : undefined,
    zoomPercent: Math.round(view.viewport.scale * 100), pointer: view.pointer,
  });
}

function renderBanner() {
  const engineFailed = view.engine.state === 'failed';
  const engineMessage = engineFailed ? `The Pixel-SAIL engine could not start: ${(view.engine as { message: string }).message}` : undefined;
  // Both can be true at once (a broken store file and a model that does not load); show both.
  const message = [engineMessage, view.problem, view.refused?.problem].filter(Boolean).join('\n') || undefined;
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

const imageWidth = () => view.image?.naturalWidth ?? 0;
const imageHeight = () => view.image?.naturalHeight ?? 0;

function select(id: number | undefined) {
  view.selected = id;
  render();
  renderObjects();
  renderControls();
}

function hover(id: number | undefined) {
  if (view.hovered === id) return;
  view.hovered = id;
  render();
}

function describeSelected() {
  if (view.selected === undefined || view.describing !== undefined) return;
  send({ type: 'describe', id: view.selected });
}

// ---- visual prompts -------------------------------------------------------------------------------

/** Sends the visual prompt as it now is; the host runs it (a newer one supersedes) or clears the candidate. */
function sendRegionPrompt() {
  if (benchEchoArmed && !isEmptyRegionPrompt(view.regionPrompt)) {
    // bench:ui only: this click's own way (its input events, its marks drawn), with an echo in the prompt's place.
    benchEchoArmed = false;
    echoSentAt = performance.now();
    send({ type: 'benchEcho', text: 'click', withMask: false });
    paintAfterPosting();
    return;
  }
  if (!isEmptyRegionPrompt(view.regionPrompt)) performance.mark('pixel-sail:prompt-submitted');
  else stopRunning('prompt'); // clearing the marks ends a running prompt (the host drops and cancels it)
  send({ type: 'regionPrompt', prompt: view.regionPrompt });
  paintAfterPosting();
}

/**
 * Draws the view (the marks just placed) once the message just posted has left the page. In code-server the
 * workbench relays a webview's message on the page's one main thread and writes it to its socket in a timer
 * task (its ProtocolWriter's setTimeout); a frame requested now would come first after an input event (the
 * browser renders before other tasks then), and with it the repaint of the whole view, the image at full
 * resolution included. Two timer turns put the request behind that write; the marks show a frame later at most.
 */
function paintAfterPosting() {
  // A repaint already asked for (the pointer's move to the click) waits as well.
  if (paintRequest !== undefined) cancelAnimationFrame(paintRequest);
  paintRequest = undefined;
  setTimeout(() => setTimeout(schedulePaint));
}

function clearRegionPrompt() {
  const had = !isEmptyRegionPrompt(view.regionPrompt);
  view.regionPrompt = emptyRegionPrompt();
  if (had) sendRegionPrompt();
}

function setTool(tool: Tool) {
  if (view.tool === tool) return;
  view.tool = tool;
  view.polygon = [];
  view.drag = undefined;
  renderControls();
  paint();
}

// ---- the chat's regions and masks ---------------------------------------------------------------------

const CHAT_COLOUR = '#ffb000';
/** What the answer line says once the cleared candidate is confirmed (after Add to chat). */
let chatNoteAfterClear = '';
/** One layer per answer mask (null: a mask of another size than the image, not drawn), built on first paint. */
let chatMaskLayers: (Layer | null)[] | undefined;
const chatRegionLayers = new Map<string, Layer>();

/**
 * The answer's masks stay here, all of them, until Escape or the next answer: a mask accepted in the chat is
 * an object and is drawn as one, not as the chat's proposal; undo takes the object away and the proposal
 * shows again. (Dropping accepted masks from this list lost them for good on undo.)
 */
function setChatMasks(masks: typeof view.chatMasks) {
  view.chatMasks = masks && masks.masks.length ? masks : undefined;
  chatMaskLayers = undefined;
  paint();
}

function isObjectMask(k: { rle: Rle }): boolean {
  return view.objects.some((o) => o.rle && o.rle.counts === k.rle.counts && o.rle.size[0] === k.rle.size[0] && o.rle.size[1] === k.rle.size[1]);
}

/** The answer's masks that are not (or no longer) objects: the ones drawn in amber. */
function openChatMasks(): number[] {
  const m = view.chatMasks;
  return m ? m.masks.flatMap((k, i) => (isObjectMask(k) ? [] : [i])) : [];
}

/** The objects changed (an Accept in the chat, or its undo): the answer line says what is on the canvas now. */
function chatMasksAfterObjectsChanged(openBefore: number) {
  const m = view.chatMasks;
  if (!m) return;
  const open = openChatMasks().length;
  if (open === openBefore || !answerText.textContent?.startsWith("The chat's")) return;
  say(open === 0
    ? "The chat's mask is now an object (Ctrl+Z undoes it)."
    : open === m.masks.length
      ? chatMasksNote(open)
      : `${open} more of the chat's masks on the canvas (amber).`);
}

function chatMasksNote(n: number) {
  return `The chat's answer has ${n} mask${n === 1 ? '' : 's'} (amber): Accept in the chat makes ${n === 1 ? 'it an object' : 'one an object'}; Escape hides ${n === 1 ? 'it' : 'them'}.`;
}

function paintChatMasks(w: number, h: number) {
  const m = view.chatMasks;
  if (!m || !view.showMasks) return;
  chatMaskLayers ??= m.masks.map((k) => (k.rle.size[0] === h && k.rle.size[1] === w ? colourLayer(k.rle, CHAT_COLOUR, 150) : null));
  for (const i of openChatMasks()) {
    const l = chatMaskLayers[i];
    if (l) drawLayer(ctx, l);
  }
}

/** The outline of the region lit from the chat (a hovered chip) or from the canvas, in screen space. */
function paintChatHighlight() {
  const n = view.chatHighlight ?? view.canvasChatHover;
  const region = n === null ? undefined : view.chatRegions.find((r) => r.n === n);
  if (!region) return;
  const v = view.viewport;
  const spec = region.spec;
  ctx.strokeStyle = CHAT_COLOUR;
  ctx.lineWidth = 3;
  let label = toScreen(v, 0, 0);
  if (spec.kind === 'box') {
    const a = toScreen(v, spec.x, spec.y);
    ctx.strokeRect(a.x, a.y, spec.w * v.scale, spec.h * v.scale);
    label = a;
  } else if (spec.kind === 'points') {
    for (const p of spec.points) {
      const s = toScreen(v, p.x + 0.5, p.y + 0.5);
      ctx.beginPath();
      ctx.arc(s.x, s.y, 9, 0, 2 * Math.PI);
      ctx.stroke();
    }
    label = toScreen(v, spec.points[0].x, spec.points[0].y);
  } else if (spec.kind === 'scribble') {
    ctx.beginPath();
    spec.points.forEach((p, i) => {
      const s = toScreen(v, p.x, p.y);
      if (i) ctx.lineTo(s.x, s.y);
      else ctx.moveTo(s.x, s.y);
    });
    ctx.globalAlpha = 0.6;
    ctx.lineWidth = Math.max(3, (spec.width ?? 8) * v.scale);
    ctx.stroke();
    ctx.globalAlpha = 1;
    label = toScreen(v, spec.points[0].x, spec.points[0].y);
  } else {
    const w = imageWidth(), h = imageHeight();
    if (spec.rle.size[0] !== h || spec.rle.size[1] !== w) return;
    const key = `${n}:${spec.rle.counts}`;
    let layer = chatRegionLayers.get(key);
    if (!layer) {
      if (chatRegionLayers.size > 32) chatRegionLayers.clear();
      layer = colourLayer(spec.rle, CHAT_COLOUR, 0);
      chatRegionLayers.set(key, layer);
    }
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr * v.scale, 0, 0, dpr * v.scale, dpr * v.tx, dpr * v.ty);
    drawLayer(ctx, layer);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    label = toScreen(v, layer.x, layer.y);
  }
  const text = `region ${n}`;
  ctx.font = '12px sans-serif';
  const tw = ctx.measureText(text).width;
  ctx.fillStyle = CHAT_COLOUR;
  ctx.fillRect(label.x, label.y - 18, tw + 8, 16);
  ctx.fillStyle = '#000000';
  ctx.fillText(text, label.x + 4, label.y - 6);
}

/** The chat region under a pixel (the highest number wins, as it is drawn last), or null. */
function chatRegionAt(pixel: { x: number; y: number }, screen: { x: number; y: number }): number | null {
  const v = view.viewport;
  for (const r of [...view.chatRegions].reverse()) {
    const spec = r.spec;
    const near = (p: { x: number; y: number }, radius: number) => {
      const s = toScreen(v, p.x, p.y);
      return Math.hypot(s.x - screen.x, s.y - screen.y) <= radius;
    };
    if (spec.kind === 'box' && pixel.x >= spec.x && pixel.y >= spec.y && pixel.x < spec.x + spec.w && pixel.y < spec.y + spec.h) return r.n;
    if (spec.kind === 'points' && spec.points.some((p) => near({ x: p.x + 0.5, y: p.y + 0.5 }, 9))) return r.n;
    if (spec.kind === 'scribble' && spec.points.some((p) => near(p, Math.max(6, ((spec.width ?? 8) * v.scale) / 2)))) return r.n;
    if (spec.kind === 'rle' && spec.rle.size[0] === imageHeight() && spec.rle.size[1] === imageWidth() && maskHas(decodedOf(spec.rle), pixel.x, pixel.y)) return r.n;
  }
  return null;
}

/** The pointer over a chat region lights it here and its chip in the chat; leaving it clears both. */
function hoverChatRegion(pixel: { x: number; y: number } | undefined, screen: { x: number; y: number } | undefined) {
  const n = pixel && screen && view.chatRegions.length ? chatRegionAt(pixel, screen) : null;
  if (n === view.canvasChatHover) return;
  view.canvasChatHover = n;
  send({ type: 'chatHoverRegion', n });
}

/** Add to chat: the visual prompt's marks become the chat's next region(s); the host answers addedToChat or chatFailed. */
function addToChat() {
  if (isEmptyRegionPrompt(view.regionPrompt)) {
    say('Mark a region first (Positive point, Box or Scribble), then Add to chat.');
    return;
  }
  send({ type: 'addToChat', prompt: view.regionPrompt });
}

$('add-to-chat').addEventListener('click', () => addToChat());

// ---- view -------------------------------------------------------------------------------------------

function setViewport(v: Viewport) {
  view.viewport = v;
  renderControls();
  renderStatus();
  paint();
}

const stageCentre = () => ({ x: stage.clientWidth / 2, y: stage.clientHeight / 2 });
function zoomToFit() {
  if (view.image) setViewport(fitView(imageWidth(), imageHeight(), stage.clientWidth, stage.clientHeight));
}


function accept(choice = categoryChoice(categoryBox.value, view.categories)) {
  if (!view.candidate) return;
  if (!choice) {
    say('Choose a category first: type a name or press 1–9.');
    categoryBox.focus();
    return;
  }
  send({ type: 'accept', category: choice });
}

function reject() {
  if (!view.candidate) return;
  stopRunning('prompt'); // a prompt still running would replace what is rejected: the host drops and cancels it
  send({ type: 'reject' });
}

function recategorise(choice: CategoryChoice | undefined) {
  if (view.selected !== undefined && choice) send({ type: 'setCategory', id: view.selected, category: choice });
}

/** 1–9 pick a category: it accepts the candidate, or re-categorises the selected object. */
function shortcut(digit: number) {
  const c = view.categories[digit - 1];
  if (!c) {
    // Said only when the key had something to act on; otherwise a stray digit stays quiet.
    if (view.candidate || view.selected !== undefined) say(noCategoryForKey(digit, view.categories.length));
    return;
  }
  categoryBox.value = c.name;
  if (view.candidate) accept({ id: c.id });
  else recategorise({ id: c.id });
}

promptBox.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.isComposing) {
    e.preventDefault();
    const text = promptBox.value.trim();
    if (text) {
      // A text prompt is its own mode: it starts a new candidate, so the visual prompt's marks go.
      view.regionPrompt = emptyRegionPrompt();
      performance.mark('pixel-sail:prompt-submitted');
      send({ type: 'prompt', text });
      paintAfterPosting();
    }
  } else if (e.key === 'Escape') {
    e.preventDefault();
    promptBox.value = '';
    say('');
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
  const typing = origin instanceof HTMLInputElement && origin.type === 'text' || origin instanceof HTMLTextAreaElement;
  if (typing || e.ctrlKey || e.metaKey || e.altKey) return;
  const key = e.key.toLowerCase();
  if (e.key === 'PageDown' || e.key === 'PageUp') {
    e.preventDefault();
    send({ type: 'goTo', which: e.key === 'PageDown' ? 'nextUnreviewed' : 'previous' });
  } else if (e.key === 'A' && e.shiftKey) {
    e.preventDefault();
    send({ type: 'acceptAll' });
  } else if (key === 'y' || key === 'n') {
    e.preventDefault();
    reviewSelected(key === 'y' ? 'accept' : 'reject');
  } else if (e.key === ' ') {
    view.spaceHeld = true;
    canvas.classList.add('panning');
    e.preventDefault();
  } else if (/^[1-9]$/.test(e.key)) {
    e.preventDefault();
    shortcut(Number(e.key));
  } else if (TOOL_KEYS[key]) {
    e.preventDefault();
    setTool(TOOL_KEYS[key]);
  } else if (key === 'd') {
    e.preventDefault();
    describeSelected();
  } else if (key === 'c') {
    e.preventDefault();
    addToChat();
  } else if (key === 'f') {
    e.preventDefault();
    zoomToFit();
  } else if (e.key === '0') {
    e.preventDefault();
    const c = stageCentre();
    setViewport(zoomTo(view.viewport, 1, c.x, c.y));
  } else if (e.key === '+' || e.key === '=') {
    e.preventDefault();
    const c = stageCentre();
    setViewport(zoomStep(view.viewport, 1, c.x, c.y));
  } else if (e.key === '-' || e.key === '_') {
    e.preventDefault();
    const c = stageCentre();
    setViewport(zoomStep(view.viewport, -1, c.x, c.y));
  } else if (e.key === '[' || e.key === ']') {
    e.preventDefault();
    view.size = nextSize(view.size, e.key === ']' ? 1 : -1);
    renderControls();
    paint();
  } else if (key === 'h') {
    e.preventDefault();
    showAllBox.checked = !showAllBox.checked;
    setShowMasks(showAllBox.checked);
  } else if ((e.key === 'ArrowDown' || e.key === 'ArrowUp') && view.objects.length && origin instanceof HTMLElement && !(origin instanceof HTMLInputElement)) {
    // The object list by keyboard: arrows move the selection (and the focus, when it is in the list).
    e.preventDefault();
    const at = view.objects.findIndex((o) => o.id === view.selected);
    const next = at < 0 ? (e.key === 'ArrowDown' ? 0 : view.objects.length - 1) : Math.min(view.objects.length - 1, Math.max(0, at + (e.key === 'ArrowDown' ? 1 : -1)));
    const inList = objectList.contains(origin);
    select(view.objects[next].id);
    if (inList) objectList.querySelectorAll<HTMLButtonElement>('button.object')[next]?.focus();
  } else if (e.key === 'Enter' && view.polygon.length) {
    e.preventDefault();
    finishPolygon();
  } else if ((e.key === 'Delete' || e.key === 'Backspace') && view.polygon.length) {
    e.preventDefault();
    view.polygon.pop();
    paint();
  } else if ((e.key === 'Delete' || e.key === 'Backspace') && view.selected !== undefined) {
    e.preventDefault();
    send({ type: 'delete', id: view.selected });
  } else if (e.key === 'Escape') {
    // Escape undoes the most transient thing first: a polygon being drawn, the visual prompt, the candidate, the selection.
    if (view.polygon.length) {
      view.polygon = [];
      paint();
    } else if (!isEmptyRegionPrompt(view.regionPrompt)) clearRegionPrompt();
    else if (view.candidate) reject();
    else if (openChatMasks().length) setChatMasks(undefined);
    else select(undefined);
  }
});

document.addEventListener('keyup', (e) => {
  if (e.key === ' ') {
    view.spaceHeld = false;
    canvas.classList.remove('panning');
  }
});

function setShowMasks(show: boolean) {
  view.showMasks = show;
  render();
}

function finishPolygon() {
  if (view.polygon.length < 3) {
    say('A polygon needs at least three vertices.');
    return;
  }
  const choice = categoryChoice(categoryBox.value, view.categories);
  if (!choice) {
    say('Choose a category first (type a name or press 1–9), then close the polygon.');
    categoryBox.focus();
    return;
  }
  send({ type: 'polygon', points: view.polygon.flatMap((p) => [p.x, p.y]), category: choice });
  view.polygon = [];
  paint();
}

function finishStroke(points: { x: number; y: number }[]) {
  const stroke = { points: thinPath(points, Math.max(0.5, view.size / 8)).map((p) => ({ x: roundCoord(p.x), y: roundCoord(p.y) })), width: view.size };
  if (view.selected !== undefined) {
    send({ type: 'stroke', mode: view.tool === 'eraser' ? 'eraser' : 'brush', id: view.selected, stroke });
    return;
  }
  if (view.tool === 'eraser') {
    say('Select an object to erase from first.');
    return;
  }
  const choice = categoryChoice(categoryBox.value, view.categories);
  if (!choice) {
    say('Choose a category for the new object first (type a name or press 1–9), or select an object to paint onto.');
    return;
  }
  send({ type: 'stroke', mode: 'brush', category: choice, stroke });
}

/** The pointer in canvas CSS pixels. */
function screenPoint(e: MouseEvent) {
  const rect = canvas.getBoundingClientRect();
  return { x: e.clientX - rect.left, y: e.clientY - rect.top };
}

canvas.addEventListener('contextmenu', (e) => e.preventDefault());

canvas.addEventListener('pointerdown', (e) => {
  if (!view.image) return;
  canvas.focus();
  const s = screenPoint(e);
  const p = toImage(view.viewport, s.x, s.y);
  const pixel = pixelAt(view.viewport, s.x, s.y, imageWidth(), imageHeight());
  if (e.button === 1 || (e.button === 0 && view.spaceHeld)) {
    e.preventDefault();
    view.drag = { kind: 'pan', lastX: e.clientX, lastY: e.clientY };
    canvas.setPointerCapture(e.pointerId);
    return;
  }
  if (e.button !== 0 && e.button !== 2) return;
  const right = e.button === 2;
  if (!pixel && !pressBesideImageDraws(view.tool, view.polygon.length)) return;
  switch (view.tool) {
    case 'select': {
      const vertex = right ? undefined : vertexAt(s);
      if (vertex) {
        view.drag = { kind: 'vertex', ...vertex, moved: false };
        canvas.setPointerCapture(e.pointerId);
        return;
      }
      if (right || !pixel) return select(undefined);
      // The topmost (last drawn) object under the pointer wins.
      const hit = [...view.objects].reverse().find((o) => !view.hidden.has(o.id) && objectAt(o, pixel.x, pixel.y));
      select(hit?.id);
      return;
    }
    case 'positive':
    case 'negative': {
      // The pixel under the pointer, as integer image coordinates; right-click is the other kind.
      if (!pixel) return;
      const positive = (view.tool === 'positive') !== right;
      view.regionPrompt = { ...view.regionPrompt, points: [...view.regionPrompt.points, { x: pixel.x, y: pixel.y, positive }] };
      sendRegionPrompt();
      return;
    }
    case 'box':
      if (right) return;
      view.drag = { kind: 'box', start: p, end: p };
      break;
    case 'scribble':
      if (right) return;
      view.drag = { kind: 'scribble', points: [p] };
      break;
    case 'brush':
    case 'eraser':
      if (right) return;
      view.drag = { kind: 'stroke', points: [p] };
      break;
    case 'polygon': {
      if (right) {
        view.polygon.pop();
        paint();
        return;
      }
      if (closesPolygon(view.polygon, s, view.viewport)) return finishPolygon();
      const clamped = { x: roundCoord(Math.min(imageWidth(), Math.max(0, p.x))), y: roundCoord(Math.min(imageHeight(), Math.max(0, p.y))) };
      view.polygon.push(clamped);
      paint();
      return;
    }
  }
  canvas.setPointerCapture(e.pointerId);
});

canvas.addEventListener('pointermove', (e) => {
  if (!view.image) return;
  const s = screenPoint(e);
  const p = toImage(view.viewport, s.x, s.y);
  view.pointer = p;
  const d = view.drag;
  if (d?.kind === 'pan') {
    const next = panBy(view.viewport, e.clientX - d.lastX, e.clientY - d.lastY);
    d.lastX = e.clientX;
    d.lastY = e.clientY;
    view.viewport = next;
  } else if (d?.kind === 'vertex') {
    d.polygons[d.part][d.index] = roundCoord(Math.min(imageWidth(), Math.max(0, p.x)));
    d.polygons[d.part][d.index + 1] = roundCoord(Math.min(imageHeight(), Math.max(0, p.y)));
    d.moved = true;
  } else if (d?.kind === 'box') d.end = p;
  else if (d?.kind === 'scribble' || d?.kind === 'stroke') d.points.push(p);
  else if (view.tool === 'select') {
    const pixel = pixelAt(view.viewport, s.x, s.y, imageWidth(), imageHeight());
    const hit = pixel ? [...view.objects].reverse().find((o) => !view.hidden.has(o.id) && objectAt(o, pixel.x, pixel.y)) : undefined;
    view.hovered = hit?.id;
  }
  if (!d) hoverChatRegion(pixelAt(view.viewport, s.x, s.y, imageWidth(), imageHeight()), s);
  renderStatus();
  schedulePaint();
});

canvas.addEventListener('pointerleave', () => {
  view.pointer = undefined;
  hoverChatRegion(undefined, undefined);
  view.hovered = undefined;
  renderStatus();
  schedulePaint();
});

canvas.addEventListener('pointerup', () => {
  const d = view.drag;
  view.drag = undefined;
  if (!d) return;
  if (d.kind === 'pan') {
    renderControls();
    return;
  }
  if (d.kind === 'vertex') {
    if (d.moved) send({ type: 'reshape', id: d.id, polygons: d.polygons });
    paint();
    return;
  }
  if (d.kind === 'box') {
    const b = boxOf(d.start, d.end);
    // A click without a drag is no box; a drag of a pixel or more is, however small (the engine gives a
    // tiny region at least the patch it touches most, or says why it cannot).
    if (b.w * view.viewport.scale < 2 && b.h * view.viewport.scale < 2) return paint();
    const box = { x: roundCoord(b.x), y: roundCoord(b.y), w: Math.max(0.01, roundCoord(b.w)), h: Math.max(0.01, roundCoord(b.h)) };
    view.regionPrompt = { ...view.regionPrompt, box };
    sendRegionPrompt();
  } else if (d.kind === 'scribble') {
    const points = thinPath(d.points, Math.max(0.5, view.size / 8)).map((p) => ({ x: roundCoord(p.x), y: roundCoord(p.y) }));
    view.regionPrompt = { ...view.regionPrompt, scribbles: [...view.regionPrompt.scribbles, { points, width: view.size }] };
    sendRegionPrompt();
  } else {
    finishStroke(d.points);
    paint();
  }
});

canvas.addEventListener('wheel', (e) => {
  if (!view.image) return;
  e.preventDefault();
  const s = screenPoint(e);
  const delta = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
  setViewport(zoomAt(view.viewport, Math.exp(-delta * 0.0015), s.x, s.y));
}, { passive: false });

/** The vertex of the selected hand-drawn object within 6 screen pixels of a point, if any. */
function vertexAt(screen: { x: number; y: number }): { id: number; part: number; index: number; polygons: number[][] } | undefined {
  const id = view.selected;
  const polygons = polygonsOf(id);
  if (id === undefined || !polygons) return undefined;
  for (let part = 0; part < polygons.length; part++) {
    const poly = polygons[part];
    for (let i = 0; i < poly.length; i += 2) {
      const p = toScreen(view.viewport, poly[i], poly[i + 1]);
      if (Math.hypot(p.x - screen.x, p.y - screen.y) <= 6) return { id, part, index: i, polygons: polygons.map((q) => [...q]) };
    }
  }
  return undefined;
}

function objectAt(o: ObjectView, x: number, y: number): boolean {
  if (o.rle) return o.rle.size[0] === imageHeight() && o.rle.size[1] === imageWidth() && maskHas(decodedOf(o.rle), x, y);
  if (o.polygons) return o.polygons.some((poly) => insidePolygon(poly, x + 0.5, y + 0.5));
  return false;
}

/** Even-odd test of a point against a flat polygon. */
function insidePolygon(poly: number[], x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 2; i < poly.length; j = i, i += 2) {
    const xi = poly[i], yi = poly[i + 1], xj = poly[j], yj = poly[j + 1];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

for (const b of toolButtons) b.addEventListener('click', () => setTool(b.dataset.tool as Tool));
describeButton.addEventListener('click', () => describeSelected());
$('zoom-in').addEventListener('click', () => {
  const c = stageCentre();
  setViewport(zoomStep(view.viewport, 1, c.x, c.y));
});
$('zoom-out').addEventListener('click', () => {
  const c = stageCentre();
  setViewport(zoomStep(view.viewport, -1, c.x, c.y));
});
$('zoom-fit').addEventListener('click', () => zoomToFit());
$('zoom-100').addEventListener('click', () => {
  const c = stageCentre();
  setViewport(zoomTo(view.viewport, 1, c.x, c.y));
});
opacitySlider.addEventListener('input', () => {
  view.opacity = Number(opacitySlider.value) / 100;
  render();
});
showAllBox.addEventListener('change', () => setShowMasks(showAllBox.checked));
new ResizeObserver(() => paint()).observe(stage);

// ---- bench:ui only ----------------------------------------------------------------------------------

/** bench:ui only: the candidate message just painted, whose size it reports. */
let lastCandidate: ToWebview | undefined;
/** When the bench's echo was posted (page ms). */
let echoSentAt: number | undefined;
let benchEchoInstalled = false;
/** bench:ui only: the next click prompt's message is an echo instead (see sendRegionPrompt). */
let benchEchoArmed = false;

/**
 * The floor of the message path for bench:ui. Installed only when the host says bench:ui started it (the
 * `init` message's `bench`), so no user reaches it: the bench dispatches 'pixel-sail-bench-echo' on the
 * window, a prompt-shaped message goes to the host, which answers at once (no engine) with a
 * candidate-shaped one; the times go back to the bench on 'pixel-sail-bench-echoed'. Nothing on show changes.
 * After 'pixel-sail-bench-arm', the next click prompt sends an echo instead of its prompt.
 */
function installBenchEcho() {
  if (benchEchoInstalled) return;
  benchEchoInstalled = true;
  window.addEventListener('pixel-sail-bench-arm', () => {
    benchEchoArmed = true;
  });
  window.addEventListener('pixel-sail-bench-echo', (e) => {
    const detail = (e as CustomEvent<{ withMask?: boolean; text?: string }>).detail ?? {};
    echoSentAt = performance.now();
    send({ type: 'benchEcho', text: String(detail.text ?? 'bench echo'), withMask: detail.withMask === true });
  });
}

function benchEchoed(msg: Extract<ToWebview, { type: 'benchEcho' }>) {
  const receivedAt = performance.now();
  const sentAt = echoSentAt ?? NaN;
  echoSentAt = undefined;
  // The wait for the next frame alone: nothing is drawn for an echo.
  requestAnimationFrame(() => {
    const frameAt = performance.now();
    const page = (epoch: number) => epoch - performance.timeOrigin;
    window.dispatchEvent(new CustomEvent('pixel-sail-bench-echoed', { detail: {
      withMask: msg.mask !== null,
      /** The message's size as JSON, the form it crosses the hops in. */
      bytes: JSON.stringify(msg).length,
      roundTrip: receivedAt - sentAt,
      toHost: page(msg.host.receivedAt) - sentAt,
      host: msg.host.postedAt - msg.host.receivedAt,
      toWebview: receivedAt - page(msg.host.postedAt),
      frame: frameAt - receivedAt,
    } }));
  });
}

function loadImage(src: string): Promise<HTMLImageElement> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error('the image could not be decoded by the webview'));
    img.src = src;
  });
}

/**
 * A message from the host that fits the protocol, or undefined: one that does not is not applied (what is on
 * screen stays), the banner says so, and the host hears of it (its `error` handler tells the user and logs it).
 */
function checked(data: unknown): ToWebview | undefined {
  const parsed = parseHostMessage(toWebviewSchema, data, 'image editor');
  const type = (data as { type?: unknown } | null)?.type;
  if (!parsed.ok) {
    view.refused = { type, problem: parsed.problem };
    renderBanner();
    send({ type: 'error', message: parsed.problem });
    return undefined;
  }
  if (view.refused && view.refused.type === type) {
    view.refused = undefined;
    renderBanner();
  }
  return parsed.message;
}

window.addEventListener('message', async (event: MessageEvent<unknown>) => {
  const msg = checked(event.data);
  if (!msg) return;
  switch (msg.type) {
    case 'init':
      if (msg.bench) installBenchEcho();
      view.name = msg.image.name;
      view.objects = msg.objects;
      view.categories = msg.categories;
      view.problem = msg.problem;
      try {
        const img = await loadImage(msg.image.src);
        view.image = img;
        resizeCanvas();
        view.viewport = fitView(img.naturalWidth, img.naturalHeight, stage.clientWidth, stage.clientHeight);
        renderAll();
        send({ type: 'imageShown', width: img.naturalWidth, height: img.naturalHeight });
        promptBox.focus();
      } catch (e) {
        statusLine.textContent = (e as Error).message;
        send({ type: 'error', message: (e as Error).message });
      }
      return;
    case 'objects': {
      const open = openChatMasks().length;
      view.objects = msg.objects;
      chatMasksAfterObjectsChanged(open);
      if (!view.objects.some((o) => o.id === view.selected)) view.selected = undefined;
      render();
      renderObjects();
      renderStatus();
      return;
    }
    case 'categories':
      view.categories = msg.categories;
      renderCategories();
      renderObjects();
      render();
      return;
    case 'engine':
      view.engine = msg.engine;
      renderProgress();
      renderControls();
      renderStatus();
      renderBanner();
      return;
    case 'busy':
      if (msg.postedAt !== undefined) performance.mark('pixel-sail:busy-received', { detail: msg.postedAt });
      view.busy = true;
      say(`Segmenting “${msg.prompt}”…`);
      startRunning('prompt');
      return;
    case 'progress': {
      const job = running[msg.what];
      if (job) job.stage = msg;
      renderProgress();
      return;
    }
    case 'cancelled':
      view.busy = false;
      view.candidate = undefined;
      stopRunning('prompt');
      say(`Cancelled “${msg.prompt}”.`);
      renderCandidate();
      renderControls();
      return;
    case 'candidate':
      performance.mark('pixel-sail:candidate-received', { detail: msg.host });
      if (benchEchoInstalled) lastCandidate = msg;
      view.busy = false;
      stopRunning('prompt');
      view.candidate = msg.mask ? { prompt: msg.prompt, rle: msg.mask.rle, bbox: msg.mask.bbox } : undefined;
      say(msg.mask ? `${readableAnswer(msg.answer) || 'Found'} (${msg.mask.area} px, ${msg.ms} ms)` : `No target (${msg.ms} ms)`);
      view.pendingPaintMark = true;
      renderCandidate();
      renderControls();
      return;
    case 'candidateCleared':
      // Accepted or rejected: the next object starts from a clean visual prompt.
      view.candidate = undefined;
      view.regionPrompt = emptyRegionPrompt();
      say(chatNoteAfterClear);
      chatNoteAfterClear = '';
      renderCandidate();
      renderControls();
      return;
    case 'promptFailed':
      view.busy = false;
      stopRunning('prompt');
      view.candidate = undefined;
      say(`Failed: ${msg.message}`);
      renderCandidate();
      renderControls();
      return;
    case 'describing':
      view.describing = msg.id;
      startRunning('describe');
      say(`Describing #${msg.id}…`);
      renderControls();
      renderObjects();
      return;
    case 'described':
      view.describing = undefined;
      stopRunning('describe');
      say(msg.caption !== null ? `#${msg.id}: ${msg.caption}` : `Describe failed: ${msg.message ?? 'no caption'}`);
      renderControls();
      renderObjects();
      return;
    case 'problem':
      view.problem = msg.message ?? undefined;
      renderBanner();
      renderControls();
      return;
    case 'review':
      review = msg;
      renderReview();
      return;
    case 'chatRegions':
      view.chatRegions = msg.regions;
      if (view.canvasChatHover !== null && !msg.regions.some((r) => r.n === view.canvasChatHover)) view.canvasChatHover = null;
      paint();
      return;
    case 'chatHighlight':
      view.chatHighlight = msg.n;
      paint();
      return;
    case 'chatMasks':
      setChatMasks({ turnId: msg.turnId, masks: msg.masks });
      say(chatMasksNote(msg.masks.length));
      return;
    case 'addedToChat':
      say(`Added to the chat as region ${msg.regions.join(', ')}.`);
      // Clearing the marks clears their candidate too; the host's candidateCleared must not wipe this note.
      chatNoteAfterClear = answerText.textContent;
      clearRegionPrompt();
      return;
    case 'chatFailed':
      say(`Add to chat failed: ${msg.message}`);
      return;
    case 'benchEcho':
      benchEchoed(msg);
      return;
  }
});

send({ type: 'ready' });
