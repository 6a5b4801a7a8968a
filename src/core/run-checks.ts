// What both planners check first: inputs no plan can run, and the container's arch. Pure.
import { MincError } from "./errors.js";
import type { ArchName } from "./arch.js";
import type { HostFacts, ImageFacts } from "./host-facts.js";
import type { RunConfig } from "./run-config.js";

const fail = (message: string, hint: string) => new MincError("usage", message, { hint });

/** The container's arch: --arch, else the rootfs's, else the host's; with a notice when the rootfs chose it. */
export function chooseArch(config: RunConfig, facts: HostFacts): { arch: ArchName; notices: string[] } {
  const found = facts.rootfsArch;
  if (found !== undefined && "other" in found) {
    throw fail(
      `rootfs ${config.rootdir} is built for ${found.other}; ermine runs x86_64, arm64 and arm`,
      "use a rootfs for one of those",
    );
  }
  if (config.arch !== undefined) {
    if (found !== undefined && found.arch !== config.arch) {
      throw fail(
        `rootfs ${config.rootdir} is built for ${found.arch}, not --arch ${config.arch}`,
        `drop --arch, or use --arch ${found.arch}`,
      );
    }
    return { arch: config.arch, notices: [] };
  }
  if (found !== undefined) {
    const notices =
      found.arch === facts.hostArch
        ? []
        : [`rootfs ${config.rootdir} is built for ${found.arch}: running it with --arch ${found.arch}`];
    return { arch: found.arch, notices };
  }
  if (facts.hostArch === undefined)
    throw fail("this host's arch has no ermine image", "pick one with --arch x86_64|arm64|arm");
  return { arch: facts.hostArch, notices: [] };
}

/** Refuses what no plan can run: not root, a bad rootfs, missing bind sources, a foreign -t folder. */
export function checkInputs(config: RunConfig, facts: HostFacts): void {
  if (facts.uid !== 0 && !config.nopriv) {
    throw fail(
      "tsminc needs root to mount the container's overlay",
      "run it as root (e.g. with sudo), or use --nopriv DIR",
    );
  }
  if (facts.rootfs === "missing")
    throw fail(`rootfs ${config.rootdir} does not exist`, "point -r at a root filesystem folder");
  if (facts.rootfs === "not-dir")
    throw fail(`rootfs ${config.rootdir} is not a folder`, "point -r at a root filesystem folder");
  for (const bind of config.binds) {
    if (facts.bindSources[bind.source] === "missing")
      throw fail(`--bind source ${bind.source} does not exist`, "bind an existing file or folder");
  }
  if (config.tempdir !== undefined && facts.tempdir !== "kept" && facts.tempdir !== "kept-disk") {
    throw fail(`-t ${config.tempdir} is not a tmpdir kept by tsminc -k`, "give the folder that tsminc -k printed");
  }
  if (facts.tempdir === "kept-disk" && !config.qemu) {
    throw fail(
      `-t ${config.tempdir ?? ""}: its writes are in the disk image of a --qemu run (upper.ext4)`,
      "reuse it with --qemu",
    );
  }
}

/** The host's own image: its static nsrun (and, in ns mode, busybox and confine) run on the host. */
export function hostImage(facts: HostFacts, why: string): ImageFacts {
  const arch = facts.hostArch;
  const image = arch === undefined ? undefined : facts.images[arch];
  if (arch === undefined || image === undefined) {
    const name = arch ?? "host's";
    throw new MincError(
      "image",
      `${why}, from the ${name} ermine image, and there is none in ${facts.imageDirs.join(" or ")}`,
      {
        hint: `run: tsermine breed --arch ${arch ?? "x86_64"}`,
      },
    );
  }
  return image;
}
