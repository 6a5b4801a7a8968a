// The snapshot store's check before a restore: a state file unchanged since it last hashed right is
// trusted without reading it; one written, replaced or copied since is hashed, and restamped when right.
// A root disk VM's saved upper disk goes with its snapshot: published, checked and removed with it.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { IMAGE_TOOLS } from "../../src/core/image-manifest.js";
import { snapshotPaths } from "../../src/core/snapshot-plan.js";
import {
  listSnapshots,
  publishSnapshot,
  readSnapshot,
  removeSnapshot,
  snapshotGarbage,
  upperSavingPath,
  verifySnapshot,
  type SnapshotOrigin,
  type SnapshotRecord,
} from "../../src/host/snapshot-store.js";

/**
 * A snapshot folder with one published snapshot of a fake image (whose manifest keeps it current);
 * with `upper`, a root disk VM's, its upper disk saved beside it (sparse: 1 GiB long, 4 KiB written).
 */
function published(upper = false): { dir: string; plan: ReturnType<typeof snapshotPaths>; record: SnapshotRecord } {
  const dir = mkdtempSync(join(tmpdir(), "tsminc-snapstore-"));
  const image = join(dir, "image");
  mkdirSync(image);
  const files = { bzImage: "aa", "initramfs.cpio.gz": "bb" };
  writeFileSync(
    join(image, "manifest.json"),
    JSON.stringify({
      arch: "x86_64",
      kernelImage: "bzImage",
      initramfs: "initramfs.cpio.gz",
      kernelRelease: "6.1",
      guestInit: "g1",
      created: "now",
      kernelConfig: {},
      sources: {},
      outputs: Object.fromEntries(
        [...Object.entries(files), ...IMAGE_TOOLS.map((t): [string, string] => [t, "cc"])].map(([f, sha]) => [
          f,
          { sha256: sha },
        ]),
      ),
      cacheKeys: {},
    }),
  );
  const origin: SnapshotOrigin = { what: "test", image: { dir: image, guestInit: "g1", files } };
  const plan = snapshotPaths(join(dir, "snapshots"), "k1");
  mkdirSync(join(dir, "snapshots"));
  const bytes = Buffer.alloc(1 << 16, 7);
  const saved = `${plan.state}.tmp-1`;
  writeFileSync(saved, bytes);
  const savedUpper = upper ? upperSavingPath(plan) : undefined;
  if (savedUpper !== undefined) {
    writeFileSync(savedUpper, Buffer.alloc(4096, 1));
    truncateSync(savedUpper, 2 ** 30);
  }
  const record = publishSnapshot(
    plan,
    saved,
    { size: bytes.length, sha256: createHash("sha256").update(bytes).digest("hex") },
    origin,
    savedUpper,
  );
  return { dir, plan, record };
}

async function currentRecord(plan: ReturnType<typeof snapshotPaths>): Promise<SnapshotRecord> {
  const found = await readSnapshot(plan);
  assert.ok(typeof found === "object" && "sha256" in found, JSON.stringify(found));
  return found;
}

test("a state file as published is trusted by its stamp: a record vouching another hash still passes", async () => {
  const { dir, plan, record } = published();
  try {
    assert.ok(record.stamp !== undefined);
    assert.equal(await verifySnapshot(plan, record), true);
    // Not read at all: the stamp alone decides while the file is untouched.
    assert.equal(await verifySnapshot(plan, { ...record, sha256: "0".repeat(64) }), true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a state file written since (same size, one byte flipped) is hashed and refused", async () => {
  const { dir, plan, record } = published();
  try {
    const bytes = readFileSync(plan.state);
    bytes[100] = (bytes[100] ?? 0) ^ 1;
    writeFileSync(plan.state, bytes);
    assert.equal(await verifySnapshot(plan, await currentRecord(plan)), false);
    assert.deepEqual((await currentRecord(plan)).stamp, record.stamp, "a refused file is not restamped");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the same bytes copied into its place are hashed once, pass, and are restamped", async () => {
  const { dir, plan, record } = published();
  try {
    copyFileSync(plan.state, `${plan.state}.copy`);
    renameSync(`${plan.state}.copy`, plan.state);
    assert.equal(await verifySnapshot(plan, await currentRecord(plan)), true);
    const restamped = await currentRecord(plan);
    assert.notDeepEqual(restamped.stamp, record.stamp);
    assert.equal(restamped.sha256, record.sha256);
    // From now on the new stamp alone decides.
    assert.equal(await verifySnapshot(plan, { ...restamped, sha256: "0".repeat(64) }), true);
    // Another file of the same size, renamed into place: a new inode, hashed, refused.
    writeFileSync(`${plan.state}.other`, Buffer.alloc(1 << 16, 8));
    renameSync(`${plan.state}.other`, plan.state);
    assert.equal(await verifySnapshot(plan, restamped), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a record from before stamps is hashed, and stamped when right", async () => {
  const { dir, plan, record } = published();
  try {
    writeFileSync(plan.meta, JSON.stringify({ ...record, stamp: undefined }));
    assert.equal((await currentRecord(plan)).stamp, undefined);
    assert.equal(await verifySnapshot(plan, await currentRecord(plan)), true);
    assert.deepEqual((await currentRecord(plan)).stamp, record.stamp);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a root disk VM's upper disk is published with its snapshot, and a changed or missing one damages it", async () => {
  const { dir, plan, record } = published(true);
  try {
    assert.ok(record.upper !== undefined && existsSync(plan.upper));
    assert.ok(!existsSync(upperSavingPath(plan)));
    assert.deepEqual(await currentRecord(plan), record);
    // ls counts what the files take on disk, not the upper disk's length (1 GiB here).
    const [entry] = await listSnapshots(join(dir, "snapshots"));
    assert.ok(entry !== undefined && entry.bytes < 2 ** 20, JSON.stringify(entry));
    // Written to since (a run that wrote to it instead of to its copy): damaged.
    writeFileSync(plan.upper, "x", { flag: "r+" });
    assert.deepEqual(await readSnapshot(plan), { damaged: "its upper disk is missing or was changed" });
    rmSync(plan.upper);
    assert.deepEqual(await readSnapshot(plan), { damaged: "its upper disk is missing or was changed" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("removing a snapshot removes its upper disk; gc removes an upper disk with no record", async () => {
  const { dir, plan } = published(true);
  try {
    const snapshots = join(dir, "snapshots");
    copyFileSync(plan.upper, join(snapshots, "k2.upper"));
    removeSnapshot(plan);
    assert.deepEqual(readdirSync(snapshots), ["k2.upper"]);
    const said = await snapshotGarbage(snapshots);
    assert.deepEqual(said, [`removed ${join(snapshots, "k2.upper")} (a saved upper disk with no record)`]);
    assert.deepEqual(readdirSync(snapshots), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
