// tsminc pull REF, tsminc images, tsminc rmi REF...: the image commands. They print; tsminc.ts sets
// the exit status.
import { archOfNode, type ArchName } from "../core/arch.js";
import { MincError } from "../core/errors.js";
import { formatImageRef, parseImageRef } from "../core/image-ref.js";
import type { RegistrySettings } from "../core/run-config.js";
import { resolve } from "node:path";
import { parseTsmincArgs } from "./tsminc-args.js";
import { toRunConfig } from "../config/from-flags.js";

const usage = (message: string, hint: string) => new MincError("usage", message, { hint });

/** The host's arch: what an image is pulled for when --arch does not say. */
export function hostArchOrFail(): ArchName {
  const arch = archOfNode(process.arch);
  if (arch === undefined)
    throw usage(`this host's arch (${process.arch}) is not one tsminc knows`, "give --arch x86_64|arm64|arm");
  return arch;
}

/** tsminc pull [--arch A] [--tls-verify=B] [--cert-file F] [--authfile F] REF */
export async function pullCommand(args: readonly string[]): Promise<void> {
  const parsed = parseTsmincArgs(args);
  if ("help" in parsed) {
    process.stdout.write("Usage: tsminc pull [--arch A] [--tls-verify=false] [--cert-file CA] [--authfile F] REF\n");
    return;
  }
  const allowed = new Set(["arch", "tlsVerify", "certFile", "authFile", "debug"]);
  const extra = Object.keys(parsed.raw).find((k) => !allowed.has(k));
  if (extra !== undefined)
    throw usage(
      `tsminc pull takes no --${extra}`,
      "tsminc pull [--arch A] [--tls-verify=false] [--cert-file CA] [--authfile F] REF",
    );
  const [ref, more] = parsed.command;
  if (ref === undefined || more !== undefined)
    throw usage("tsminc pull takes one image reference", "e.g. tsminc pull docker://127.0.0.1:5000/busybox:latest");
  const config = toRunConfig({ ...parsed.raw, image: ref }, [], process.cwd(), undefined, {
    env: process.env,
    envFiles: {},
  });
  const image = config.image;
  if (image === undefined)
    throw usage("tsminc pull takes one image reference", "e.g. tsminc pull docker://HOST/NAME:TAG");
  const got = await unpackImage(image, config.arch ?? hostArchOrFail(), config.registry, true);
  process.stdout.write(`${got.record.ref} ${got.record.arch ?? "?"} ${got.record.manifest ?? got.record.root}\n`);
}

/** Resolves an image with the progress view on stderr (shared by runs and pull). */
export async function unpackImage(
  image: ReturnType<typeof parseImageRef>,
  arch: ArchName,
  registry: RegistrySettings,
  refresh: boolean,
) {
  const [{ resolveImage }, { pullProgress }] = await Promise.all([
    import("../host/image-resolve.js"),
    import("../host/pull-progress.js"),
  ]);
  const view = pullProgress(formatImageRef(image), process.stderr);
  try {
    return await resolveImage(image, {
      arch,
      registry,
      refresh,
      say: (line) => process.stderr.write(`tsminc: ${line}\n`),
      progress: view.update,
      env: process.env,
    });
  } finally {
    view.finish();
  }
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/** tsminc images: a line per reference and arch unpacked. */
export async function imagesCommand(args: readonly string[]): Promise<void> {
  if (args.length > 0) throw usage(`tsminc images takes no arguments, not "${args[0] ?? ""}"`, "run: tsminc images");
  const { openImageStore } = await import("../host/image-store.js");
  const rows = openImageStore()
    .records()
    .sort((a, b) => a.key.localeCompare(b.key))
    .map((r) => [r.ref, (r.manifest ?? r.root).slice(0, 19), r.arch ?? "?", mib(r.size)]);
  const table = [["REFERENCE", "DIGEST", "ARCH", "SIZE"], ...rows];
  const widths = [0, 1, 2].map((i) => Math.max(...table.map((row) => (row[i] ?? "").length)));
  for (const row of table)
    process.stdout.write(`${row.map((c, i) => (i < 3 ? c.padEnd(widths[i] ?? 0) : c)).join("  ")}\n`);
}

/** tsminc rmi REF...: forgets the references, and removes what no other one needs. */
export async function rmiCommand(args: readonly string[]): Promise<void> {
  if (args.length === 0) throw usage("tsminc rmi takes image references", "see tsminc images");
  const [{ openImageStore }, { pruneImages }] = await Promise.all([
    import("../host/image-store.js"),
    import("../host/image-gc.js"),
  ]);
  const store = openImageStore();
  const refs = args.map((a) => formatImageRef(parseImageRef(a, (p) => resolve(p))));
  const unknown = refs.filter((r) => !store.records().some((rec) => rec.ref === r));
  if (unknown.length > 0) throw usage(`no image ${unknown.join(", ")} here`, "see tsminc images");
  for (const ref of refs) {
    store.removeRecords(ref);
    process.stdout.write(`untagged ${ref}\n`);
  }
  for (const line of pruneImages(store)) process.stdout.write(`${line}\n`);
}
