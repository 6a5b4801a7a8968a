// A real HTTP server on 127.0.0.1 serving tarballs, with Range support and a switch to cut a body halfway.
import { once } from "node:events";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tar from "tar";

export interface Served {
  body: Buffer;
  /** the next response sends half the body, then drops the connection */
  cutNext?: boolean;
}

export interface TarballServer {
  readonly url: string;
  readonly files: Map<string, Served>;
  readonly requests: { path: string; range: string | undefined }[];
  close(): Promise<void>;
}

export async function startTarballServer(): Promise<TarballServer> {
  const files = new Map<string, Served>();
  const requests: { path: string; range: string | undefined }[] = [];
  const server: Server = createServer((req, res) => {
    const path = req.url ?? "/";
    requests.push({ path, range: req.headers.range });
    const served = files.get(path);
    if (!served) {
      res.writeHead(404).end();
      return;
    }
    const from = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? "")?.[1] ?? 0);
    const body = served.body.subarray(from);
    if (from >= served.body.length && from > 0) {
      res.writeHead(416, { "content-range": `bytes */${served.body.length}` }).end();
      return;
    }
    res.writeHead(from > 0 ? 206 : 200, {
      "content-length": body.length,
      ...(from > 0 ? { "content-range": `bytes ${from}-${served.body.length - 1}/${served.body.length}` } : {}),
    });
    if (served.cutNext) {
      served.cutNext = false;
      res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.end());
      return;
    }
    res.end(body);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    files,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** A small real .tar.gz holding `<top>/` with a file of `size` pseudo-random bytes. */
export function makeTarball(top: string, size = 300_000): Buffer {
  const dir = mkdtempSync(join(tmpdir(), "tsminc-tarball-"));
  mkdirSync(join(dir, top));
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 2654435761) >>> 24;
  writeFileSync(join(dir, top, "payload.bin"), bytes);
  tar.c({ gzip: true, cwd: dir, sync: true, file: join(dir, "out.tar.gz") }, [top]);
  return readFileSync(join(dir, "out.tar.gz"));
}
