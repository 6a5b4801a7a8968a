// The terminal escape of vm mode: Ctrl-] q kills the VM; every other byte reaches the guest as typed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { escapeFilter } from "../../src/core/console-escape.js";

const bytes = (...b: number[]) => Uint8Array.from(b);

test("ordinary input passes unchanged, Ctrl-C included", () => {
  const f = escapeFilter();
  assert.deepEqual(f(Buffer.from("ls\x03\r")), { bytes: Buffer.from("ls\x03\r"), escaped: false });
});

test("Ctrl-] q escapes; what came before it in the chunk still reaches the guest, nothing after", () => {
  const f = escapeFilter();
  assert.deepEqual(f(Buffer.from("ab\x1dqcd")), { bytes: Buffer.from("ab"), escaped: true });
});

test("the sequence may span two chunks", () => {
  const f = escapeFilter();
  assert.deepEqual(f(bytes(0x61, 0x1d)), { bytes: Buffer.from("a"), escaped: false });
  assert.deepEqual(f(bytes(0x71)), { bytes: Buffer.alloc(0), escaped: true });
});

test("Ctrl-] Ctrl-] sends one Ctrl-]; Ctrl-] then another byte sends both", () => {
  const f = escapeFilter();
  assert.deepEqual(f(bytes(0x1d, 0x1d)).bytes, Buffer.from([0x1d]));
  assert.deepEqual(f(bytes(0x1d, 0x78)).bytes, Buffer.from([0x1d, 0x78]));
  assert.deepEqual(f(bytes(0x1d, 0x1d, 0x71)), { bytes: Buffer.from([0x1d, 0x71]), escaped: false });
});
