// A manifest (or index) fetched from a registry by tag or digest: its bytes, media type and verified digest.
import { MincError } from "../core/errors.js";
import { sha256Text } from "./hash.js";
import type { Fetched } from "./registry.js";
import { checkDigest, DIGEST, errorCodes } from "./registry-errors.js";
import type { Session } from "./registry-session.js";

const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const MAX_MANIFEST = 4 * 1024 * 1024;

/** The manifest's media type: the Content-Type, unless it is generic, then the JSON's own mediaType. */
function mediaTypeOf(contentType: string | undefined, bytes: Buffer): string {
  const header = (contentType ?? "").split(";")[0]?.trim() ?? "";
  if (header !== "" && header !== "application/json" && header !== "text/plain") return header;
  try {
    const inner = (JSON.parse(bytes.toString("utf8")) as { mediaType?: unknown }).mediaType;
    if (typeof inner === "string") return inner;
  } catch {
    // not JSON: the header stands
  }
  return header;
}

/** reference: a tag or "sha256:…"; verifies the digest when it is one, or the one the registry claims. */
export async function fetchManifest(s: Session, reference: string, accept: readonly string[]): Promise<Fetched> {
  const byDigest = reference.includes(":");
  if (byDigest) checkDigest(reference);
  else if (!TAG.test(reference)) {
    throw new MincError("usage", `not a tag or digest: ${reference}`, {
      hint: "a tag is like latest, a digest sha256:…",
    });
  }
  const base = await s.base();
  const http = await s.client();
  const url = `${base}/v2/${s.repository}/manifests/${reference}`;
  let answer;
  try {
    answer = await s.authed(async (headers) => {
      const res = await http.get(url, {
        headers: { ...headers, accept: accept.join(", ") },
        responseType: "buffer",
        retry: { limit: 2, errorCodes: ["ECONNRESET", "ETIMEDOUT", "EPIPE"] },
      });
      const challenge = res.headers["www-authenticate"];
      return { status: res.statusCode, challenge, value: res };
    });
  } catch (err) {
    throw err instanceof MincError ? err : s.unreachable(err);
  }
  const res = answer.value;
  if (res.statusCode === 404) {
    const codes = errorCodes(res.body);
    const what = byDigest ? `no manifest ${reference}` : `no tag ${reference}`;
    throw new MincError(
      "registry",
      codes.includes("NAME_UNKNOWN") ? `${s.host} has no repository ${s.repository}` : `${s.name} has ${what}`,
      { hint: `see what it has: skopeo list-tags docker://${s.name}` },
    );
  }
  if (res.statusCode !== 200) {
    const codes = errorCodes(res.body);
    throw new MincError(
      "registry",
      `${s.host} answered ${res.statusCode}${codes.length > 0 ? ` (${codes.join(", ")})` : ""} for the manifest ${reference} of ${s.repository}`,
      { hint: "try again later, or check the registry" },
    );
  }
  const bytes = res.body;
  if (bytes.length > MAX_MANIFEST) {
    throw new MincError("registry", `the manifest ${reference} of ${s.name} is over ${MAX_MANIFEST} bytes`);
  }
  const digest = `sha256:${sha256Text(bytes)}`;
  const claimed = res.headers["docker-content-digest"];
  const expected = byDigest ? reference : typeof claimed === "string" && DIGEST.test(claimed) ? claimed : undefined;
  if (expected !== undefined && expected !== digest) {
    throw new MincError(
      "checksum",
      `${s.name} sent other bytes for the manifest ${reference}: they hash to ${digest}, not ${expected}`,
      { hint: "the registry, or something on the way, corrupts or tampers with it" },
    );
  }
  return { bytes, mediaType: mediaTypeOf(res.headers["content-type"], bytes), digest };
}
