// A small client for qemu's QMP socket: the greeting, capabilities negotiation, then one command at
// a time, and waiting for an event. tsminc-runtime's exec plugs its session's ports in with it.
import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { createInterface } from "node:readline";
import { MincError } from "../core/errors.js";

export interface Qmp {
  run(execute: string, args?: Record<string, unknown>): Promise<unknown>;
  /** resolves when an event named `name` whose data passes `match` arrives (or has arrived) */
  event(name: string, match: (data: Record<string, unknown>) => boolean): Promise<void>;
  close(): void;
}

type Message = Record<string, unknown>;

const closed = () => new MincError("system", "the VM closed its QMP socket", { hint: "it has stopped" });

export async function openQmp(path: string): Promise<Qmp> {
  const socket: Socket = connect(path);
  socket.on("error", () => undefined);
  await Promise.race([
    once(socket, "connect"),
    once(socket, "error").then(([err]) => {
      throw new MincError("system", `cannot reach the VM's QMP socket ${path}`, {
        hint: "the container's VM has stopped",
        cause: err,
      });
    }),
  ]);
  const replies: Message[] = [];
  const events: Message[] = [];
  // Every waiter (a command's reply, an event) looks again after each message.
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const w of [...waiters]) w();
  };
  let ended = false;
  const lines = createInterface({ input: socket });
  lines.on("error", () => undefined);
  lines.on("line", (line) => {
    const msg = JSON.parse(line) as Message;
    ("event" in msg ? events : replies).push(msg);
    wake();
  });
  lines.on("close", () => {
    ended = true;
    wake();
  });
  /** Waits until `take` finds what it wants in the messages so far. */
  const until = async <T>(take: () => T | undefined): Promise<T> => {
    for (;;) {
      const got = take();
      if (got !== undefined) return got;
      if (ended) throw closed();
      await new Promise<void>((resolve) => {
        const w = () => {
          waiters.delete(w);
          resolve();
        };
        waiters.add(w);
      });
    }
  };
  await until(() => replies.shift()); // the greeting
  const run = async (execute: string, args?: Record<string, unknown>) => {
    socket.write(`${JSON.stringify({ execute, ...(args === undefined ? {} : { arguments: args }) })}\n`);
    const msg = await until(() => replies.shift());
    const error = msg.error as { desc?: string } | undefined;
    if (error !== undefined)
      throw new MincError("system", `qemu refused ${execute}: ${error.desc ?? "no reason given"}`, {
        hint: "run with --debug",
      });
    return msg.return;
  };
  await run("qmp_capabilities");
  return {
    run,
    event: async (name, match) => {
      await until(() => {
        const i = events.findIndex((e) => e.event === name && match((e.data ?? {}) as Message));
        return i < 0 ? undefined : events.splice(i, 1);
      });
    },
    close: () => socket.destroy(),
  };
}
