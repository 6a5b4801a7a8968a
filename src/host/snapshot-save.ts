// Saves a booted ermine that waits to be released (guest-init's await_release): a live migration
// through QMP to a unix socket this process listens on, written to a file in the snapshot folder and
// hashed on the way; then the VM goes on with this same run. (Not qemu's `exec:cat > FILE`: qemu
// signals its command as soon as the stream ends, so cat may die before writing its last bytes.)
import { createHash } from "node:crypto";
import { once } from "node:events";
import { createWriteStream, rmSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import { createServer, type Socket } from "node:net";
import { pipeline } from "node:stream/promises";
import { MincError } from "../core/errors.js";
import { withoutZeroPages } from "../core/migration-stream.js";
import type { SnapshotPlan } from "../core/snapshot-plan.js";
import { openQmp } from "./qmp.js";
import {
  publishSnapshot,
  savingPath,
  upperSavingPath,
  type SnapshotOrigin,
  type SnapshotRecord,
} from "./snapshot-store.js";

/** qemu 7.2 throttles a migration to 32 MiB/s by default: a snapshot of ~20 MiB would take 0.6 s. */
const UNTHROTTLED = 64 * 2 ** 30;

/** Receives one migration stream on `socket` into `file`: its size and sha256 once it has ended. */
async function receive(
  path: string,
  file: string,
): Promise<{ done: Promise<{ size: number; sha256: string }>; close(): void }> {
  const server = createServer();
  server.listen(path);
  await once(server, "listening");
  const done = (async () => {
    const [socket] = (await once(server, "connection")) as [Socket];
    const hash = createHash("sha256");
    let size = 0;
    socket.on("data", (chunk: Buffer) => {
      hash.update(chunk);
      size += chunk.length;
    });
    await pipeline(socket, createWriteStream(file, { mode: 0o600 }));
    return { size, sha256: hash.digest("hex") };
  })();
  return {
    done,
    close: () => {
      server.close();
      rmSync(path, { force: true });
    },
  };
}

function thinningPath(plan: SnapshotPlan): string {
  return `${plan.state}.thin.tmp-${process.pid}`;
}

/**
 * Rewrites the saved stream without its main RAM's zero-page records (core/migration-stream.ts): a
 * 2 GiB guest's restore reads 57 MB instead of 62 and skips ~510,000 page checks, ~45 ms of a warm
 * run here. A stream laid out otherwise (another qemu) is kept as it is.
 */
async function thin(
  plan: SnapshotPlan,
  file: string,
  ramBlock: string,
  received: { readonly size: number; readonly sha256: string },
): Promise<{ size: number; sha256: string }> {
  const thinned = withoutZeroPages(await readFile(file), ramBlock);
  if ("refused" in thinned) return received;
  const hash = createHash("sha256");
  for (const part of thinned.parts) hash.update(part);
  const tmp = thinningPath(plan);
  await writeFile(tmp, thinned.parts, { mode: 0o600 });
  await rename(tmp, file);
  return { size: thinned.size, sha256: hash.digest("hex") };
}

/**
 * Saves the VM and lets it go on: resolves once the guest runs again, with the snapshot's publication
 * (the stream thinned, then put in place), which takes ~0.2 s more while the guest starts its job.
 * `qmpPath`: qemu's QMP socket; `socketPath`: where qemu sends the stream (in the run's tmpdir, which
 * qemu's mount namespace sees); `ramBlock`: the name of the machine's main RAM in the stream (the
 * arch table's); `copyUpper`: a root disk VM's, copies its upper disk (mounted by the guest) to the
 * path given while the VM is paused, its writes flushed: the disk as the saved guest knows it.
 */
export async function saveSnapshot(
  plan: SnapshotPlan,
  qmpPath: string,
  socketPath: string,
  ramBlock: string,
  origin: SnapshotOrigin,
  copyUpper?: (to: string) => Promise<void>,
): Promise<{ readonly published: Promise<SnapshotRecord> }> {
  const saving = savingPath(plan);
  const upper = copyUpper === undefined ? undefined : upperSavingPath(plan);
  const discard = () => {
    rmSync(saving, { force: true });
    rmSync(thinningPath(plan), { force: true });
    if (upper !== undefined) rmSync(upper, { force: true });
  };
  const stream = await receive(socketPath, saving);
  const qmp = await openQmp(qmpPath);
  try {
    await qmp.run("migrate-set-parameters", { "max-bandwidth": UNTHROTTLED });
    // No `stop` first: the guest is idle, so one pass converges, and the VM comes out of it paused
    // ("postmigrate"), to be continued below.
    await qmp.run("migrate", { uri: `unix:${socketPath}` });
    for (;;) {
      const { status, "error-desc": error } = (await qmp.run("query-migrate")) as {
        status?: string;
        "error-desc"?: string;
      };
      if (status === "completed") break;
      if (status === "failed" || status === "cancelled")
        throw new MincError("system", `saving the snapshot failed: ${error ?? status}`, {
          hint: "run with --no-snapshot",
        });
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // The end of a migration flushes the disks and lets them go (qemu's bdrv_inactivate_all); cont
    // takes them back. The guest goes on whatever happened to the copy.
    try {
      if (copyUpper !== undefined && upper !== undefined) await copyUpper(upper);
    } finally {
      await qmp.run("cont");
    }
  } catch (err) {
    stream.close();
    discard();
    throw err;
  } finally {
    qmp.close();
  }
  const published = (async () => {
    try {
      const written = await thin(plan, saving, ramBlock, await stream.done);
      return publishSnapshot(plan, saving, written, origin, upper);
    } catch (err) {
      discard();
      throw err;
    } finally {
      stream.close();
    }
  })();
  return { published };
}
