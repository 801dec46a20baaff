// Read-only custom editor that shows an image on a canvas (webview-ui/main.ts). Prompting and masks
// arrive with the editor issue; the provider/webview split and the shared protocol are in place.
import * as vscode from 'vscode';
import type { FromWebview, ToWebview } from './protocol';

export class ImageEditorProvider implements vscode.CustomReadonlyEditorProvider {
  static readonly viewType = 'pixelSail.imageEditor';

  static register(context: vscode.ExtensionContext): vscode.Disposable {
    return vscode.window.registerCustomEditorProvider(ImageEditorProvider.viewType, new ImageEditorProvider(context), {
      webviewOptions: { retainContextWhenHidden: true },
    });
  }

  /** Last message each open editor's webview sent, for tests and the status bar. */
  static readonly lastMessage = new Map<string, FromWebview>();

  constructor(private readonly context: vscode.ExtensionContext) {}

  openCustomDocument(uri: vscode.Uri): vscode.CustomDocument {
    return { uri, dispose: () => ImageEditorProvider.lastMessage.delete(uri.toString()) };
  }

  resolveCustomEditor(document: vscode.CustomDocument, panel: vscode.WebviewPanel): void {
    const dist = vscode.Uri.joinPath(this.context.extensionUri, 'dist');
    const folder = vscode.Uri.joinPath(document.uri, '..');
    panel.webview.options = { enableScripts: true, localResourceRoots: [dist, folder] };
    const script = panel.webview.asWebviewUri(vscode.Uri.joinPath(dist, 'webview.js'));
    const nonce = Math.random().toString(36).slice(2);
    const csp = `default-src 'none'; img-src ${panel.webview.cspSource} blob: data:; style-src 'unsafe-inline'; script-src 'nonce-${nonce}';`;
    panel.webview.html = `<!DOCTYPE html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<style>body{margin:0;padding:8px;background:var(--vscode-editor-background);color:var(--vscode-foreground);font:var(--vscode-font-size) var(--vscode-font-family)}
canvas{max-width:100%;image-rendering:pixelated;border:1px solid var(--vscode-panel-border)}</style></head>
<body><div id="status">loading…</div><canvas id="canvas"></canvas><script nonce="${nonce}" src="${script}"></script></body></html>`;
    panel.webview.onDidReceiveMessage((msg: FromWebview) => {
      ImageEditorProvider.lastMessage.set(document.uri.toString(), msg);
      if (msg.type === 'ready') {
        const show: ToWebview = { type: 'showImage', src: panel.webview.asWebviewUri(document.uri).toString(), name: document.uri.path };
        void panel.webview.postMessage(show);
      } else if (msg.type === 'error') {
        void vscode.window.showErrorMessage(`Pixel-SAIL: ${msg.message}`);
      }
    });
  }
}
