// The container monitor's exec relay (vm mode under tsminc-runtime): a unix socket where an exec
// session learns the run's tmpdir (the VM's share, holding qemu's QMP socket) and asks the guest,
// over the tsminc.ctl port the monitor holds, to start its process.
import { once } from "node:events";
import { rmSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { createInterface } from "node:readline";

/** What a session may ask for: "exec ID" (ID being its hex name), and "resize ID ROWS COLS" for its terminal. */
export const EXEC_LINE = /^(exec [0-9a-f]{8,32}|resize [0-9a-f]{8,32} \d{1,5} \d{1,5})$/;

export interface RelayHello {
  readonly tmpdir: string;
}

/**
 * `awake`: resolves true once the guest has woken (control-port.ts): no session may plug its ports
 * into a VM still resuming from its snapshot (the loaded device set must be the saved one), so the
 * hello waits for it; false (the VM is gone, or another start follows) ends the session's connection.
 */
export async function listenRelay(
  path: string,
  hello: RelayHello,
  send: (line: string) => boolean,
  awake: Promise<boolean>,
): Promise<{ close(): void }> {
  rmSync(path, { force: true });
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
    void awake.then((ok) => {
      if (ok) socket.write(`${JSON.stringify(hello)}\n`);
      else socket.destroy();
    });
    const lines = createInterface({ input: socket });
    lines.on("error", () => undefined);
    lines.on("line", (line) => {
      socket.write(EXEC_LINE.test(line) && send(`${line}\n`) ? "ok\n" : "refused\n");
    });
  });
  server.listen(path);
  await once(server, "listening");
  return {
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
      rmSync(path, { force: true });
    },
  };
}
