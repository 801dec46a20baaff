// Connected components of a binary mask (8-connected: pixels touching at a corner are one object, as a
// person sees them), each as its own mask, largest first. Used to split "every circle" into instances.
export function connectedComponents(mask: Uint8Array, height: number, width: number): Uint8Array[] {
  const label = new Int32Array(mask.length);
  const queue = new Int32Array(mask.length);
  const sizes: number[] = [];
  let next = 0;
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || label[start]) continue;
    const id = ++next;
    let head = 0, tail = 0;
    queue[tail++] = start;
    label[start] = id;
    while (head < tail) {
      const p = queue[head++];
      const y = Math.floor(p / width), x = p - y * width;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= width) continue;
          const q = yy * width + xx;
          if (mask[q] && !label[q]) { label[q] = id; queue[tail++] = q; }
        }
      }
    }
    sizes.push(tail);
  }
  const parts = Array.from({ length: next }, () => new Uint8Array(mask.length));
  for (let i = 0; i < mask.length; i++) if (label[i]) parts[label[i] - 1][i] = 1;
  return parts.map((m, i) => ({ m, n: sizes[i], i })).sort((a, b) => b.n - a.n || a.i - b.i).map((p) => p.m);
}
