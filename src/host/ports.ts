// The host ports a run publishes (-p), checked before anything of the run starts: a port in use is
// one line and 125, not a container that started and then failed to be reached.
import { createSocket } from "node:dgram";
import { once } from "node:events";
import { createServer } from "node:net";
import { MincError } from "../core/errors.js";
import type { Publish } from "../core/network.js";

async function tryBind(p: Publish): Promise<void> {
  if (p.proto === "udp") {
    const socket = createSocket("udp4");
    try {
      socket.bind(p.hostPort, p.hostIp);
      await once(socket, "listening");
    } finally {
      socket.close();
    }
    return;
  }
  const server = createServer();
  try {
    server.listen({ host: p.hostIp, port: p.hostPort, exclusive: true });
    await once(server, "listening");
  } finally {
    server.close();
  }
}

export async function checkPortsFree(publish: readonly Publish[]): Promise<void> {
  for (const p of publish) {
    try {
      await tryBind(p);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === "EADDRINUSE"
          ? "is in use"
          : code === "EADDRNOTAVAIL"
            ? "is not an address of this host"
            : `cannot be bound (${code ?? String(err)})`;
      throw new MincError(
        "usage",
        `-p ${p.hostIp}:${p.hostPort}:${p.containerPort}/${p.proto}: host port ${p.hostIp}:${p.hostPort}/${p.proto} ${why}`,
        {
          cause: err,
          hint: "pick another host port, or stop what listens there",
        },
      );
    }
  }
}
