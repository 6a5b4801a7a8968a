// Images from a registry (docker://): the manifest (an index followed to the arch's), the config and
// the layers, each blob fetched once into the store, resumable and verified by the registry client.
import { existsSync, readFileSync } from "node:fs";
import type { ArchName } from "../core/arch.js";
import { MincError } from "../core/errors.js";
import type { DockerRef } from "../core/image-ref.js";
import { choosePlatform, MANIFEST_ACCEPT, parseImageConfig, parseManifestDoc } from "../core/oci-image.js";
import type { RegistrySettings } from "../core/run-config.js";
import type { ImageStore } from "./image-store.js";
import type { ImageParts } from "./image-sources.js";
import { registryClient, type RegistryClient } from "./registry.js";

/** What a pull shows: called with each blob's progress (bytes so far, of total). */
export type PullProgress = (digest: string, received: number, total: number | undefined) => void;

async function blobOnce(
  client: RegistryClient,
  store: ImageStore,
  digest: string,
  size: number,
  progress: PullProgress,
) {
  const path = store.blobPath(digest);
  if (!existsSync(path))
    await client.blob(digest, size, path, (got, total) => {
      progress(digest, got, total);
    });
  else progress(digest, size, size);
  return path;
}

export async function registryParts(
  ref: DockerRef,
  arch: ArchName,
  settings: RegistrySettings,
  store: ImageStore,
  progress: PullProgress,
  env: NodeJS.ProcessEnv,
): Promise<ImageParts> {
  const what = `${ref.registry}/${ref.repository}`;
  if (settings.authFile !== undefined && !existsSync(settings.authFile))
    throw new MincError("usage", `--authfile ${settings.authFile}: no such file`, {
      hint: "give the auth file skopeo login or docker login wrote",
    });
  const client = registryClient(ref.registry, ref.repository, {
    tlsVerify: settings.tlsVerify,
    caFile: settings.certFile,
    authFile: settings.authFile,
    env,
  });
  let fetched = await client.manifest(ref.digest ?? ref.tag ?? "latest", MANIFEST_ACCEPT);
  let doc = parseManifestDoc(fetched.bytes, fetched.mediaType, what);
  if (doc.kind === "index") {
    const chosen = choosePlatform(doc, arch, what);
    fetched = await client.manifest(chosen.digest, MANIFEST_ACCEPT);
    doc = parseManifestDoc(fetched.bytes, fetched.mediaType, what);
    if (doc.kind !== "manifest")
      throw new MincError("layer", `${what}: an index inside an index`, { hint: "the image is malformed" });
  }
  const manifest = doc;
  const configPath = await blobOnce(client, store, manifest.config.digest, manifest.config.size, () => undefined);
  const config = parseImageConfig(readFileSync(configPath), `${what} config`);
  // Asked for the first layer, every layer starts downloading, a few at a time; unpacking takes them
  // in order as they land. (Not before: a root already unpacked needs none of them.)
  const limit = 3;
  let running = 0;
  const waiting: (() => void)[] = [];
  const slot = async <T>(job: () => Promise<T>): Promise<T> => {
    if (running >= limit) await new Promise<void>((go) => waiting.push(go));
    running++;
    try {
      return await job();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
  let downloads: Promise<string>[] | undefined;
  const start = () => {
    if (downloads !== undefined) return downloads;
    downloads = manifest.layers.map((l) => slot(() => blobOnce(client, store, l.digest, l.size, progress)));
    // A failed download is reported by the fetch that awaits it; the others must not go unhandled.
    for (const d of downloads) d.catch(() => undefined);
    return downloads;
  };
  return {
    manifest: fetched.digest,
    rootKey: manifest.config.digest,
    config,
    layers: manifest.layers.map((l, i) => ({
      digest: l.digest,
      size: l.size,
      fetch: () => start()[i] as Promise<string>,
    })),
  };
}
