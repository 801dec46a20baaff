// A least-recently-used map bounded by a byte budget: the engine's image states (KV cache of the image
// block + upsampled pixel features) are large, so memory, not entry count, is what must stay bounded.

export class LruCache<V> {
  private readonly map = new Map<string, { value: V; bytes: number }>();
  private total = 0;

  constructor(private readonly budgetBytes: number, private readonly onEvict?: (key: string, value: V) => void) {}

  get(key: string): V | undefined {
    const hit = this.map.get(key);
    if (!hit) return undefined;
    this.map.delete(key);
    this.map.set(key, hit);
    return hit.value;
  }

  /** Bytes it may hold. */
  get budget(): number {
    return this.budgetBytes;
  }

  /** Stores the value unless it alone exceeds the budget; evicts the least recently used entries. */
  set(key: string, value: V, bytes: number): boolean {
    this.delete(key);
    if (bytes > this.budgetBytes) return false;
    this.map.set(key, { value, bytes });
    this.total += bytes;
    for (const [k, v] of this.map) {
      if (this.total <= this.budgetBytes) break;
      this.map.delete(k);
      this.total -= v.bytes;
      this.onEvict?.(k, v.value);
    }
    return true;
  }

  /** Evicts least recently used entries until `bytes` more would fit; returns the bytes it evicted. */
  makeRoom(bytes: number): number {
    let evicted = 0;
    for (const [k, v] of this.map) {
      if (this.total + bytes <= this.budgetBytes) break;
      this.map.delete(k);
      this.total -= v.bytes;
      this.onEvict?.(k, v.value);
      evicted += v.bytes;
    }
    return evicted;
  }

  delete(key: string): void {
    const old = this.map.get(key);
    if (old) {
      this.map.delete(key);
      this.total -= old.bytes;
    }
  }

  get size(): number {
    return this.map.size;
  }

  get bytes(): number {
    return this.total;
  }
}
