// Reading a rootfs's arch: ELF headers, and paths resolved inside a root whatever its symlinks say.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { elfArch } from "../../src/core/elf.js";
import { resolveInRoot } from "../../src/host/root-path.js";

/** An ELF header: class (1: 32-bit, 2: 64-bit), data (1: little endian), e_machine. */
function header(elfClass: number, data: number, machine: number): Uint8Array {
  const h = new Uint8Array(20);
  h.set([0x7f, 0x45, 0x4c, 0x46, elfClass, data, 1]);
  if (data === 1) h.set([machine & 0xff, machine >> 8], 18);
  else h.set([machine >> 8, machine & 0xff], 18);
  return h;
}

test("x86_64, aarch64 and 32-bit arm binaries map to ermine arches", () => {
  assert.deepEqual(elfArch(header(2, 1, 62)), { arch: "x86_64" });
  assert.deepEqual(elfArch(header(2, 1, 183)), { arch: "arm64" });
  assert.deepEqual(elfArch(header(1, 1, 40)), { arch: "arm" });
});

test("other machines are named, so the error can say what the rootfs is", () => {
  assert.deepEqual(elfArch(header(1, 2, 8)), { other: "mips (32-bit, big-endian)" });
  assert.deepEqual(elfArch(header(2, 1, 243)), { other: "riscv (64-bit)" });
  assert.deepEqual(elfArch(header(1, 1, 3)), { other: "i386 (32-bit)" });
});

test("bytes that are not ELF (a script, a short file) give no arch", () => {
  assert.equal(elfArch(new TextEncoder().encode("#!/bin/sh\necho not elf\n")), undefined);
  assert.equal(elfArch(new Uint8Array([0x7f, 0x45])), undefined);
});

test("paths resolve inside the root: absolute links are re-rooted, .. stops at the root", () => {
  const root = mkdtempSync(join(tmpdir(), "tsminc-rootpath-"));
  mkdirSync(join(root, "usr/bin"), { recursive: true });
  writeFileSync(join(root, "usr/bin/dash"), "x");
  symlinkSync("usr/bin", join(root, "bin")); // Debian's merged /usr
  symlinkSync("dash", join(root, "usr/bin/sh"));
  symlinkSync("/etc/passwd", join(root, "usr/bin/escape")); // the host's /etc must not be reached
  symlinkSync("../../../../../usr/bin/dash", join(root, "usr/bin/climb"));
  assert.equal(resolveInRoot(root, "/bin/sh"), join(root, "usr/bin/dash"));
  assert.equal(resolveInRoot(root, "/bin/escape"), undefined);
  assert.equal(resolveInRoot(root, "/bin/climb"), join(root, "usr/bin/dash"));
  symlinkSync("loop", join(root, "loop"));
  assert.equal(resolveInRoot(root, "/loop"), undefined);
});
