// tsermine breed's live progress: objects built of the last build's count, on a terminal and in a pipe.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { test } from "node:test";
import { createReporter, elapsed, liveLine } from "../../breeder/progress.js";

/** A stream that keeps what is written, looking like a terminal or not. */
function sink(isTTY: boolean): Writable & { isTTY: boolean; columns: number; text: () => string } {
  let text = "";
  const w = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return Object.assign(w, { isTTY, columns: 200, text: () => text });
}

test("elapsed time and the live line", () => {
  assert.equal(elapsed(9_500), "9s");
  assert.equal(elapsed(75_000), "1m15s");
  assert.equal(
    liveLine("x86_64: kernel", 812, 1290, "kernel/fork.o", 72_000),
    `  ${"x86_64: kernel".padEnd(28)} 812/1290 objects, 1m12s  kernel/fork.o`,
  );
  assert.match(liveLine("k", 3, undefined, "", 0), /3 objects, 0s$/);
});

test("a terminal gets one updating line with the file being built; the count becomes the next build's estimate", async () => {
  const estimates = join(mkdtempSync(join(tmpdir(), "tsminc-progress-")), "estimates.json");
  let clock = 0;
  const out = sink(true);
  const reporter = createReporter(out, { estimatesFile: estimates, now: () => clock });
  await reporter.step("x86_64: kernel", () => {
    for (let i = 0; i < 5; i++) {
      clock += 150;
      reporter.activity(`  CC      kernel/f${i}.o`);
      reporter.activity("make[2]: Entering directory"); // not an object
    }
    return Promise.resolve({ value: undefined, cached: false });
  });
  assert.ok(out.text().includes(`\r\x1b[K  ${"x86_64: kernel".padEnd(28)} 5 objects, 0s  kernel/f4.o`), out.text());
  assert.deepEqual(JSON.parse(readFileSync(estimates, "utf8")), { "x86_64: kernel": 5 });
  // The next build shows its count against the last one's.
  const again = sink(true);
  const next = createReporter(again, { estimatesFile: estimates, now: () => clock });
  await next.step("x86_64: kernel", () => {
    clock += 200;
    next.activity("  LD      vmlinux");
    return Promise.resolve({ value: undefined, cached: false });
  });
  assert.match(again.text(), /1\/5 objects/);
});

test("a pipe gets a plain line every 30 s, no escape codes", async () => {
  let clock = 0;
  const out = sink(false);
  const reporter = createReporter(out, { now: () => clock });
  await reporter.step("arm: busybox", () => {
    for (let i = 0; i < 70; i++) {
      clock += 1000;
      reporter.activity(`  CC      f${i}.o`);
    }
    return Promise.resolve({ value: undefined, cached: false });
  });
  const lines = out
    .text()
    .split("\n")
    .filter((l) => l.includes("objects"));
  assert.deepEqual(lines, [
    `  ${"arm: busybox".padEnd(28)} 30 objects, 30s`,
    `  ${"arm: busybox".padEnd(28)} 60 objects, 1m00s`,
  ]);
  assert.ok(!out.text().includes("\x1b"));
});
