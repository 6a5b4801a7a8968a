// Thinning a saved snapshot: the main RAM's zero-page records go, and a loader starting from zeroed
// RAM ends with the same memory and the same device state; streams laid out otherwise are refused.
import assert from "node:assert/strict";
import { test } from "node:test";
import { withoutZeroPages } from "../../src/core/migration-stream.js";

const PAGE = 4096;
const ZERO = 0x02;
const MEM_SIZE = 0x04;
const BODY = 0x08;
const EOS = 0x10;
const CONTINUE = 0x20;
const RAM_ID = 2;

const be32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const be64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
};
const named = (s: string) => Buffer.concat([Buffer.from([s.length]), Buffer.from(s, "latin1")]);

type Rec = { block?: string; page: number; zero?: number; data?: number };

/** A record: the block's name unless `block` is absent (CONTINUE); a zero record's fill or a page of `data`. */
function record(r: Rec, pageSize = PAGE): Buffer {
  const flags = (r.zero !== undefined ? ZERO : BODY) | (r.block === undefined ? CONTINUE : 0);
  const head = be64(BigInt(r.page * pageSize) | BigInt(flags));
  const body = r.zero !== undefined ? Buffer.from([r.zero]) : Buffer.alloc(pageSize, r.data ?? 1);
  return Buffer.concat([head, ...(r.block === undefined ? [] : [named(r.block)]), body]);
}

const BLOCKS: [string, number][] = [
  ["m.ram", 64 * PAGE],
  ["rom", 4 * PAGE],
];
const DEVICES = Buffer.from([0x04, 0, 0, 0, 9, 3, 0x61, 0x62, 0x63, 1, 2, 3, 0x7e, 0, 0, 0, 9, 0x1f]);

/** A stream: header, the page-bits configuration (arm's), RAM's START, PARTs and END, then device bytes. */
function stream(sections: Rec[][], opts: { pageBits?: number; blocks?: [string, number][] } = {}): Buffer {
  const pageSize = 2 ** (opts.pageBits ?? 12);
  const blocks = opts.blocks ?? BLOCKS;
  const total = blocks.reduce((n, [, len]) => n + len, 0);
  const config: Buffer[] = [Buffer.from([0x07]), be32(7), Buffer.from("machine")];
  if (opts.pageBits !== undefined)
    config.push(Buffer.from([0x05]), named("configuration/target-page-bits"), be32(1), be32(opts.pageBits));
  const out: Buffer[] = [Buffer.from("QEVM"), be32(3), ...config];
  sections.forEach((recs, i) => {
    const kind = i === 0 ? 0x01 : i === sections.length - 1 ? 0x03 : 0x02;
    out.push(Buffer.from([kind]), be32(RAM_ID));
    if (i === 0) {
      out.push(named("ram"), be32(0), be32(4), be64(BigInt(total) | BigInt(MEM_SIZE)));
      for (const [name, len] of blocks) out.push(named(name), be64(BigInt(len)));
    }
    for (const r of recs) out.push(record(r, pageSize));
    out.push(be64(BigInt(EOS)), Buffer.from([0x7e]), be32(RAM_ID));
  });
  return Buffer.concat([...out, DEVICES]);
}

/** An independent loader: RAM (every block zeroed) after the stream, and the bytes after RAM's END. */
function load(buf: Buffer, pageSize = PAGE): { ram: Map<string, string>; rest: Buffer } {
  const ram = new Map<string, string>();
  let at = buf.indexOf(Buffer.concat([named("ram"), be32(0), be32(4)])) + 12;
  let block = "";
  for (let section = 0; ; section++) {
    if (section > 0) at += 5; // PART or END, and the section's id
    for (;;) {
      const head = buf.readBigUInt64BE(at);
      at += 8;
      const flags = Number(head & BigInt(pageSize - 1));
      const addr = Number(head & ~BigInt(pageSize - 1));
      if (flags === EOS) break;
      if (flags === MEM_SIZE) {
        for (let left = addr; left > 0;) {
          const len = buf[at] ?? 0;
          left -= Number(buf.readBigUInt64BE(at + 1 + len));
          at += 9 + len;
        }
        continue;
      }
      if ((flags & CONTINUE) === 0) {
        const len = buf[at] ?? 0;
        block = buf.toString("latin1", at + 1, at + 1 + len);
        at += 1 + len;
      }
      const key = `${block}@${addr}`;
      if ((flags & ~CONTINUE) === ZERO) {
        const fill = buf[at++] ?? 0;
        if (fill === 0) ram.delete(key);
        else ram.set(key, `fill ${fill}`);
      } else {
        ram.set(key, buf.subarray(at, at + pageSize).toString("hex"));
        at += pageSize;
      }
    }
    at += 5; // the footer
    if (buf.subarray(at).equals(DEVICES)) return { ram, rest: buf.subarray(at) };
  }
}

