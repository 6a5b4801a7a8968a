// Bench cases for images: a pulled image's second run against -r of the same unpacked root, in both
// modes, with the registry (Debian's docker-registry) started here on 127.0.0.1 and gone at the end.
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { packageRoot } from "../src/host/paths.js";
import { spawnRunner } from "../src/host/spawn-runner.js";
import { imageLayout } from "../test/helpers/oci-fixtures.js";
import { pushLayout, startRegistry } from "../test/helpers/registry.js";

const TSMINC = join(packageRoot, "dist/bundle/tsminc.cjs");

export interface ImageBench {
  /** [name, argv, floor name] per case: each argv runs with the bench's own image store */
  readonly cases: readonly { readonly name: string; readonly argv: readonly string[]; readonly floor?: string }[];
  /** the lines comparing each image case with its floor */
  summary(median: (name: string) => number): string;
  stop(): Promise<void>;
}

export async function imageBench(): Promise<ImageBench> {
  const cache = mkdtempSync(join(tmpdir(), "tsminc-bench-images-"));
  const registry = await startRegistry();
  const layout = await imageLayout("x86_64");
  await pushLayout(layout.dir, layout.tag, registry, "bench/img:v1");
  const ref = `docker://${registry.host}/bench/img:v1`;
  const env = ["env", `TSMINC_CACHE=${cache}`, process.execPath, TSMINC];
  const pulled = await spawnRunner.run(env[0] ?? "env", [...env.slice(1), "pull", ref]);
  if (pulled.exitCode !== 0) throw new Error(`bench: tsminc pull ${ref} failed: ${pulled.stderr.trim()}`);
  const [root] = readdirSync(join(cache, "images", "roots"));
  const rootdir = join(cache, "images", "roots", root ?? "");
  const names = {
    nsDir: "ns: tsminc -r IMAGE-ROOT true",
    nsImage: "ns: tsminc -i docker://pulled true",
    vmDir: "x86_64: tsminc --qemu -r IMAGE-ROOT true",
    vmImage: "x86_64: tsminc --qemu -i docker://pulled true",
  };
  return {
    cases: [
      { name: names.nsDir, argv: [...env, "-r", rootdir, "true"] },
      { name: names.nsImage, argv: [...env, "-i", ref, "true"], floor: names.nsDir },
      { name: names.vmDir, argv: [...env, "--qemu", "-r", rootdir, "true"] },
      { name: names.vmImage, argv: [...env, "--qemu", "-i", ref, "true"], floor: names.vmDir },
    ],
    summary(median) {
      const adds = (image: string, dir: string) => ((median(image) - median(dir)) * 1000).toFixed(1);
      return (
        `a pulled image's run adds ${adds(names.nsImage, names.nsDir)} ms (ns), ` +
        `${adds(names.vmImage, names.vmDir)} ms (vm) over -r of its root (median - median; goal < 50 ms)\n`
      );
    },
    async stop() {
      await registry.stop();
      rmSync(cache, { recursive: true, force: true });
    },
  };
}
