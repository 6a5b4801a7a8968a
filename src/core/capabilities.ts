// Linux capabilities by name and number, docker's default set, and the set a container keeps from
// --cap-add, --cap-drop (MINCS's --nocaps) and --privileged, as docker resolves them. Pure.
import { MincError } from "./errors.js";

/** capabilities(7), in number order: CAPABILITIES[n] is capability n. */
export const CAPABILITIES = [
  "CHOWN",
  "DAC_OVERRIDE",
  "DAC_READ_SEARCH",
  "FOWNER",
  "FSETID",
  "KILL",
  "SETGID",
  "SETUID",
  "SETPCAP",
  "LINUX_IMMUTABLE",
  "NET_BIND_SERVICE",
  "NET_BROADCAST",
  "NET_ADMIN",
  "NET_RAW",
  "IPC_LOCK",
  "IPC_OWNER",
  "SYS_MODULE",
  "SYS_RAWIO",
  "SYS_CHROOT",
  "SYS_PTRACE",
  "SYS_PACCT",
  "SYS_ADMIN",
  "SYS_BOOT",
  "SYS_NICE",
  "SYS_RESOURCE",
  "SYS_TIME",
  "SYS_TTY_CONFIG",
  "MKNOD",
  "LEASE",
  "AUDIT_WRITE",
  "AUDIT_CONTROL",
  "SETFCAP",
  "MAC_OVERRIDE",
  "MAC_ADMIN",
  "SYSLOG",
  "WAKE_ALARM",
  "BLOCK_SUSPEND",
  "AUDIT_READ",
  "PERFMON",
  "BPF",
  "CHECKPOINT_RESTORE",
] as const;

export type Capability = (typeof CAPABILITIES)[number];

/** What docker (and runc's `spec`) leave a container by default. */
export const DEFAULT_CAPS: readonly Capability[] = [
  "CHOWN",
  "DAC_OVERRIDE",
  "FSETID",
  "FOWNER",
  "MKNOD",
  "NET_RAW",
  "SETGID",
  "SETUID",
  "SETFCAP",
  "SETPCAP",
  "NET_BIND_SERVICE",
  "SYS_CHROOT",
  "KILL",
  "AUDIT_WRITE",
];

/** "sys_admin", "CAP_SYS_ADMIN", "cap_sys_admin" → "SYS_ADMIN"; "all" → "ALL"; else undefined. */
export function capabilityName(text: string): Capability | "ALL" | undefined {
  const name = text.trim().toUpperCase().replace(/^CAP_/, "");
  if (name === "ALL") return "ALL";
  return (CAPABILITIES as readonly string[]).includes(name) ? (name as Capability) : undefined;
}

/** A comma-separated list of names given to `option`, each known. */
export function parseCapabilities(option: string, text: string): (Capability | "ALL")[] {
  const names = text.split(",").filter((w) => w.trim() !== "");
  const parsed = names.map(capabilityName);
  const bad = names.find((_, i) => parsed[i] === undefined);
  if (bad !== undefined || names.length === 0) {
    throw new MincError("usage", `${option} takes capability names like SYS_ADMIN,NET_RAW or ALL, not "${text}"`, {
      hint: "see capabilities(7): the names without CAP_ (either case)",
    });
  }
  return parsed as (Capability | "ALL")[];
}

/**
 * The set a container keeps, as docker computes it: --cap-add ALL is every capability but those
 * dropped; --cap-drop ALL keeps only those added; else the default set minus --cap-drop, plus
 * --cap-add (an add wins over a drop of the same one).
 */
export function resolveCapabilities(
  add: readonly (Capability | "ALL")[],
  drop: readonly (Capability | "ALL")[],
): Capability[] {
  if (add.includes("ALL")) return CAPABILITIES.filter((c) => !drop.includes(c));
  if (drop.includes("ALL")) return CAPABILITIES.filter((c) => add.includes(c));
  return CAPABILITIES.filter((c) => (DEFAULT_CAPS.includes(c) && !drop.includes(c)) || add.includes(c));
}

/** The set as the hex mask confine --caps takes: bit n for capability n. */
export function capabilityMask(caps: readonly Capability[]): string {
  const mask = caps.reduce((m, c) => m | (1n << BigInt(CAPABILITIES.indexOf(c))), 0n);
  return mask.toString(16);
}