function thinned(buf: Buffer, block = "m.ram"): Buffer {
  const t = withoutZeroPages(buf, block);
  assert.ok(!("refused" in t), "refused" in t ? t.refused : "");
  assert.equal(Buffer.concat([...t.parts]).length, t.size);
  return Buffer.concat([...t.parts]);
}

test("zero pages of the main RAM go; data, other blocks' zero pages and non-zero fills stay; RAM loads the same", () => {
  const src = stream([
    [
      { block: "m.ram", page: 0, data: 5 },
      { page: 1, zero: 0 },
      { page: 2, zero: 0 },
      { page: 3, data: 6 },
      { block: "rom", page: 0, zero: 0 },
      { page: 1, data: 7 },
    ],
    [
      { block: "m.ram", page: 4, zero: 0 },
      { page: 5, zero: 9 },
      { page: 6, zero: 0 },
    ],
    [
      { block: "m.ram", page: 7, zero: 0 },
      { page: 8, data: 3 },
      { page: 9, zero: 0 },
    ],
  ]);
  const out = thinned(src);
  const t = withoutZeroPages(src, "m.ram");
  assert.equal("dropped" in t && t.dropped, 6);
  assert.deepEqual(load(out), load(src));
  assert.equal(out.length, src.length - 6 * (8 + 1) - 2 * 6 + 2 * 6);
  // Nothing left to drop the second time, and the result is the same bytes.
  assert.deepEqual(thinned(out), out);
});

test("a kept record that continued a block only a dropped record named now names it itself", () => {
  const src = stream([
    [
      { block: "rom", page: 0, data: 1 },
      { block: "m.ram", page: 0, zero: 0 },
      { page: 1, data: 2 },
    ],
    [{ page: 2, data: 4 }],
  ]);
  const out = thinned(src);
  assert.deepEqual(load(out), load(src));
  // The m.ram page 1 record and the first record of the next section both carry "m.ram" now.
  assert.equal(out.toString("latin1").split("m.ram").length - 1, 1 + 2);
});

test("arm's stream names 4 KiB target pages in its configuration; it is read with them", () => {
  const src = stream(
    [
      [
        { block: "m.ram", page: 0, zero: 0 },
        { page: 1, data: 8 },
      ],
      [],
    ],
    { pageBits: 12 },
  );
  const out = thinned(src);
  assert.deepEqual(load(out), load(src));
  assert.ok(out.length < src.length);
});

/** A stream whose one page record is marked XBZRLE (a delta against a cache tsminc never uses). */
function xbzrle(): Buffer {
  const buf = stream([[{ block: "m.ram", page: 0, data: 1 }], []]);
  const name = buf.lastIndexOf(named("m.ram"));
  buf[name - 1] = 0x40;
  return buf;
}

test("streams laid out otherwise are refused, not rewritten", () => {
  const good = stream([[{ block: "m.ram", page: 0, zero: 0 }], []]);
  const cases: [string, Buffer, RegExp][] = [
    ["not a stream", Buffer.from("hello world, not qemu"), /not a version 3/],
    ["truncated", good.subarray(0, good.length - DEVICES.length - 20), /ends inside a record|another section/],
    ["no such block", good, /no RAM block other\.ram/],
    [
      "an unknown configuration part",
      Buffer.concat([
        Buffer.from("QEVM"),
        be32(3),
        Buffer.from([0x07]),
        be32(1),
        Buffer.from("m"),
        Buffer.from([0x05]),
        named("configuration/capabilities"),
        be32(1),
      ]),
      /unknown configuration part/,
    ],
    ["an XBZRLE record", xbzrle(), /a RAM record with flags 64/],
  ];
  for (const [name, buf, why] of cases) {
    const t = withoutZeroPages(buf, name === "no such block" ? "other.ram" : "m.ram");
    assert.ok("refused" in t, name);
    assert.match(t.refused, why, name);
  }
});
