// A TCP sink on 127.0.0.1 for the network benches: counts what arrives and times it on the host,
// from the first byte to the last.
import { once } from "node:events";
import { createServer, type AddressInfo } from "node:net";

export interface Sink {
  readonly port: number;
  /** MiB/s of what arrived; 0 unless `expected` bytes did */
  rate(expected: number): number;
  close(): void;
}

export async function startSink(): Promise<Sink> {
  let first = 0;
  let last = 0;
  let bytes = 0;
  const server = createServer((c) => {
    c.on("data", (d: Buffer) => {
      if (bytes === 0) first = performance.now();
      bytes += d.length;
      last = performance.now();
    });
  }).listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    port: (server.address() as AddressInfo).port,
    rate: (expected) => (bytes === expected ? bytes / 2 ** 20 / ((last - first) / 1000) : 0),
    close: () => server.close(),
  };
}
