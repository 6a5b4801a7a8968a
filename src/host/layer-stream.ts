// A layer blob's bytes as a tar stream: compression told by the first bytes; gzip by zlib, zstd and xz by their programs.
import { spawn } from "node:child_process";
import { closeSync, createReadStream, openSync, readSync } from "node:fs";
import { pipeline, type Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { MincError } from "../core/errors.js";
import { spawnFailure } from "./spawn-runner.js";

const DAMAGED_HINT = "pull the image again; if it fails again, the image itself is broken";

type Compression = "gzip" | "zstd" | "xz" | "tar";

const MAGIC: readonly (readonly [Compression, readonly number[]])[] = [
  ["gzip", [0x1f, 0x8b]],
  ["zstd", [0x28, 0xb5, 0x2f, 0xfd]],
  ["xz", [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
];

function sniff(blob: string): Compression {
  const head = Buffer.alloc(6);
  const fd = openSync(blob, "r");
  try {
    const n = readSync(fd, head, 0, head.length, 0);
    const found = MAGIC.find(([, magic]) => n >= magic.length && magic.every((b, i) => head[i] === b));
    return found?.[0] ?? "tar";
  } finally {
    closeSync(fd);
  }
}

export interface Source {
  readonly stream: Readable;
  /** once the stream has ended: why the decompressor failed, if it did */
  readonly failure: () => Promise<Error | undefined>;
  readonly stop: () => void;
}

/** The layer `name` is damaged: `why`, in one line. */
export function layerDamaged(name: string, why: string, cause?: unknown): MincError {
  return new MincError("layer", `layer ${name} is damaged: ${why}`, { hint: DAMAGED_HINT, cause });
}

/** A decompressor's failure as the error to show: its own MincError (a missing program), else a damaged layer. */
export function decompressorError(name: string, why: Error): MincError {
  if (why instanceof MincError) return why;
  return layerDamaged(name, why.message, why);
}

/** The decompressed bytes of `blob` (tar, tar+gzip, tar+zstd or tar+xz, told by its first bytes). */
export function openLayer(blob: string): Source {
  const compression = sniff(blob);
  if (compression === "tar" || compression === "gzip") {
    const file = createReadStream(blob, { highWaterMark: 1 << 20 });
    const stream = compression === "tar" ? file : pipeline(file, createGunzip({ chunkSize: 1 << 18 }), () => undefined);
    return { stream, failure: () => Promise.resolve(undefined), stop: () => stream.destroy() };
  }
  // node 20's zlib has no zstd, and none has xz: their own programs decompress.
  const tool = compression;
  const child = spawn(tool, ["-d", "-c", "-q", "--", blob], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<Error | undefined>((resolve) => {
    child.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "ENOENT") resolve(spawnFailure(tool, err));
      else {
        resolve(
          new MincError(
            "missing-tool",
            `cannot decompress a ${tool} layer: ${tool} is not installed (or not on PATH)`,
            {
              cause: err,
              hint: `apt-get install ${tool === "xz" ? "xz-utils" : "zstd"}`,
            },
          ),
        );
      }
    });
    child.once("close", (code, signal) => {
      const status = code === null ? `was killed by ${signal ?? "a signal"}` : `exited with status ${code}`;
      resolve(code === 0 ? undefined : new Error(`${tool} ${status}: ${stderr.trim().split("\n").at(-1) ?? ""}`));
    });
  });
  return {
    stream: child.stdout,
    failure: () => exited,
    stop: () => {
      child.stdout.destroy();
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}
