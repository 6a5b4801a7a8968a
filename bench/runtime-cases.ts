// Bench cases for the OCI runtime: `podman run --rm IMG true` with runc, with gVisor's runsc (when
// installed), and with tsminc-runtime in an ermine VM and in namespaces, on the same imported
// busybox image (when podman is installed).
import { join } from "node:path";
import { packageRoot } from "../src/host/paths.js";
import { which } from "../src/host/which.js";
import { podmanArgs, podmanImage, podmanMissing } from "../test/helpers/podman.js";
import { busyboxRootfs } from "../test/helpers/rootfs.js";

const RUNTIME = join(packageRoot, "dist/src/cli/tsminc-runtime.js");

export interface RuntimeCase {
  readonly name: string;
  readonly argv: readonly string[];
  readonly floor?: string;
}

export async function runtimeCases(): Promise<readonly RuntimeCase[]> {
  const missing = podmanMissing();
  if (missing !== undefined) {
    process.stderr.write(`bench: no podman cases: ${missing}\n`);
    return [];
  }
  const image = await podmanImage(busyboxRootfs("x86_64"), "tsminc-test-busybox");
  const runc = "podman run --rm IMG true (runc)";
  return [
    { name: runc, argv: ["podman", ...podmanArgs(["run", "--rm", image, "true"])] },
    ...runscCase(image, runc),
    {
      name: "podman run --rm IMG true (tsminc-runtime, vm)",
      argv: ["podman", ...podmanArgs(["run", "--rm", image, "true"], RUNTIME)],
      floor: runc,
    },
    {
      name: "podman run --rm IMG true (tsminc-runtime, ns)",
      argv: ["podman", ...podmanArgs(["run", "--rm", "--annotation", "run.tsminc.mode=ns", image, "true"], RUNTIME)],
      floor: runc,
    },
  ];
}

/** gVisor's runsc (Debian's runsc package), with its own network off as podman's is. */
function runscCase(image: string, runc: string): RuntimeCase[] {
  const runsc = which("runsc");
  if (runsc === undefined) {
    process.stderr.write("bench: no runsc case: runsc is not installed (apt-get install runsc)\n");
    return [];
  }
  const argv = podmanArgs(["run", "--rm", image, "true"], runsc);
  return [
    {
      name: "podman run --rm IMG true (runsc)",
      argv: ["podman", "--runtime-flag", "network=none", ...argv],
      floor: runc,
    },
  ];
}
