// A DNS server on 127.0.0.1 for the network tests: it answers every A query with one address (and
// other types with no record), and remembers the names it was asked. Traffic stays on this machine.
import { createSocket } from "node:dgram";
import { once } from "node:events";

export interface DnsServer {
  readonly queries: string[];
  close(): void;
}

/** The question's name and type, from a query's bytes. */
function question(msg: Buffer): { name: string; type: number; end: number } {
  const labels: string[] = [];
  let at = 12;
  for (let len = msg[at] ?? 0; len > 0; len = msg[at] ?? 0) {
    labels.push(msg.subarray(at + 1, at + 1 + len).toString());
    at += len + 1;
  }
  return { name: labels.join("."), type: msg.readUInt16BE(at + 1), end: at + 5 };
}

export async function startDnsServer(port: number, address: string): Promise<DnsServer> {
  const socket = createSocket("udp4");
  const queries: string[] = [];
  socket.on("message", (msg, peer) => {
    const q = question(msg);
    queries.push(q.name);
    const a = q.type === 1;
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2); // the id
    header.writeUInt16BE(0x8180, 2); // a response, recursion desired and available, no error
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(a ? 1 : 0, 6);
    const answer = Buffer.alloc(16);
    answer.writeUInt16BE(0xc00c, 0); // the question's name
    answer.writeUInt16BE(1, 2); // A
    answer.writeUInt16BE(1, 4); // IN
    answer.writeUInt32BE(60, 6);
    answer.writeUInt16BE(4, 10);
    address.split(".").forEach((b, i) => answer.writeUInt8(Number(b), 12 + i));
    socket.send(Buffer.concat([header, msg.subarray(12, q.end), ...(a ? [answer] : [])]), peer.port, peer.address);
  });
  socket.bind(port, "127.0.0.1");
  await once(socket, "listening");
  return { queries, close: () => socket.close() };
}
