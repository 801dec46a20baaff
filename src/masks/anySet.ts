// Whether a 0/1 mask (or any byte array) has a set entry: how an empty region or mask is told apart.

/** Whether any entry is non-zero (a plain loop: `some` with a callback costs ms on a full-resolution mask). */
export function anySet(data: Uint8Array): boolean {
  for (let i = 0; i < data.length; i++) if (data[i]) return true;
  return false;
}
