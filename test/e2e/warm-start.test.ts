// Warm start for real: the first --qemu run saves a booted ermine, later runs resume it; per-run
// clock and randomness; damaged snapshots replaced; racing first runs; a save killed midway. Each
// test has a cache folder of its own (TSMINC_CACHE), so it knows which runs save and which resume.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  watch,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ARCHES } from "../../src/core/arch.js";
import { withoutZeroPages } from "../../src/core/migration-stream.js";
import { breedAll } from "../helpers/cli.js";
import { RUN_CASES } from "../helpers/cases.js";
import { leftoversAfter, snapshot } from "../helpers/leftovers.js";
import { busyboxRootfs } from "../helpers/rootfs.js";
import { startTsminc, tsminc } from "../helpers/tsminc.js";

const roots: Record<string, string> = {};
const caches: string[] = [];

before(async () => {
  await breedAll();
  for (const arch of ["x86_64", "arm64", "arm"] as const) roots[arch] = busyboxRootfs(arch);
});

after(() => {
  for (const c of caches) rmSync(c, { recursive: true, force: true });
});

/** A cache folder of the test's own, and the env that points tsminc at it. */
function freshCache(): { dir: string; snapshots: string; env: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), "tsminc-warm-"));
  caches.push(dir);
  return { dir, snapshots: join(dir, "snapshots"), env: { TSMINC_CACHE: dir } };
}

const filesIn = (dir: string) => {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
};

/** The snapshot files are exactly one sound pair: a state whose sha256 its record holds, and nothing else. */
function assertOneSound(dir: string): string {
  const files = filesIn(dir);
  assert.equal(files.length, 2, files.join(" "));
  const state = files.find((f) => f.endsWith(".state"));
  const meta = files.find((f) => f.endsWith(".json"));
  assert.ok(state !== undefined && meta !== undefined, files.join(" "));
  const record = JSON.parse(readFileSync(join(dir, meta), "utf8")) as { sha256: string; created: string };
  assert.equal(
    createHash("sha256")
      .update(readFileSync(join(dir, state)))
      .digest("hex"),
    record.sha256,
  );
  return join(dir, state);
}

/** What --dry-run says this run would do first: resume its snapshot, or boot. */
async function start(args: readonly string[], env: Record<string, string>): Promise<string> {
  const r = await tsminc(["--dry-run", ...args], undefined, undefined, env);
  assert.equal(r.status, 0, r.stderr);
  return /^start +(.*)$/m.exec(r.stdout.toString())?.[1] ?? "";
}

for (const arch of ["x86_64", "arm64", "arm"] as const) {
  test(`${arch}: the first run saves a snapshot; the run cases pass resumed from it`, async () => {
    const cache = freshCache();
    const base = ["--qemu", "--arch", arch, "-r", roots[arch] ?? ""];
    assert.match(await start([...base, "true"], cache.env), /^boot, then save /);
    const first = await tsminc([...base, "uname", "-m"], undefined, undefined, cache.env);
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.stdout.toString(), `${ARCHES[arch].unameMachine}\n`);
    // Saved without its main RAM's zero pages: nothing is left to drop, and the stream is still whole.
    const thinned = withoutZeroPages(readFileSync(assertOneSound(cache.snapshots)), ARCHES[arch].ramBlock);
    assert.equal("refused" in thinned ? thinned.refused : thinned.dropped, 0);
    for (const c of RUN_CASES) {
      const args = [...base, ...(c.flags ?? []), "--", ...c.command];
      // A case whose flags change the VM has a snapshot of its own: its first run makes it.
      if (!(await start(args, cache.env)).startsWith("resume ")) await tsminc(args, c.input, undefined, cache.env);
      assert.match(await start(args, cache.env), /^resume .*\.state \(warm start\)$/, c.name);
      const before = snapshot();
      const r = await tsminc(args, c.input, undefined, cache.env);
      assert.equal(r.status, c.status, `${c.name}: ${r.stderr}`);
      if (c.stdout) assert.deepEqual(r.stdout, c.stdout, `${c.name}: ${JSON.stringify(r.stdout.toString())}`);
      if (c.stderr) assert.match(r.stderr, c.stderr, c.name);
      assert.deepEqual(await leftoversAfter(before), [], c.name);
    }
  });
}

