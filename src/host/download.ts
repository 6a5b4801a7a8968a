// Downloads a file with got: resumable through a .part file, retried on a cut, checksum-verified before it is kept.
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { rename, rm, stat } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import got, { HTTPError } from "got";
import { MincError } from "../core/errors.js";
import { sha256File } from "./hash.js";

export interface DownloadProgress {
  (received: number, total: number | undefined): void;
}

export interface DownloadRequest {
  readonly url: string;
  readonly dest: string;
  readonly sha256: string;
  readonly onProgress?: DownloadProgress;
  /** attempts, each resuming where the last one stopped */
  readonly attempts?: number;
}

async function sizeOf(path: string): Promise<number> {
  return stat(path).then(
    (s) => s.size,
    () => 0,
  );
}

/** One GET, appending to `part` from its current size; resolves when the body ended. */
async function fetchInto(url: string, part: string, onProgress?: DownloadProgress): Promise<void> {
  const offset = await sizeOf(part);
  const stream = got.stream(url, {
    headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
    retry: { limit: 0 },
    timeout: { lookup: 15_000, connect: 15_000, secureConnect: 15_000, response: 30_000, socket: 60_000 },
  });
  let response;
  try {
    [response] = (await once(stream, "response")) as [{ statusCode: number }];
  } catch (err) {
    // 416: the server has nothing after `offset`, so the .part is whole already.
    if (err instanceof HTTPError && err.response.statusCode === 416) return;
    throw err;
  }
  const resumed = response.statusCode === 206;
  const base = resumed ? offset : 0;
  stream.on("downloadProgress", (p: { transferred: number; total?: number }) => {
    onProgress?.(base + p.transferred, p.total === undefined ? undefined : base + p.total);
  });
  await pipeline(stream, createWriteStream(part, { flags: resumed ? "a" : "w" }));
}

/** Downloads `url` to `dest`, or fails without leaving `dest` behind; a checksum mismatch deletes the file. */
export async function downloadVerified(req: DownloadRequest): Promise<void> {
  const part = `${req.dest}.part`;
  const attempts = req.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    try {
      await fetchInto(req.url, part, req.onProgress);
      break;
    } catch (err) {
      const cut = (await sizeOf(part)) > 0;
      if (attempt < attempts && cut) continue; // the body was cut: resume
      throw new MincError("source", `cannot download ${req.url}: ${(err as Error).message}`, {
        cause: err,
        hint: "check the network, or use --sources debian|DIR|URL",
      });
    }
  }
  const actual = await sha256File(part);
  if (actual !== req.sha256) {
    await rm(part, { force: true });
    throw new MincError("checksum", `checksum mismatch for ${req.url}: got ${actual}, expected ${req.sha256}`, {
      hint: "the file was deleted; the source or mirror is corrupt or tampered with",
    });
  }
  await rename(part, req.dest);
}
