// The HTML shell of every webview of the extension (the image editor, the chat view). Its
// Content-Security-Policy allows only the bundled script (with a fresh nonce) and stylesheet from the
// extension's dist/ folder, and images and fonts from the webview's own origin (the image being annotated):
// no inline code or styles, no remote resources. Styles that web components construct in script
// (@vscode-elements) are constructed stylesheets, which a CSP does not govern.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

export interface WebviewPage {
  /** The bundle's files in dist/, e.g. 'webview.js' and 'webview.css'. */
  script: string;
  style: string;
  title: string;
  /** The page's markup, without the script tag (added here with the nonce). */
  body: string;
}

export function webviewHtml(webview: vscode.Webview, dist: vscode.Uri, page: WebviewPage): string {
  const nonce = randomBytes(18).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(dist, page.script));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(dist, page.style));
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
<title>${page.title}</title>
</head>
<body>
${page.body.trim()}
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
}
