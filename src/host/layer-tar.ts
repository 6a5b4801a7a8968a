// A layer's tar read in order by node-tar's parser (loaded only here), each entry applied before the next is read.
import type { Readable } from "node:stream";
import type { ReadEntry } from "tar";
import type { MincError } from "../core/errors.js";
import { layerDamaged } from "./layer-stream.js";

/** What the entries go to. */
export interface EntrySink {
  /** applies one entry, ending it (its content read) before resolving */
  apply(entry: ReadEntry, signal: AbortSignal): Promise<void>;
  /** the error for a hostile or unusable entry */
  refusal(why: string): MincError;
}

export interface Progress {
  /** the decompressed stream was read to its end */
  streamEnded: boolean;
}

/** Feeds `stream` to node-tar's parser, handing each entry to `sink` in turn; rejects on the first failure. */
export async function readLayerTar(stream: Readable, sink: EntrySink, name: string, progress: Progress): Promise<void> {
  const { Parser } = await import("tar");
  const abort = new AbortController();
  // (an object: the handlers below change it, which flow analysis would not see of a plain variable)
  const state: { failure: Error | undefined; sawEof: boolean } = { failure: undefined, sawEof: false };
  const fail = (err: unknown): void => {
    if (state.failure !== undefined) return;
    state.failure = err instanceof Error ? err : new Error(String(err));
    abort.abort();
  };

  // The parser reads no further entry until this one has ended, and we end it (resume it) only
  // once it is applied; the chain keeps the work in order across the awaits in between.
  const parser = new Parser({ zstd: false, brotli: false });
  let chain = Promise.resolve();
  parser.on("entry", (entry: ReadEntry) => {
    chain = chain.then(() => (state.failure === undefined ? sink.apply(entry, abort.signal) : undefined)).catch(fail);
  });
  parser.on("ignoredEntry", (entry: ReadEntry) => {
    fail(sink.refusal(`entry ${JSON.stringify(entry.path)} is of a type not unpacked (${entry.type})`));
  });
  parser.on("eof", () => (state.sawEof = true));
  parser.on("warn", (code: string, message: string | Error, data: unknown) => {
    // Only end-of-archive blocks (docker's "empty layer"): a valid archive with nothing in it.
    if (code === "TAR_BAD_ARCHIVE" && message === "Unrecognized archive format" && state.sawEof) return;
    const text = message instanceof Error ? message.message : message;
    const cause = message instanceof Error ? message : Object.assign(new Error(`${code}: ${text}`), { data });
    fail(layerDamaged(name, text === "Unrecognized archive format" ? "it is not a tar archive" : text, cause));
  });
  parser.on("error", (err: Error) => {
    fail(layerDamaged(name, err.message, err));
  });
  const ended = new Promise<void>((resolve) => {
    parser.once("end", resolve);
    abort.signal.addEventListener(
      "abort",
      () => {
        resolve();
      },
      { once: true },
    );
  });

  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (state.failure !== undefined) break;
      // What follows the end-of-archive blocks is padding; it is still read, for the decompressor's checks.
      if (state.sawEof) continue;
      if (!parser.write(chunk)) await drained(parser, abort.signal);
    }
    if (state.failure === undefined) {
      progress.streamEnded = true;
      parser.end();
      await ended;
    }
  } catch (err) {
    fail(layerDamaged(name, (err as Error).message, err));
  }
  await chain;
  if (state.failure !== undefined) throw state.failure;
}

function drained(parser: NodeJS.EventEmitter, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const done = (): void => {
      parser.off("drain", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    parser.once("drain", done);
    signal.addEventListener("abort", done, { once: true });
  });
}
