// The breeder's one-line source tweaks (busybox's and Linux's): applied once, harmless twice, refused
// on a tree whose line is not the expected one.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { SOURCE_TWEAKS } from "../../breeder/busybox.js";
import { KERNEL_TWEAKS } from "../../breeder/kernel.js";
import { applyTweaks, type SourceTweak } from "../../breeder/source-tweaks.js";
import { MincError } from "../../src/core/errors.js";

function tree(tweaks: readonly SourceTweak[], lines: (t: SourceTweak) => string): string {
  const dir = mkdtempSync(join(tmpdir(), "tsminc-srctree-"));
  for (const t of tweaks) {
    mkdirSync(join(dir, t.file, ".."), { recursive: true });
    writeFileSync(join(dir, t.file), `/* head */\n${lines(t)}\nint main(void);\n`);
  }
  return dir;
}

async function tweakedTwice(tweaks: readonly SourceTweak[], file: string): Promise<string> {
  const dir = tree(tweaks, (t) => t.from);
  try {
    await applyTweaks(dir, tweaks, "x", "X");
    const once = readFileSync(join(dir, file), "utf8");
    await applyTweaks(dir, tweaks, "x", "X");
    assert.equal(readFileSync(join(dir, file), "utf8"), once);
    return once;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("busybox: mount becomes a NOEXEC applet; a second pass changes nothing", async () => {
  const once = await tweakedTwice(SOURCE_TWEAKS, "util-linux/mount.c");
  assert.match(once, /APPLET_NOEXEC\(mount, mount,/);
  assert.doesNotMatch(once, /APPLET\(mount, BB_DIR_BIN/);
});

test("linux: free page reporting runs every 0.1 s instead of every 2 s; a second pass changes nothing", async () => {
  const once = await tweakedTwice(KERNEL_TWEAKS, "mm/page_reporting.c");
  assert.match(once, /^#define PAGE_REPORTING_DELAY\t\(HZ \/ 10\)$/m);
  assert.doesNotMatch(once, /2 \* HZ/);
});

test("a tree with another line is refused with a hint naming the table, not built half-tweaked", async () => {
  for (const [tweaks, where] of [
    [SOURCE_TWEAKS, "breeder/busybox.ts"],
    [KERNEL_TWEAKS, "breeder/kernel.ts"],
  ] as const) {
    const dir = tree(tweaks, () => "#define SOMETHING_ELSE 1");
    try {
      await assert.rejects(
        applyTweaks(dir, tweaks, "it", `TWEAKS in ${where}`),
        (err: unknown) =>
          err instanceof MincError &&
          /is not the one tsermine knows/.test(err.message) &&
          err.hint?.includes(where) === true,
      );
      for (const t of tweaks) assert.match(readFileSync(join(dir, t.file), "utf8"), /^#define SOMETHING_ELSE 1$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
