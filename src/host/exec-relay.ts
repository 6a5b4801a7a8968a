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

export async function listenRelay(
  path: string,
  hello: RelayHello,
  send: (line: string) => boolean,
): Promise<{ close(): void }> {
  rmSync(path, { force: true });
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
    socket.write(`${JSON.stringify(hello)}\n`);
    createInterface({ input: socket }).on("line", (line) => {
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