test("x86_64: resumed runs draw fresh random numbers, and their clock is the host's, not the snapshot's", async () => {
  const cache = freshCache();
  const base = ["--qemu", "-r", roots.x86_64 ?? ""];
  const uuid = async () => {
    const r = await tsminc([...base, "cat", "/proc/sys/kernel/random/uuid"], undefined, undefined, cache.env);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.toString().trim();
  };
  const seen = new Set([await uuid()]);
  const saved = Date.now();
  // Resumed runs until the snapshot is 2 s old, so a clock left as saved would be 2 s behind.
  while (Date.now() - saved < 2000 || seen.size < 3) {
    const u = await uuid();
    assert.ok(!seen.has(u), `a uuid came twice: ${u}`);
    seen.add(u);
  }
  assert.match(await start([...base, "true"], cache.env), /^resume /);
  const before = Date.now() / 1000;
  const r = await tsminc([...base, "sh", "-c", "touch /tmp/t && stat -c %y /tmp/t"], undefined, undefined, cache.env);
  const afterRun = Date.now() / 1000;
  assert.equal(r.status, 0, r.stderr);
  const guest =
    Date.parse(
      r.stdout
        .toString()
        .trim()
        .replace(" ", "T")
        .replace(/(\.\d{3})\d* \+0000$/, "$1Z"),
    ) / 1000;
  assert.ok(guest >= before - 1 && guest <= afterRun + 1, `guest ${guest}, host ${before}..${afterRun}`);
});

/** Damages the one snapshot in `dir`; the next run must still be right, say so once, and leave a sound snapshot. */
async function survives(damage: (state: string) => void, notice: RegExp): Promise<void> {
  const cache = freshCache();
  const base = ["--qemu", "-r", roots.x86_64 ?? ""];
  const first = await tsminc([...base, "true"], undefined, undefined, cache.env);
  assert.equal(first.status, 0, first.stderr);
  const state = assertOneSound(cache.snapshots);
  damage(state);
  const before = snapshot();
  const r = await tsminc([...base, "sh", "-c", "echo resumed-or-not; exit 5"], undefined, undefined, cache.env);
  assert.equal(r.status, 5, r.stderr);
  assert.equal(r.stdout.toString(), "resumed-or-not\n");
  assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, notice);
  assert.deepEqual(await leftoversAfter(before), []);
  assertOneSound(cache.snapshots);
  assert.match(await start([...base, "true"], cache.env), /^resume /);
}

test("x86_64: a truncated state file: a right run, one notice, a new snapshot", async () => {
  await survives((state) => {
    truncateSync(state, 4096);
  }, /^tsminc: notice: the saved ermine .* is damaged \(its state file has 4096 bytes/);
});

test("x86_64: a bit flipped in the state file: a right run, one notice, a new snapshot", async () => {
  await survives((state) => {
    const bytes = readFileSync(state);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = (bytes[at] ?? 0) ^ 0x10;
    writeFileSync(state, bytes);
  }, /^tsminc: notice: the saved ermine could not be resumed \(its state file did not match its record\)/);
});

test("x86_64: another image's snapshot, record and all, put in its place: a right run, one notice, a new snapshot", async () => {
  // An arm snapshot, renamed to the x86_64 key with a record that vouches for it: qemu refuses it.
  const other = freshCache();
  const made = await tsminc(
    ["--qemu", "--arch", "arm", "-r", roots.arm ?? "", "true"],
    undefined,
    undefined,
    other.env,
  );
  assert.equal(made.status, 0, made.stderr);
  const foreign = assertOneSound(other.snapshots);
  const foreignRecord = JSON.parse(readFileSync(foreign.replace(/\.state$/, ".json"), "utf8")) as object;
  await survives((state) => {
    copyFileSync(foreign, state);
    const meta = state.replace(/\.state$/, ".json");
    const key = JSON.parse(readFileSync(meta, "utf8")) as { key: string };
    writeFileSync(meta, JSON.stringify({ ...foreignRecord, key: key.key }));
  }, /^tsminc: notice: the saved ermine could not be resumed \(qemu-system-x86_64: load of migration failed: .*\); booting it anew\n$/);
});

test("x86_64: 8 first runs at once all succeed and make one snapshot", async () => {
  const cache = freshCache();
  const before = snapshot();
  const runs = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      tsminc(["--qemu", "-r", roots.x86_64 ?? "", "echo", `run ${i}`], undefined, undefined, cache.env),
    ),
  );
  runs.forEach((r, i) => {
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.toString(), `run ${i}\n`);
    assert.equal(r.stderr, "");
  });
  assertOneSound(cache.snapshots);
  assert.deepEqual(await leftoversAfter(before), []);
});

