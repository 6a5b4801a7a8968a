// Downloads a file with got: resumable through a .part file, retried on a cut, checksum-verified before it is kept.
import { once } from "node:events";
import { open, rename, rm, stat } from "node:fs/promises";
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

/** A file's size; 0 when there is none. */
export async function sizeOf(path: string): Promise<number> {
  return stat(path).then(
    (s) => s.size,
    () => 0,
  );
}

/** A failure after the server began to answer: worth resuming, unlike one to connect at all. */
class BodyCut extends Error {}

/** One GET, appending to `part` from its current size; resolves when the body ended. */
async function fetchInto(url: string, part: string, onProgress?: DownloadProgress): Promise<void> {
  const offset = await sizeOf(part);
  // Opened before the request, so the body's listeners are attached the moment it arrives.
  const file = await open(part, "a");
  let writes: Promise<unknown> = Promise.resolve();
  try {
    const stream = got.stream(url, {
      headers: offset > 0 ? { range: `bytes=${offset}-` } : {},
      retry: { limit: 0 },
      timeout: { lookup: 15_000, connect: 15_000, secureConnect: 15_000, response: 30_000, socket: 60_000 },
    });
    let response;
    try {
      [response] = (await once(stream, "response")) as [
        { statusCode: number; headers: Record<string, string | undefined> },
      ];
    } catch (err) {
      // 416: the server has nothing after `offset`, so the .part is whole already.
      if (err instanceof HTTPError && err.response.statusCode === 416) return;
      throw err;
    }
    // No await from here until the listeners are on: a cut may come with the first bytes.
    const resumed = response.statusCode === 206;
    if (!resumed) writes = file.truncate(0);
    const base = resumed ? offset : 0;
    const expected = Number(response.headers["content-length"] ?? Number.NaN);
    let received = 0;
    // Every chunk got delivers is written, in order, even when the connection drops right after it
    // (an async iterator would drop what was still buffered). got may report a cut only after the
    // body "ended", so the byte count has the last word.
    const ended = new Promise<void>((resolve, reject) => {
      stream.on("data", (chunk: Buffer) => {
        received += chunk.length;
        writes = writes.then(() => file.write(chunk));
      });
      stream.on("end", resolve);
      stream.on("error", reject);
    });
    stream.on("downloadProgress", (p: { transferred: number; total?: number }) => {
      onProgress?.(base + p.transferred, p.total === undefined ? undefined : base + p.total);
    });
    try {
      await ended;
    } catch (err) {
      throw new BodyCut((err as Error).message, { cause: err });
    }
    if (received < expected) throw new BodyCut(`the body ended after ${received} of ${expected} bytes`);
  } finally {
    await writes;
    await file.close();
  }
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
      if (attempt < attempts && err instanceof BodyCut) continue; // the body was cut: resume
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
