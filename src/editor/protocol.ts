// Messages between the image editor webview and the extension. Both sides import this file, so a
// message's shape is defined once.
export type ToWebview = { type: 'showImage'; src: string; name: string };

export type FromWebview =
  | { type: 'ready' }
  | { type: 'imageShown'; width: number; height: number }
  | { type: 'error'; message: string };
