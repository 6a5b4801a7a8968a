// The tsminc.ctl port of a VM, the host's end: a unix socket qemu connects to. The guest's init says
// "ready" and "go" on it (guest-init's await_release); the host releases it, then sends enter.sh's
// control reader its lines (resizes, forwarded signals, exec sessions), held until the guest is awake.
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type Socket } from "node:net";
import { createInterface } from "node:readline";

/** The release for confine --wake: the host's clock and fresh randomness. */
export function releaseLine(): string {
  const ms = Date.now();
  return `release ${Math.floor(ms / 1000)} ${(ms % 1000) * 1e6} ${randomBytes(32).toString("hex")}\n`;
}

export interface ControlPort {
  /** resolves true when qemu has connected, false when the port was closed first */
  readonly connected: Promise<boolean>;
  /** a line for enter.sh's control reader; says whether qemu had connected to take it (it may wait for "go") */
  send(line: string): boolean;
  /** the release: at once, past the lines held for later */
  release(line: string): void;
  /** resolves true when the guest writes `word` as a line, false when the port closes first */
  until(word: string): Promise<boolean>;
  close(): void;
}

export async function listenControl(path: string): Promise<ControlPort> {
  const server = createServer();
  let socket: Socket | undefined;
  let awake = false;
  let closed = false;
  const held: string[] = [];
  const heard = new Set<string>();
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  let onConnect: (ok: boolean) => void = () => undefined;
  const connected = new Promise<boolean>((resolve) => (onConnect = resolve));
  const finish = () => {
    closed = true;
    onConnect(false);
    wake();
  };
  server.on("connection", (s) => {
    socket = s;
    s.on("error", () => undefined);
    s.on("close", finish);
    const lines = createInterface({ input: s });
    // readline passes on the socket's errors (a reset when qemu dies): the close that follows is enough.
    lines.on("error", () => undefined);
    lines.on("line", (line) => {
      heard.add(line.trim());
      if (line.trim() === "go") {
        awake = true;
        for (const h of held.splice(0)) s.write(h);
      }
      wake();
    });
    onConnect(true);
  });
  server.listen(path);
  await once(server, "listening");
  return {
    connected,
    send: (line) => {
      if (socket === undefined) return false;
      if (awake) socket.write(line);
      else held.push(line);
      return true;
    },
    release: (line) => {
      socket?.write(line);
    },
    until: (word) =>
      new Promise<boolean>((resolve) => {
        const w = () => {
          if (!heard.has(word) && !closed) return;
          waiters.delete(w);
          resolve(heard.has(word));
        };
        waiters.add(w);
        w();
      }),
    close: () => {
      socket?.destroy();
      server.close();
      finish();
    },
  };
}