test("x86_64: SIGKILL of tsminc while it saves: no snapshot a later run would take, and gc leaves nothing", async () => {
  const cache = freshCache();
  mkdirSync(cache.snapshots, { recursive: true });
  const before = snapshot();
  const run = startTsminc(["--qemu", "-r", roots.x86_64 ?? "", "echo", "never"], cache.env);
  const watcher = watch(cache.snapshots);
  // The moment the state is being written (qemu's `cat` made the file), the run dies.
  watcher.on("change", (_, name) => {
    if (/\.state\.tmp-\d+$/.test(String(name))) run.kill("SIGKILL");
  });
  await run.done;
  watcher.close();
  assert.ok(!filesIn(cache.snapshots).some((f) => f.endsWith(".json")), filesIn(cache.snapshots).join(" "));
  assert.deepEqual(await leftoversAfter(before), []);
  const gc = await tsminc(["gc"], undefined, undefined, cache.env);
  assert.equal(gc.status, 0, gc.stderr);
  assert.match(gc.stdout.toString(), /removed .*\.state\.tmp-\d+ \(a save by pid \d+, which is gone\)/);
  assert.deepEqual(filesIn(cache.snapshots), []);
  const again = await tsminc(["--qemu", "-r", roots.x86_64 ?? "", "echo", "again"], undefined, undefined, cache.env);
  assert.equal(again.status, 0, again.stderr);
  assert.equal(again.stdout.toString(), "again\n");
  assertOneSound(cache.snapshots);
});

test("tsminc snapshot ls and rm: the saved ermines, removed one by one or all", async () => {
  const cache = freshCache();
  for (const mem of ["128M", "160M"]) {
    const r = await tsminc(["--qemu", "--mem", mem, "-r", roots.x86_64 ?? "", "true"], undefined, undefined, cache.env);
    assert.equal(r.status, 0, r.stderr);
  }
  const ls = await tsminc(["snapshot", "ls"], undefined, undefined, cache.env);
  assert.equal(ls.status, 0, ls.stderr);
  const keys = [...ls.stdout.toString().matchAll(/^([0-9a-f]{32}) .*x86_64 (128|160) MiB \d+ CPUs? tcg/gm)].map(
    (m) => m[1],
  );
  assert.equal(keys.length, 2, ls.stdout.toString());
  assert.match(ls.stdout.toString(), /^2 snapshot\(s\) in /m);
  const rm = await tsminc(["snapshot", "rm", keys[0] ?? ""], undefined, undefined, cache.env);
  assert.equal(rm.stdout.toString(), `removed ${keys[0]}\n`);
  assert.equal(filesIn(cache.snapshots).length, 2);
  const bad = await tsminc(["snapshot", "rm", "nope"], undefined, undefined, cache.env);
  assert.equal(bad.status, 125);
  assert.match(bad.stderr, /^tsminc: no snapshot nope in .*\ntsminc: hint: see tsminc snapshot ls\n$/);
  const all = await tsminc(["snapshot", "rm", "--all"], undefined, undefined, cache.env);
  assert.equal(all.status, 0, all.stderr);
  assert.deepEqual(filesIn(cache.snapshots), []);
});

test("tsminc gc removes the snapshots of an image bred again, and keeps the others", async () => {
  const cache = freshCache();
  const keys: string[] = [];
  for (const mem of ["128M", "160M"]) {
    const r = await tsminc(["--qemu", "--mem", mem, "-r", roots.x86_64 ?? "", "true"], undefined, undefined, cache.env);
    assert.equal(r.status, 0, r.stderr);
    const made = filesIn(cache.snapshots).filter((f) => f.endsWith(".json") && !keys.includes(f.slice(0, -5)));
    keys.push(...made.map((f) => f.slice(0, -5)));
  }
  assert.equal(keys.length, 2);
  // The first one's record now names a kernel the image no longer has: as after a new breed.
  const meta = join(cache.snapshots, `${keys[0]}.json`);
  const record = JSON.parse(readFileSync(meta, "utf8")) as { image: { files: Record<string, string> } };
  for (const f of Object.keys(record.image.files)) record.image.files[f] = "0".repeat(64);
  writeFileSync(meta, JSON.stringify(record));
  const gc = await tsminc(["gc"], undefined, undefined, cache.env);
  assert.equal(gc.status, 0, gc.stderr);
  assert.match(
    gc.stdout.toString(),
    new RegExp(`removed snapshot ${keys[0]} \\(its image is gone or was bred again\\)`),
  );
  assert.deepEqual(filesIn(cache.snapshots), [`${keys[1]}.json`, `${keys[1]}.state`]);
});

test("--no-snapshot boots cold and saves nothing; --dry-run says why", async () => {
  const cache = freshCache();
  const args = ["--qemu", "--no-snapshot", "-r", roots.x86_64 ?? "", "echo", "cold"];
  assert.equal(await start(args, cache.env), "boot (no snapshot: --no-snapshot)");
  const r = await tsminc(args, undefined, undefined, cache.env);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.toString(), "cold\n");
  assert.deepEqual(filesIn(cache.snapshots), []);
});
