// How the registry client tells failures apart: network and registry error codes, cuts worth resuming, bad digests.
import { MincError } from "../core/errors.js";

export const DIGEST = /^sha256:[a-f0-9]{64}$/;

export function checkDigest(digest: string): void {
  if (!DIGEST.test(digest)) {
    throw new MincError("registry", `not a sha256 digest: ${digest}`, { hint: "tsminc verifies sha256 digests only" });
  }
}

export function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : "";
}

export function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
}

export const isCertError = (err: unknown) => /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(codeOf(err));
/** The TLS handshake failed the way it does when the server speaks plain http. */
export const isTlsMismatch = (err: unknown) => /^(EPROTO|ERR_SSL_)/.test(codeOf(err));
/** A failure worth another attempt: the connection dropped or went silent. */
export const isTransient = (err: unknown) =>
  /^(ECONNRESET|ETIMEDOUT|EPIPE|ECONNABORTED|ERR_STREAM_PREMATURE_CLOSE)$/.test(codeOf(err));

/** The `code`s of a registry's JSON error body: `{"errors":[{"code":"MANIFEST_UNKNOWN",…}]}`. */
export function errorCodes(body: Buffer | undefined): string[] {
  try {
    const parsed = JSON.parse(body?.toString("utf8") ?? "") as { errors?: { code?: unknown }[] };
    return (parsed.errors ?? []).map((e) => String(e.code));
  } catch {
    return [];
  }
}

/** A failure after the server began to answer (or a 5xx): worth resuming, unlike a refusal. */
export class Cut extends Error {
  constructor(
    message: string,
    readonly backoffMs = 0,
    opts?: ErrorOptions,
  ) {
    super(message, opts);
  }
}
