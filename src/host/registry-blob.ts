// A blob from a registry: resumed with Range after a cut, sha256-verified, renamed into place; one download per file.
import { once } from "node:events";
import { mkdir, open, rename, rm, truncate } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { MincError } from "../core/errors.js";
import { sha256File } from "./hash.js";
import { Cut, firstLine, isTransient } from "./registry-errors.js";
import { sizeOf } from "./download.js";
import { claimLeftover, Digester } from "./registry-partial.js";
import type { Session } from "./registry-session.js";

const BLOB_ATTEMPTS = 5;

/** One download per dest in this process: a second call for the same file waits for the first. */
const inflight = new Map<string, Promise<void>>();
let claims = 0;

/** The blob asked for. */
export type BlobRequest = Pick<BlobJob, "digest" | "size" | "onProgress">;

interface BlobJob {
  readonly digest: string;
  readonly size: number | undefined;
  readonly part: string;
  readonly digester: Digester;
  readonly onProgress: ((received: number, total: number | undefined) => void) | undefined;
  /** some bytes came from before this GET (a leftover, an earlier attempt): a mismatch may be theirs */
  resumed: boolean;
}

function otherBytes(job: BlobJob, s: Session, detail: string): MincError {
  return new MincError("checksum", `${s.name} sent other bytes for the blob ${job.digest}: ${detail}`, {
    hint: "the download was deleted; the registry, or something on the way, corrupts or tampers with it",
  });
}

/** One GET of the blob, appending to job.part from its current size; resolves when the body ended. */
async function fetchBlobInto(s: Session, job: BlobJob): Promise<void> {
  // A leftover longer than the blob is not its beginning: start over.
  if (job.size !== undefined && (await sizeOf(job.part)) > job.size) await truncate(job.part, 0);
  const offset = await sizeOf(job.part);
  await job.digester.catchUp(job.part, offset);
  const url = `${await s.base()}/v2/${s.repository}/blobs/${job.digest}`;
  const http = await s.client();
  const file = await open(job.part, "a");
  let writes: Promise<unknown> = Promise.resolve();
  try {
    let answer;
    try {
      answer = await s.authed(async (headers) => {
        const stream = http.stream(url, {
          headers: { ...headers, ...(offset > 0 ? { range: `bytes=${offset}-` } : {}) },
        });
        // Errors are kept from the start: one may come before the body's listeners are on.
        const failed: { error?: Error } = {};
        stream.on("error", (e: Error) => (failed.error ??= e));
        const [response] = (await once(stream, "response")) as [
          { statusCode: number; headers: Record<string, string | undefined> },
        ];
        if (response.statusCode !== 200 && response.statusCode !== 206) stream.destroy();
        return {
          status: response.statusCode,
          challenge: response.headers["www-authenticate"],
          value: { stream, response, failed },
        };
      });
    } catch (err) {
      if (err instanceof MincError) throw err;
      if (isTransient(err)) throw new Cut(firstLine(err), 0, { cause: err });
      throw s.unreachable(err);
    }
    const { stream, response, failed } = answer.value;
    const status = response.statusCode;
    if (status === 416 && offset > 0) {
      job.resumed = true; // nothing after `offset`: the partial is whole, or is not the blob at all
      return;
    }
    if (status === 404) {
      throw new MincError("registry", `${s.name} has no blob ${job.digest}`, {
        hint: "the image's manifest names a blob the registry lacks; try another tag or ask its owner",
      });
    }
    if (status === 429 || status >= 500) throw new Cut(`${s.host} answered ${status}`, 1000);
    if (status !== 200 && status !== 206) {
      throw new MincError("registry", `${s.host} answered ${status} for the blob ${job.digest} of ${s.repository}`, {
        hint: "try again later, or check the registry",
      });
    }
    const resumed = status === 206;
    if (resumed && !new RegExp(`^bytes ${offset}-`).test(response.headers["content-range"] ?? "")) {
      // A 206 must start where the partial ends: anything else, and the next attempt starts from byte 0.
      stream.destroy();
      await file.truncate(0);
      throw new Cut(`the registry resumed at another offset than ${offset}`);
    }
    if (!resumed) {
      // A 200: the whole blob, whatever the Range asked.
      writes = file.truncate(0);
      job.digester.reset();
    }
    job.resumed ||= resumed;
    // No await from here until the listeners are on: the data waits for them (a paused stream).
    const base = resumed ? offset : 0;
    const length = Number(response.headers["content-length"] ?? Number.NaN);
    const total = job.size ?? (Number.isNaN(length) ? undefined : base + length);
    let received = 0;
    const ended = new Promise<void>((resolveEnd, reject) => {
      if (failed.error) {
        reject(failed.error);
        return;
      }
      stream.on("data", (chunk: Buffer) => {
        received += chunk.length;
        if (job.size !== undefined && base + received > job.size) {
          stream.destroy();
          reject(otherBytes(job, s, `more than its ${String(job.size)} bytes`));
          return;
        }
        job.digester.update(chunk);
        writes = writes.then(() => file.write(chunk));
        job.onProgress?.(base + received, total);
      });
      stream.on("end", resolveEnd);
      stream.on("error", reject);
    });
    try {
      await ended;
    } catch (err) {
      if (err instanceof MincError) throw err;
      throw new Cut(firstLine(err), 0, { cause: err });
    }
    if (received < length) throw new Cut(`the body ended after ${received} of ${length} bytes`);
  } finally {
    await writes;
    await file.close();
  }
}

