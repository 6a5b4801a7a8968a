// Pipe mode: the container's stdin, stdout and stderr travel over virtio-serial ports, which qemu
// connects to unix sockets listened on here. Bytes pass unchanged; stdout and stderr stay apart.
import { once } from "node:events";
import { createServer, type Server, type Socket } from "node:net";
import type { Readable, Writable } from "node:stream";
import type { SocketPlan } from "../core/vm-plan.js";

export interface PortBridge {
  /** resolves when stdout and stderr have ended (qemu closed them) */
  readonly drained: Promise<void>;
  close(): void;
}

export interface Stdio {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable;
}

/**
 * Listens on every socket of the plan before qemu starts, so none of the guest's bytes is lost.
 * stdin is read only once `stdinGate` resolves true (a VM that has woken; see control-port.ts): a VM
 * that fails to resume must not have eaten any of it.
 */
export async function listenPorts(
  sockets: readonly SocketPlan[],
  stdio: Stdio,
  stdinGate: Promise<boolean> = Promise.resolve(true),
): Promise<PortBridge> {
  const servers: Server[] = [];
  const ended: Promise<unknown>[] = [];
  for (const { name, path } of sockets) {
    const server = createServer();
    servers.push(server);
    const connection = new Promise<Socket>((resolve) => server.once("connection", resolve));
    server.listen(path);
    await once(server, "listening");
    if (name === "tsminc.stdin") {
      void connection.then(async (socket) => {
        socket.on("error", () => undefined);
        if (await stdinGate) stdio.stdin.pipe(socket);
      });
    } else if (name === "tsminc.stdout" || name === "tsminc.stderr") {
      const out = name === "tsminc.stdout" ? stdio.stdout : stdio.stderr;
      ended.push(
        connection.then(async (socket) => {
          socket.pipe(out, { end: false });
          await once(socket, "close");
        }),
      );
    }
  }
  return {
    drained: Promise.all(ended).then(() => undefined),
    close: () => {
      stdio.stdin.unpipe();
      for (const s of servers) s.close();
    },
  };
}
