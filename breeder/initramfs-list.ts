// The initramfs contents as a gen_init_cpio file list: busybox and its applet links, confine, guest-init. Pure.

export interface InitramfsInputs {
  /** host path of the static busybox */
  readonly busybox: string;
  /** applet paths relative to / (from busybox.links) */
  readonly applets: readonly string[];
  /** host path of the static confine (libexec/confine.c) */
  readonly confine: string;
  /** guest-init files: host path and their path in the image */
  readonly guestFiles: readonly { readonly src: string; readonly dest: string }[];
}

const DIRS = [
  "/bin",
  "/sbin",
  "/usr",
  "/usr/bin",
  "/usr/sbin",
  "/dev",
  "/proc",
  "/sys",
  "/mnt",
  "/tmp",
  "/root",
  "/etc",
  "/lib",
  "/lib/ermine",
];

/** Every directory above `path` (e.g. /usr/sbin/x → /usr, /usr/sbin). */
function parents(path: string): string[] {
  const parts = path.split("/").filter(Boolean).slice(0, -1);
  return parts.map((_, i) => "/" + parts.slice(0, i + 1).join("/"));
}

export function initramfsList(inputs: InitramfsInputs): string {
  const applets = inputs.applets.map((a) => "/" + a).filter((a) => a !== "/bin/busybox");
  const dirs = new Set([...DIRS, ...applets.flatMap(parents), ...inputs.guestFiles.flatMap((f) => parents(f.dest))]);
  const lines = [
    ...[...dirs].sort().map((d) => `dir ${d} ${d === "/tmp" ? "1777" : "755"} 0 0`),
    // The kernel opens /dev/console for init's stdio before devtmpfs is mounted.
    "nod /dev/console 600 0 0 c 5 1",
    `file /bin/busybox ${inputs.busybox} 755 0 0`,
    `file /lib/ermine/confine ${inputs.confine} 755 0 0`,
    ...inputs.guestFiles.map((f) => `file ${f.dest} ${f.src} 755 0 0`),
    ...[...new Set(applets)].sort().map((a) => `slink ${a} /bin/busybox 777 0 0`),
  ];
  return lines.join("\n") + "\n";
}
