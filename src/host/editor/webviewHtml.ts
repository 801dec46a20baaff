// The image editor's HTML shell. The Content-Security-Policy allows only the bundled script (with a
// fresh nonce) and stylesheet from the extension's dist/ folder and images from the webview's own
// origin (the image being annotated): no inline code or styles, no remote resources. The controls are
// @vscode-elements web components (bundled into webview.js), which style themselves from the theme;
// their styles are constructed stylesheets, which a CSP does not govern.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

export function editorHtml(webview: vscode.Webview, dist: vscode.Uri): string {
  const nonce = randomBytes(18).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js'));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.css'));
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource}`,
    `style-src ${webview.cspSource}`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="${style}">
<title>Pixel-SAIL image annotator</title>
</head>
<body>
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
<div id="main">
  <div id="stage"><canvas id="canvas" tabindex="0" aria-label="Image"></canvas></div>
  <aside id="side" aria-label="Objects and categories">
    <h2>Objects</h2>
    <ul id="objects" aria-label="Objects"></ul>
    <section id="selection" aria-label="Selected object" aria-live="polite"></section>
    <h2>Categories</h2>
    <ol id="legend" aria-label="Categories"></ol>
  </aside>
</div>
<div id="status" aria-live="polite">loading…</div>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}
