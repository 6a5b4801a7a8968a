// An exec session in a container's VM (tsminc-runtime exec, vm mode): learns the run's share from the
// monitor's relay, writes the process's files there, plugs four virtio-serial ports into the VM
// through QMP (stdin, stdout, stderr, status), asks the guest to start exec.sh on them, bridges the
// caller's stdio, and resolves with the status the guest reports. Its ports go again at the end.
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { EXIT } from "../core/exit-status.js";
import { MincError } from "../core/errors.js";
import { execFiles, type ExecProcess } from "../core/exec-process.js";
import { QMP_SOCKET } from "../core/vm-plan.js";
import type { RelayHello } from "./exec-relay.js";
import { listenPorts, type Stdio } from "./port-bridge.js";
import { openQmp, type Qmp } from "./qmp.js";

const STREAMS = ["stdin", "stdout", "stderr", "status"] as const;

const gone = () =>
  new MincError("system", "the container is not running (its monitor does not answer)", {
    hint: "see tsminc-runtime state ID",
  });

/** The relay's greeting, and a way to send it one line and read its answer. */
async function openRelay(
  path: string,
): Promise<{ hello: RelayHello; ask(line: string): Promise<string>; close(): void }> {
  const socket = connect(path);
  socket.on("error", () => undefined);
  await Promise.race([once(socket, "connect"), once(socket, "error").then(() => Promise.reject(gone()))]);
  const lines = createInterface({ input: socket })[Symbol.asyncIterator]();
  const next = async () => {
    const r = await lines.next();
    if (r.done === true) throw gone();
    return r.value;
  };
  const hello = JSON.parse(await next()) as RelayHello;
  return {
    hello,
    ask: async (line) => {
      socket.write(`${line}\n`);
      return next();
    },
    close: () => socket.destroy(),
  };
}

async function plugPorts(qmp: Qmp, id: string, dir: string): Promise<void> {
  for (const stream of STREAMS) {
    await qmp.run("chardev-add", {
      id: `exc-${id}-${stream}`,
      backend: {
        type: "socket",
        data: { addr: { type: "unix", data: { path: join(dir, `${stream}.sock`) } }, server: false },
      },
    });
    await qmp.run("device_add", {
      driver: "virtserialport",
      chardev: `exc-${id}-${stream}`,
      name: `tsminc.exec.${id}.${stream}`,
      id: `exd-${id}-${stream}`,
    });
  }
}

/**
 * Unplugs the ports (the guest lets go of each, then qemu says DEVICE_DELETED) and removes their
 * chardevs, which closes qemu's end of each socket after what it already passed on.
 */
async function unplugPorts(qmp: Qmp, id: string): Promise<void> {
  // First the guest lets go of them (exec.sh has ended): a port pulled while the guest still writes
  // to it makes qemu complain on its stderr, which is the container's. Not for long, though: a guest
  // that never closes one (it died) does not keep the session.
  const closed = STREAMS.map((stream) =>
    qmp.event("VSERPORT_CHANGE", (data) => data.id === `exd-${id}-${stream}` && data.open === false),
  );
  await Promise.race([Promise.all(closed), new Promise((resolve) => setTimeout(resolve, 3_000))]);
  for (const stream of STREAMS) {
    const device = `exd-${id}-${stream}`;
    const deleted = qmp.event("DEVICE_DELETED", (data) => data.device === device);
    await qmp.run("device_del", { id: device });
    await deleted;
    await qmp.run("chardev-remove", { id: `exc-${id}-${stream}` });
  }
}

/** The status line the guest writes on the session's status port. */
async function listenStatus(path: string): Promise<{ status: Promise<number | undefined>; close(): void }> {
  const server = createServer();
  const status = new Promise<number | undefined>((resolve) => {
    server.once("connection", (socket) => {
      socket.on("error", () => undefined);
      let text = "";
      socket.on("data", (d: Buffer) => {
        text += d.toString();
        const m = /^(\d+)\n/.exec(text);
        if (m?.[1] !== undefined) resolve(Number(m[1]));
      });
      socket.on("close", () => {
        resolve(undefined);
      });
    });
  });
  server.listen(path);
  await once(server, "listening");
  return { status, close: () => server.close() };
}

/**
 * Runs the process; resolves with its status. `terminalSize`: exec -t, the process on a terminal of
 * the guest of this size (this session's own stdio then being a raw terminal too).
 */
export async function runExecVm(
  relayPath: string,
  proc: ExecProcess,
  words: readonly string[],
  stdio: Stdio,
  terminalSize: { rows: number; cols: number } | undefined,
): Promise<number> {
  const relay = await openRelay(relayPath);
  const id = randomBytes(8).toString("hex");
  const dir = join(relay.hello.tmpdir, "exec", id);
  let qmp: Qmp | undefined;
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const files = execFiles(proc, terminalSize);
    writeFileSync(join(dir, "args"), files.args);
    writeFileSync(join(dir, "env"), files.env);
    writeFileSync(join(dir, "cwd"), files.cwd);
    if (files.tty !== undefined) writeFileSync(join(dir, "tty"), files.tty);
    writeFileSync(join(dir, "confine"), `${words.join(" ")}\n`);
    const bridge = await listenPorts(
      (["stdin", "stdout", "stderr"] as const).map((s) => ({ name: `tsminc.${s}`, path: join(dir, `${s}.sock`) })),
      stdio,
    );
    const status = await listenStatus(join(dir, "status.sock"));
    qmp = await openQmp(join(relay.hello.tmpdir, QMP_SOCKET));
    await plugPorts(qmp, id, dir);
    if ((await relay.ask(`exec ${id}`)) !== "ok") throw gone();
    // A terminal's resizes (the engine's, on this session's own terminal) follow it into the guest.
    const onResize = () =>
      void relay.ask(`resize ${id} ${process.stdout.rows} ${process.stdout.columns}`).catch(() => "");
    if (terminalSize !== undefined) process.stdout.on("resize", onResize);
    const code = await status.status;
    process.stdout.off("resize", onResize);
    await unplugPorts(qmp, id);
    await bridge.drained;
    bridge.close();
    status.close();
    return code ?? EXIT.guestDied;
  } finally {
    qmp?.close();
    relay.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
