// qemu 7.2's migration stream, read just enough to drop the guest RAM's zero-page records from a saved snapshot.
//
// A precopy stream sends every page of guest RAM: a 2 GiB guest's holds ~510,000 zero-page records
// besides its ~14,000 data pages, and loading each record makes qemu read a 4 KiB page to see if it
// is zero already (ram_handle_compressed). A restore starts from fresh anonymous memory: qemu does not
// fill RAM from ROM images while it waits for an incoming stream (rom_reset), so those records change
// nothing there. Only the machine's main RAM block is thinned: other blocks (ROMs, flash) may be
// filled when qemu starts. Layout (migration/savevm.c, migration/ram.c):
//   "QEVM" be32(3), [0x07 config: be32 len, name, {0x05 subsection: u8 len, name, be32 version, fields}],
//   0x01 START be32 id, u8 len "ram", be32 instance, be32 version, records..., [0x7e footer be32 id],
//   {0x02 PART | 0x03 END, be32 id, records..., [footer]}, then the devices' sections (copied as they are).
//   A record: be64 (page address | flags); without CONTINUE, u8 len + the block's name; then one byte
//   (ZERO), a page (PAGE), or the block list (MEM_SIZE); EOS ends the section's records.

const MAGIC = 0x5145564d;
const SECTION = { start: 0x01, part: 0x02, end: 0x03, subsection: 0x05, configuration: 0x07, footer: 0x7e };
const FLAG = { zero: 0x02, memSize: 0x04, page: 0x08, eos: 0x10, continue: 0x20 };

export type Thinned =
  { readonly parts: readonly Buffer[]; readonly dropped: number; readonly size: number } | { readonly refused: string };

class Refused extends Error {}

/** A cursor over the stream; every read past its end is a refusal. */
class Reader {
  at = 0;
  constructor(readonly buf: Buffer) {}
  need(n: number): void {
    if (this.at + n > this.buf.length) throw new Refused(`the stream ends inside a record at byte ${this.at}`);
  }
  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.at++);
  }
  be32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }
  be64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.at);
    this.at += 8;
    return v;
  }
  name(): string {
    const len = this.u8();
    this.need(len);
    const s = this.buf.toString("latin1", this.at, this.at + len);
    this.at += len;
    return s;
  }
  peek(): number | undefined {
    return this.buf[this.at];
  }
}

/** The configuration section: the target page size it names (4 KiB when it names none). */
function configuration(r: Reader): number {
  if (r.peek() !== SECTION.configuration) return 4096;
  r.u8();
  const len = r.be32();
  r.need(len);
  r.at += len;
  let pageBits = 12;
  while (r.peek() === SECTION.subsection) {
    r.u8();
    const name = r.name();
    r.be32();
    if (name !== "configuration/target-page-bits") throw new Refused(`an unknown configuration part ${name}`);
    pageBits = r.be32();
  }
  if (pageBits < 10 || pageBits > 16) throw new Refused(`a target page of 2^${pageBits} bytes`);
  return 2 ** pageBits;
}

/**
 * The stream without the zero-page records of RAM block `block` (e.g. "microvm.ram"), as slices of
 * `stream`; a refusal (and the stream is kept as it is) when it is not laid out as expected.
 */
export function withoutZeroPages(stream: Buffer, block: string): Thinned {
  const r = new Reader(stream);
  const parts: Buffer[] = [];
  let copiedTo = 0;
  let dropped = 0;
  let size = 0;
  const copy = (to: number) => {
    if (to <= copiedTo) return;
    parts.push(stream.subarray(copiedTo, to));
    size += to - copiedTo;
    copiedTo = to;
  };
  const emit = (b: Buffer) => {
    parts.push(b);
    size += b.length;
  };
  try {
    if (r.be32() !== MAGIC || r.be32() !== 3) throw new Refused("not a version 3 qemu migration stream");
    const pageSize = configuration(r);
    const flagMask = BigInt(pageSize - 1);
    if (r.u8() !== SECTION.start) throw new Refused("RAM is not its first section");
    const id = r.be32();
    if (r.name() !== "ram") throw new Refused("RAM is not its first section");
    r.be32();
    if (r.be32() !== 4) throw new Refused("its RAM section is not version 4");
    let known = false;
    // The block the input's records continue (qemu's loader keeps it across sections), and the block
    // of the last record kept in this section: a kept record may continue only that one.
    let inputBlock: string | undefined;
    for (let kind: number = SECTION.start; ;) {
      let lastKept: string | undefined;
      for (;;) {
        const recordAt = r.at;
        const header = r.be64();
        const flags = Number(header & flagMask);
        if (flags === FLAG.eos) break;
        if (flags === FLAG.memSize) {
          let total = header & ~flagMask;
          while (total > 0n) {
            const name = r.name();
            total -= r.be64();
            if (name === block) known = true;
          }
          if (total !== 0n) throw new Refused("its RAM block list does not add up");
          continue;
        }
        const what = flags & ~FLAG.continue;
        if (what !== FLAG.zero && what !== FLAG.page) throw new Refused(`a RAM record with flags ${flags}`);
        const continues = (flags & FLAG.continue) !== 0;
        if (!continues) inputBlock = r.name();
        const current = inputBlock;
        if (current === undefined) throw new Refused("a RAM record continues no block");
        const bodyAt = r.at;
        const fill = what === FLAG.zero ? r.u8() : -1;
        if (what === FLAG.page) {
          r.need(pageSize);
          r.at += pageSize;
        }
        if (fill === 0 && current === block && known) {
          copy(recordAt);
          copiedTo = r.at;
          dropped++;
          continue;
        }
        if (continues && lastKept !== current) {
          // It continued a block only dropped records named: now it names the block itself.
          copy(recordAt);
          const head = Buffer.alloc(8);
          head.writeBigUInt64BE(header & ~BigInt(FLAG.continue));
          emit(Buffer.concat([head, Buffer.from([current.length]), Buffer.from(current, "latin1")]));
          copiedTo = bodyAt;
        }
        lastKept = current;
      }
      if (r.peek() === SECTION.footer) {
        r.u8();
        if (r.be32() !== id) throw new Refused("a section footer of another section");
      }
      if (kind === SECTION.end) break;
      kind = r.u8();
      if ((kind !== SECTION.part && kind !== SECTION.end) || r.be32() !== id)
        throw new Refused("another section comes between RAM's");
    }
    if (!known) throw new Refused(`no RAM block ${block}`);
    copy(stream.length);
    return { parts, dropped, size };
  } catch (err) {
    if (err instanceof Refused) return { refused: err.message };
    throw err;
  }
}
