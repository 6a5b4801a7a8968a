// The terminal escape of a vm-mode run: Ctrl-] then q kills the VM, Ctrl-] twice sends one Ctrl-],
// any other byte after Ctrl-] goes to the guest with it. A pure state machine over input chunks.

export const ESCAPE_BYTE = 0x1d; // Ctrl-]
export const ESCAPE_HELP = "Ctrl-] q";
const QUIT = 0x71; // q

export interface Filtered {
  /** the bytes for the guest */
  readonly bytes: Buffer;
  /** the escape sequence was typed: nothing after it in the chunk counts */
  readonly escaped: boolean;
}

/** A filter for the user's input; it keeps a Ctrl-] at the end of one chunk for the next. */
export function escapeFilter(): (chunk: Uint8Array) => Filtered {
  let pending = false;
  return (chunk) => {
    const out: number[] = [];
    for (const byte of chunk) {
      if (pending) {
        pending = false;
        if (byte === QUIT) return { bytes: Buffer.from(out), escaped: true };
        out.push(ESCAPE_BYTE);
        if (byte === ESCAPE_BYTE) continue;
      } else if (byte === ESCAPE_BYTE) {
        pending = true;
        continue;
      }
      out.push(byte);
    }
    return { bytes: Buffer.from(out), escaped: false };
  };
}
