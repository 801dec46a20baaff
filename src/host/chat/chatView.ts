// The chat view: a webview view in the panel area (beside Problems / Output / Terminal), so the image
// editor keeps the whole editor area and the chat sits under the canvas it talks about. It validates
// what its webview sends (src/chat/protocol.ts) and hands it to the ChatController.
import * as vscode from 'vscode';
import { ChatError } from '../../chat/conversation';
import { fromChatSchema, FromChat, ToChat } from '../../chat/protocol';
import type { ChatController } from './chatController';
import { webviewHtml } from '../webviewPage';

export class ChatViewProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  static readonly viewId = 'pixelSail.chat';
  private view?: vscode.WebviewView;
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;

  constructor(private readonly extensionUri: vscode.Uri, private readonly chat: () => ChatController, private readonly output?: vscode.OutputChannel) {}

  /** Folders the webview may load images from (thumbnails of answer masks over the image). */
  static resourceRoots(extensionUri: vscode.Uri): vscode.Uri[] {
    return [vscode.Uri.joinPath(extensionUri, 'dist'), ...(vscode.workspace.workspaceFolders ?? []).map((f) => f.uri)];
  }

  asWebviewUri(file: vscode.Uri): string | undefined {
    return this.view?.webview.asWebviewUri(file).toString();
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    this.ready = false;
    const dist = vscode.Uri.joinPath(this.extensionUri, 'dist');
    view.webview.options = { enableScripts: true, localResourceRoots: ChatViewProvider.resourceRoots(this.extensionUri) };
    view.webview.html = chatHtml(view.webview, dist);
    // Right after a window reload, VS Code in a browser can restore this view before the webview's
    // resource loader is ready: chat.js and chat.css then fail to load and the view stays an unstyled,
    // dead form (seen in the UI test under load). A script that ran says 'ready'; until it has, load the
    // page again a few times.
    let attempts = 0;
    const watchdog = setInterval(() => {
      if (this.ready || this.view !== view || ++attempts > 5) return clearInterval(watchdog);
      view.webview.html = chatHtml(view.webview, dist);
    }, 5000);
    this.disposables.push(
      { dispose: () => clearInterval(watchdog) },
      view.webview.onDidReceiveMessage((raw: unknown) => void this.receive(raw)),
      this.chat().onDidPost((msg) => this.post(msg)),
      view.onDidDispose(() => {
        this.view = undefined;
      }),
    );
  }

  private post(msg: ToChat) {
    if (this.view && this.ready) void this.view.webview.postMessage(msg);
  }

  private async receive(raw: unknown) {
    const parsed = fromChatSchema.safeParse(raw);
    if (!parsed.success) {
      console.error(`Pixel-SAIL: ignored a malformed message from the chat view: ${parsed.error.issues[0]?.message}`);
      return;
    }
    try {
      await this.handle(parsed.data);
    } catch (e) {
      if (e instanceof ChatError) return; // already said in the chat
      void vscode.window.showErrorMessage(`Pixel-SAIL chat: ${(e as Error).message}`);
    }
  }

  private async handle(msg: FromChat) {
    const chat = this.chat();
    switch (msg.type) {
      case 'ready':
        this.ready = true;
        chat.postState();
        return;
      case 'send':
        return chat.ask(msg.question, msg.sentAt);
      case 'describe':
        return chat.describe(msg.region);
      case 'stop':
        return chat.stop();
      case 'clear':
        return chat.clear();
      case 'addObjectRegion':
        return chat.addObjectRegion(msg.objectId);
      case 'copy':
        return chat.copy(msg.turnId);
      case 'useAsCaption':
        return chat.useAsCaption(msg.turnId, msg.objectId);
      case 'accept':
        return chat.accept(msg.turnId, msg.index);
      case 'highlight':
        return chat.hover(msg.region);
      case 'error':
        console.error(`Pixel-SAIL chat view: ${msg.message}`);
        this.output?.appendLine(`chat view: ${msg.message}`);
        return;
    }
  }

  dispose() {
    this.disposables.forEach((d) => d.dispose());
  }
}

function chatHtml(webview: vscode.Webview, dist: vscode.Uri): string {
  return webviewHtml(webview, dist, { script: 'chat.js', style: 'chat.css', title: 'Pixel-SAIL chat', body: CHAT_BODY });
}

const CHAT_BODY = `
<div id="problem" role="alert" hidden></div>
<div id="regionbar" role="toolbar" aria-label="Regions">
  <span id="regions" aria-label="Regions in this conversation"></span>
  <select id="object" aria-label="Object"></select>
  <button id="add-region" type="button">Add region</button>
</div>
<ol id="turns" aria-label="Conversation" aria-live="polite"></ol>
<div id="suggest" role="listbox" aria-label="Regions to refer to" hidden></div>
<form id="composer">
  <textarea id="message" aria-label="Message" rows="2" placeholder="Ask about the image; type @ to refer to a region" spellcheck="false"></textarea>
  <div id="actions">
    <button id="send" type="submit">Send</button>
    <button id="stop" type="button" disabled>Stop</button>
    <button id="clear" type="button">Clear conversation</button>
  </div>
</form>
`;
