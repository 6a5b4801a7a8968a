// The host's side of a published port: a free port to publish, and TCP and UDP probes that retry
// until the container's server answers (it may not be up yet), bounded by a deadline.
import assert from "node:assert/strict";
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { connect, createServer, type AddressInfo } from "node:net";

/** A free TCP port on 127.0.0.1 (UDP's of the same number is free here too: nothing else binds). */
export async function freePort(): Promise<number> {
  const s = createServer().listen(0, "127.0.0.1");
  await once(s, "listening");
  const p = (s.address() as AddressInfo).port;
  s.close();
  return p;
}

/** What a TCP connection to 127.0.0.1:`port` gets before it closes; retried until `want` comes. */
export async function fetchTcp(port: number, want: string, ms = 60_000): Promise<string> {
  const until = Date.now() + ms;
  for (;;) {
    const got = await new Promise<string>((resolve) => {
      let data = "";
      const c = connect(port, "127.0.0.1");
      c.on("data", (d: Buffer) => (data += d.toString()));
      c.on("error", () => {
        resolve(data);
      });
      c.on("close", () => {
        resolve(data);
      });
    });
    if (got.includes(want) || Date.now() > until) return got;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Sends `text` to 127.0.0.1:`port` over UDP until `arrived()` says the container got it. */
export async function sendUdpUntil(port: number, text: string, arrived: () => boolean, ms = 60_000): Promise<void> {
  const socket = createSocket("udp4");
  try {
    const until = Date.now() + ms;
    while (!arrived()) {
      assert.ok(Date.now() < until, `${JSON.stringify(text)} never arrived at port ${port}`);
      socket.send(text, port, "127.0.0.1");
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    socket.close();
  }
}
