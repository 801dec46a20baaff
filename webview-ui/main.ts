// Canvas app of the image editor webview. It draws the image and the masks the extension sends; the
// message shapes live in src/views/protocol.ts, shared with the extension side.
import type { ToWebview, FromWebview } from '../src/views/protocol';

declare function acquireVsCodeApi(): { postMessage(message: FromWebview): void };

const vscode = acquireVsCodeApi();
const canvas = document.getElementById('canvas') as HTMLCanvasElement;
const status = document.getElementById('status') as HTMLElement;
const ctx = canvas.getContext('2d')!;

function drawImage(src: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => {
      canvas.width = img.naturalWidth;
      canvas.height = img.naturalHeight;
      ctx.drawImage(img, 0, 0);
      resolve();
    };
    img.onerror = () => reject(new Error('the image could not be decoded by the webview'));
    img.src = src;
  });
}

window.addEventListener('message', async (event: MessageEvent<ToWebview>) => {
  const msg = event.data;
  if (msg.type === 'showImage') {
    try {
      await drawImage(msg.src);
      status.textContent = `${canvas.width}×${canvas.height}`;
      vscode.postMessage({ type: 'imageShown', width: canvas.width, height: canvas.height });
    } catch (e) {
      status.textContent = (e as Error).message;
      vscode.postMessage({ type: 'error', message: (e as Error).message });
    }
  }
});

vscode.postMessage({ type: 'ready' });
