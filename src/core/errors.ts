// The one error class of tsminc and tsermine: a code, a one-line message, a hint naming the fix, the cause.

export type ErrorCode =
  | "usage" // bad option or argument
  | "missing-tool" // a host program or package is absent
  | "source" // a source tarball could not be had
  | "checksum" // a download did not match its pinned sha256
  | "config" // a kernel or busybox config is unusable
  | "build" // a build step failed
  | "image" // an ermine image is missing or incomplete
  | "registry" // a container image's registry refused or failed (auth, unknown tag, unreachable)
  | "layer" // a container image's layer or archive is malformed or hostile
  | "system" // the host refused something at run time (a cgroup, a mount)
  | "internal"; // a bug of ours

export class MincError extends Error {
  override readonly name = "MincError";
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  /** lines worth showing under the message (e.g. the tail of a build log) */
  readonly details: readonly string[];

  constructor(code: ErrorCode, message: string, opts: { hint?: string; cause?: unknown; details?: string[] } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.hint = opts.hint;
    this.details = opts.details ?? [];
  }
}

/** Any thrown value as a MincError (unknown ones become "internal", keeping the original as cause). */
export function asMincError(err: unknown): MincError {
  if (err instanceof MincError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new MincError("internal", message, { cause: err, hint: "this is a bug in tsminc; please report it" });
}
