// The image editor's page (the shell and its Content-Security-Policy are webviewPage.ts's). The controls
// are @vscode-elements web components (bundled into webview.js), which style themselves from the theme.
import * as vscode from 'vscode';
import { webviewHtml } from '../webviewPage';

export function editorHtml(webview: vscode.Webview, dist: vscode.Uri): string {
  return webviewHtml(webview, dist, { script: 'webview.js', style: 'webview.css', title: 'Pixel-SAIL image annotator', body: EDITOR_BODY });
}

const EDITOR_BODY = `
<div id="banner" role="alert" hidden><span id="banner-text"></span><vscode-button id="retry" secondary hidden>Retry</vscode-button></div>
<div id="toolbar" role="toolbar" aria-label="Annotation">
  <vscode-label for="prompt">Prompt</vscode-label>
  <vscode-textfield id="prompt" placeholder="Describe an object, then Enter" autocomplete="off"></vscode-textfield>
  <span id="answer" aria-live="polite"></span>
  <input id="category" type="text" list="category-list" aria-label="Category" placeholder="Category: pick, 1–9 or type" autocomplete="off" spellcheck="false">
  <datalist id="category-list"></datalist>
  <vscode-button id="accept" disabled aria-disabled="true">Accept</vscode-button>
  <vscode-button id="reject" secondary disabled aria-disabled="true">Reject</vscode-button>
</div>
<div id="tools" role="toolbar" aria-label="Tools">
  <button type="button" class="tool" data-tool="select" title="Select (V)" aria-keyshortcuts="V">Select</button>
  <span class="sep" aria-hidden="true"></span>
  <button type="button" class="tool" data-tool="positive" title="Positive point (Q): click the object; right-click adds a negative point" aria-keyshortcuts="Q">Positive point</button>
  <button type="button" class="tool" data-tool="negative" title="Negative point (E): click what is not the object" aria-keyshortcuts="E">Negative point</button>
  <button type="button" class="tool" data-tool="box" title="Box (R): drag around the object" aria-keyshortcuts="R">Box</button>
  <button type="button" class="tool" data-tool="scribble" title="Scribble (S): draw over the object; width with [ and ]" aria-keyshortcuts="S">Scribble</button>
  <button type="button" id="add-to-chat" title="Add to chat (C): the marks become the chat's next region (a chip region N in the Pixel-SAIL Chat)" aria-keyshortcuts="C">Add to chat</button>
  <span class="sep" aria-hidden="true"></span>
  <button type="button" class="tool" data-tool="polygon" title="Polygon (P): click the vertices, close on the first vertex or Enter" aria-keyshortcuts="P">Polygon</button>
  <button type="button" class="tool" data-tool="brush" title="Brush (B): paint onto the selected object (a new object when none is selected); size with [ and ]" aria-keyshortcuts="B">Brush</button>
  <button type="button" class="tool" data-tool="eraser" title="Eraser (X): cut from the selected object; size with [ and ]" aria-keyshortcuts="X">Eraser</button>
  <span id="size" title="Brush, eraser and scribble size in image pixels ([ smaller, ] larger)"></span>
  <span class="sep" aria-hidden="true"></span>
  <button type="button" id="describe" title="Describe (D): the model's caption of the selected object" aria-keyshortcuts="D" disabled>Describe</button>
  <span class="sep" aria-hidden="true"></span>
  <button type="button" id="zoom-out" title="Zoom out (−)" aria-label="Zoom out" aria-keyshortcuts="-">−</button>
  <span id="zoom" aria-live="polite">100 %</span>
  <button type="button" id="zoom-in" title="Zoom in (+)" aria-label="Zoom in" aria-keyshortcuts="+">+</button>
  <button type="button" id="zoom-fit" title="Zoom to fit (F)" aria-keyshortcuts="F">Zoom to fit</button>
  <button type="button" id="zoom-100" title="100 % (0)" aria-label="Zoom 100 %" aria-keyshortcuts="0">1:1</button>
  <span class="sep" aria-hidden="true"></span>
  <label class="inline">Opacity <input id="opacity" type="range" min="0" max="100" value="40" aria-label="Mask opacity" title="Mask opacity"></label>
  <label class="inline" title="Show or hide all masks (H)"><input id="show-all" type="checkbox" checked aria-keyshortcuts="H"> Show masks</label>
</div>
<div id="main">
  <div id="progress" role="status" aria-label="Engine progress" hidden><progress id="progress-bar" aria-label="Engine working"></progress><span id="progress-text"></span><vscode-button id="cancel-run" secondary title="Cancel the running prompt or Describe (a model run that cannot stop restarts the engine)">Cancel</vscode-button></div>
  <div id="stage"><canvas id="canvas" tabindex="0" aria-label="Image"></canvas></div>
  <aside id="side" aria-label="Objects and categories">
    <section id="review" aria-label="Review" hidden>
      <h2>Review</h2>
      <p id="review-progress" aria-live="polite"></p>
      <div class="review-buttons">
        <button type="button" id="review-previous" title="Previous image (PageUp)" aria-keyshortcuts="PageUp">Previous</button>
        <button type="button" id="review-next" title="Next image with proposals to review (PageDown)" aria-keyshortcuts="PageDown">Next unreviewed</button>
        <button type="button" id="accept-all" title="Accept every proposal on this image (Shift+A)" aria-keyshortcuts="Shift+A">Accept all on image</button>
      </div>
    </section>
    <h2>Objects</h2>
    <ul id="objects" aria-label="Objects"></ul>
    <section id="selection" aria-label="Selected object" aria-live="polite"></section>
    <h2>Categories</h2>
    <ol id="legend" aria-label="Categories"></ol>
  </aside>
</div>
<div id="status" aria-live="polite">loading…</div>
`;
