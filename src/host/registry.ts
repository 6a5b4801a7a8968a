// Registry HTTP API v2 (OCI distribution) client for one repository: scheme, auth, manifests, resumable verified blobs.
import { MincError } from "../core/errors.js";
import { fetchBlob } from "./registry-blob.js";
import { checkDigest } from "./registry-errors.js";
import { fetchManifest } from "./registry-manifest.js";
import { Session } from "./registry-session.js";

export interface RegistryOptions {
  /** false: any certificate, and plain http allowed */
  readonly tlsVerify: boolean;
  /** an extra CA (PEM) to trust */
  readonly caFile: string | undefined;
  /** an explicit auth file; else $REGISTRY_AUTH_FILE, podman's and docker's files */
  readonly authFile: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  /** a blob download that receives nothing for this long is cut and resumed (default 60 s) */
  readonly idleTimeoutMs?: number;
}

export interface Fetched {
  readonly bytes: Buffer;
  readonly mediaType: string;
  readonly digest: string;
}

export interface RegistryClient {
  /** reference: a tag or "sha256:…"; verifies the digest when it is one */
  manifest(reference: string, accept: readonly string[]): Promise<Fetched>;
  /** downloads to dest, resuming dest + ".partial" with Range; sha256 verified before rename; safe to call concurrently */
  blob(
    digest: string,
    size: number | undefined,
    dest: string,
    onProgress?: (received: number, total: number | undefined) => void,
  ): Promise<void>;
}

const REPOSITORY = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

export function registryClient(host: string, repository: string, opts: RegistryOptions): RegistryClient {
  if (!REPOSITORY.test(repository)) {
    throw new MincError("usage", `not a repository name: ${repository}`, {
      hint: "lower-case letters, digits and separators, like library/busybox",
    });
  }
  const s = new Session(host, repository, opts);
  return {
    manifest: (reference, accept) => fetchManifest(s, reference, accept),
    blob: async (digest, size, dest, onProgress) => {
      checkDigest(digest);
      return fetchBlob(s, { digest, size, onProgress }, dest);
    },
  };
}
