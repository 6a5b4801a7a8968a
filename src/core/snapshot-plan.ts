// Warm start, the pure part: whether a vm-mode run may resume a saved ermine, the key everything
// that must match goes into, where its files are, and the restore's qemu argv.
import { createHash } from "node:crypto";

/** Bumped when the snapshot protocol (guest-init's await_release, the files) changes. */
export const SNAPSHOT_FORMAT = 2;

export interface SnapshotPlan {
  readonly key: string;
  /** the saved VM state (qemu's migration stream) */
  readonly state: string;
  /** its record: size and sha256, checked before a restore is released (snapshot-store.ts) */
  readonly meta: string;
  /**
   * a root disk VM's upper disk as it was saved: the guest mounts it before the snapshot point, so a
   * resumed run starts from a copy of this one (root-disk.ts)
   */
  readonly upper: string;
  /** held while one run saves the snapshot; the others boot cold meanwhile */
  readonly lock: string;
}

/** What the key is made of besides the qemu argv. */
export interface SnapshotInputs {
  /** the qemu binary: its path, size and mtime (a different qemu cannot load the stream) */
  readonly qemu: string;
  /** the kernel's and initramfs's sha256 (from the image's manifest) */
  readonly image: readonly string[];
  /** guest-init/'s fingerprint */
  readonly guestInit: string;
}

/**
 * The key: a hash of the qemu argv with the run's own folder taken out (its share, sockets and QMP
 * socket are not part of the saved state), which holds the machine, accelerator, memory, CPUs,
 * device set, kernel command line (with the host's TSC rate) and image paths, plus the inputs.
 */
export function snapshotKey(qemuArgs: readonly string[], tmpdir: string, inputs: SnapshotInputs): string {
  const args = qemuArgs.map((a) => a.replaceAll(tmpdir, "@RUN"));
  const text = JSON.stringify({ format: SNAPSHOT_FORMAT, args, ...inputs });
  return createHash("sha256").update(text).digest("hex").slice(0, 32);
}

export function snapshotPaths(dir: string, key: string): SnapshotPlan {
  return {
    key,
    state: `${dir}/${key}.state`,
    meta: `${dir}/${key}.json`,
    upper: `${dir}/${key}.upper`,
    lock: `${dir}/${key}.lock`,
  };
}

/** The descriptor qemu reads a saved state from: nsrun opens the file there (its --incoming). */
export const STATE_FD = 3;

/**
 * The run's argv (nsrun's, then qemu's) resuming the saved state: nsrun opens the file as qemu's
 * descriptor STATE_FD, and qemu reads it from there and starts the guest by itself. Not
 * `exec:cat FILE`: a shell, a cat and a pipe qemu drained 64 KiB at a time cost a warm run of a 2 GiB
 * guest 20-28 ms.
 */
export function restoreArgs(args: readonly string[], state: string): string[] {
  return ["--incoming", String(STATE_FD), state, ...args, "-incoming", `fd:${STATE_FD}`];
}

/** Why a run boots cold without saving anything, or undefined when it may use a snapshot. */
export function snapshotRefusal(config: {
  readonly snapshot: boolean;
  readonly debug: boolean;
  readonly nicAddress: boolean;
  /** -t brought a root disk VM's upper disk, which the guest mounts when it boots */
  readonly keptUpper: boolean;
}): string | undefined {
  if (!config.snapshot) return "--no-snapshot";
  if (config.debug) return "--debug shows the boot";
  if (config.nicAddress) return "the engine's network gives each VM its own address at boot";
  if (config.keptUpper) return "-t: its kept upper disk is mounted as the VM boots";
  return undefined;
}
