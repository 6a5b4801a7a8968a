// Saves a booted ermine that waits to be released (guest-init's await_release): a live migration
// through QMP to a unix socket this process listens on, written to a file in the snapshot folder and
// hashed on the way; then the VM goes on with this same run. (Not qemu's `exec:cat > FILE`: qemu
// signals its command as soon as the stream ends, so cat may die before writing its last bytes.)
import { createHash } from "node:crypto";
import { once } from "node:events";
import { createWriteStream, rmSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { pipeline } from "node:stream/promises";
import { MincError } from "../core/errors.js";
import type { SnapshotPlan } from "../core/snapshot-plan.js";
import { openQmp } from "./qmp.js";
import { publishSnapshot, savingPath, type SnapshotOrigin, type SnapshotRecord } from "./snapshot-store.js";

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

/** `socketPath`: where qemu sends the stream (in the run's tmpdir, which qemu's mount namespace sees). */
export async function saveSnapshot(
  plan: SnapshotPlan,
  socketPath: string,
  origin: SnapshotOrigin,
): Promise<SnapshotRecord> {
  const saving = savingPath(plan);
  const stream = await receive(socketPath, saving);
  const qmp = await openQmp(plan.qmp);
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
    await qmp.run("cont");
    const written = await stream.done;
    return publishSnapshot(plan, saving, written, origin);
  } catch (err) {
    rmSync(saving, { force: true });
    throw err;
  } finally {
    qmp.close();
    stream.close();
  }
}
