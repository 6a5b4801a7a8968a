// The breeder's one-line busybox source tweaks: applied once, harmless twice, refused on a tree
// whose declaration line is not the expected one.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { SOURCE_TWEAKS, tweakBusyboxTree } from "../../breeder/busybox.js";
import { MincError } from "../../src/core/errors.js";

function tree(lines: (t: (typeof SOURCE_TWEAKS)[number]) => string): string {
  const dir = mkdtempSync(join(tmpdir(), "tsminc-bbtree-"));
  for (const t of SOURCE_TWEAKS) {
    mkdirSync(join(dir, t.file, ".."), { recursive: true });
    writeFileSync(join(dir, t.file), `/* head */\n${lines(t)}\nint main(void);\n`);
  }
  return dir;
}

test("mount becomes a NOEXEC applet; a second pass changes nothing", async () => {
  const dir = tree((t) => t.from);
  try {
    await tweakBusyboxTree(dir);
    const once = readFileSync(join(dir, "util-linux/mount.c"), "utf8");
    assert.match(once, /APPLET_NOEXEC\(mount, mount,/);
    assert.doesNotMatch(once, /APPLET\(mount, BB_DIR_BIN/);
    await tweakBusyboxTree(dir);
    assert.equal(readFileSync(join(dir, "util-linux/mount.c"), "utf8"), once);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a tree with another declaration line is refused with a hint, not built half-tweaked", async () => {
  const dir = tree(() => "//applet:IF_MOUNT(APPLET(mount, BB_DIR_SBIN, BB_SUID_DROP))");
  try {
    await assert.rejects(
      tweakBusyboxTree(dir),
      (err: unknown) => err instanceof MincError && /is not the one tsermine knows/.test(err.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
