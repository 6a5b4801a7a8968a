// vm mode's root disks, planned: whether the container's root is an overlay the guest makes of a
// read-only disk packed from the rootfs (the lower layer) and an ext4 disk in the run's tmpdir (the
// upper layer, its writes), or the host's overlay over 9p as before, and what the guest runs. Pure.
import type { HostFacts } from "./host-facts.js";
import type { RunConfig } from "./run-config.js";

export interface RootDiskPlan {
  /** the folder packed into the lower disk */
  readonly rootfs: string;
  /** the link in the tmpdir that qemu opens: the host points it at the packed disk before qemu starts */
  readonly lower: string;
  /** the upper disk in the tmpdir: made from an empty ext4 image, unless -t reuses one */
  readonly upper: string;
  /** mkfs.erofs and mkfs.ext4 */
  readonly tools: { readonly erofs: string; readonly ext4: string };
  /** where the packed disks (and the empty upper image) are kept */
  readonly dir: string;
  /** --nopriv: packed in a user namespace whose root is the caller (the owners its share would show) */
  readonly nopriv: boolean;
  /** the rootfs is an image's unpacked root, never written: its disk is found by the folder, with no walk */
  readonly image: boolean;
}

/** The disks' names in the tmpdir: the same paths in every run, so the snapshot key does not change. */
export const LOWER_DISK = "root.disk";
export const UPPER_DISK = "upper.ext4";
/** The serial numbers the guest finds its disks by (/sys/block/vdX/serial). */
export const DISK_SERIALS = { lower: "tsminc-lower", upper: "tsminc-upper" } as const;

/** Why the root goes over 9p instead of disks, or undefined when it comes from disks. */
export function rootDiskRefusal(
  config: Pick<RunConfig, "rootDisk" | "direct" | "image">,
  facts: Pick<HostFacts, "rootDiskTools" | "tempdir">,
): string | undefined {
  // A tmpdir kept with its writes in an upper disk (-k of a root disk run) is reused on its disks.
  if (!config.rootDisk && facts.tempdir !== "kept-disk")
    return config.image === undefined ? "a folder, without --root-disk" : "--no-root-disk";
  if (config.direct) return "--direct: the container writes to the rootfs itself";
  if (facts.tempdir === "kept") return "-t: a tmpdir kept with its writes in storage/ (over 9p)";
  if (facts.rootDiskTools.erofs === undefined) return "mkfs.erofs is not installed (apt-get install erofs-utils)";
  if (facts.rootDiskTools.ext4 === undefined) return "mkfs.ext4 is not installed (apt-get install e2fsprogs)";
  return undefined;
}

export function planRootDisk(
  config: Pick<RunConfig, "rootDisk" | "direct" | "image" | "rootdir" | "nopriv">,
  facts: Pick<HostFacts, "rootDiskTools" | "rootDiskDir" | "tempdir">,
  tmpdir: string,
): { readonly rootDisk: RootDiskPlan | undefined; readonly rootDiskOff: string | undefined } {
  const off = rootDiskRefusal(config, facts);
  const { erofs, ext4 } = facts.rootDiskTools;
  if (off !== undefined || erofs === undefined || ext4 === undefined) return { rootDisk: undefined, rootDiskOff: off };
  return {
    rootDisk: {
      rootfs: config.rootdir,
      lower: `${tmpdir}/${LOWER_DISK}`,
      upper: `${tmpdir}/${UPPER_DISK}`,
      tools: { erofs, ext4 },
      dir: facts.rootDiskDir,
      nopriv: config.nopriv,
      image: config.image !== undefined,
    },
    rootDiskOff: undefined,
  };
}

/**
 * run.sh's line that makes the root from the disks first (guest-init/init's mount_root_disk). A run
 * whose writes are kept (-k, -t) mounts the upper disk sync: what the container wrote is in the
 * image on the host even if tsminc is SIGKILLed, as it is over 9p.
 */
export function rootDiskLine(config: Pick<RunConfig, "keep" | "tempdir">): string {
  return `mount_root_disk${config.keep || config.tempdir !== undefined ? " sync" : ""} || exit 125`;
}
