// The editor's status line, kept off the DOM for unit tests. Until the picture has decoded its size is
// unknown, and "0×0" read as an empty or broken image; the line says the picture is loading instead.
export interface StatusFacts {
  name: string;
  width: number;
  height: number;
  objects: number;
  /** What the engine is doing: loading the model, or its summary once ready (none while failed). */
  engine?: string;
  zoomPercent: number;
  pointer?: { x: number; y: number };
}

export function statusLineText(f: StatusFacts): string {
  const loaded = f.width > 0 && f.height > 0;
  const parts = [loaded ? `${f.width}×${f.height}` : 'loading the image…', `${f.objects} object${f.objects === 1 ? '' : 's'}`];
  if (f.engine) parts.push(f.engine);
  parts.push(`${f.zoomPercent} %`);
  if (loaded && f.pointer) {
    const x = Math.floor(f.pointer.x), y = Math.floor(f.pointer.y);
    if (x >= 0 && y >= 0 && x < f.width && y < f.height) parts.push(`pixel ${x}, ${y}`);
  }
  return `${f.name} · ${parts.join(' · ')}`;
}