/** Runs GETs until the body is whole, resuming after each cut, up to BLOB_ATTEMPTS. */
async function fetchWhole(s: Session, job: BlobJob): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await fetchBlobInto(s, job);
      return;
    } catch (err) {
      if (!(err instanceof Cut)) throw err;
      if (attempt >= BLOB_ATTEMPTS) {
        throw new MincError("registry", `cannot download ${job.digest} from ${s.name}: ${err.message}`, {
          cause: err,
          hint: "run it again: the download resumes where it stopped",
        });
      }
      if (err.backoffMs > 0) await new Promise((r) => setTimeout(r, err.backoffMs * attempt));
    }
  }
}

/** Downloads into this call's own partial file, verifies it, renames it to dest. */
async function downloadBlob(s: Session, job: BlobRequest, dest: string): Promise<void> {
  await mkdir(dirname(dest), { recursive: true });
  if ((await sizeOf(dest)) > 0 && `sha256:${await sha256File(dest)}` === job.digest) return;
  const part = `${dest}.partial.${process.pid}.${++claims}`;
  await claimLeftover(dest, part);
  const full: BlobJob = { ...job, part, digester: new Digester(), resumed: false };
  let kept = false;
  try {
    for (let fresh = false; ; fresh = true) {
      try {
        await fetchWhole(s, full);
        await full.digester.catchUp(part, await sizeOf(part));
        const actual = full.digester.digest();
        if (actual !== job.digest) throw otherBytes(full, s, `they hash to ${actual}`);
        break;
      } catch (err) {
        // Bytes glued from a resume (an old leftover, a server that changed) get one clean try from byte 0.
        if (!(err instanceof MincError && err.code === "checksum" && full.resumed && !fresh)) throw err;
        await truncate(part, 0);
        full.digester.reset();
        full.resumed = false;
      }
    }
    await rename(part, dest);
    kept = true;
  } catch (err) {
    // Bad bytes are dropped; bytes cut short are parked as dest.partial for the next call to resume.
    const checksum = err instanceof MincError && err.code === "checksum";
    if (!checksum && (await sizeOf(part)) > 0) await rename(part, `${dest}.partial`).catch(() => undefined);
    throw err;
  } finally {
    if (!kept) await rm(part, { force: true });
  }
}

/** Downloads the blob `digest` to `dest` (see RegistryClient.blob), joining a download of it already under way. */
export function fetchBlob(s: Session, job: BlobRequest, dest: string): Promise<void> {
  const key = resolve(dest);
  const running = inflight.get(key);
  if (running) return running;
  const download = downloadBlob(s, job, key).finally(() => inflight.delete(key));
  inflight.set(key, download);
  return download;
}
