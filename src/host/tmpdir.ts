// The private tmpdir of one run: made 0700, filled from the plan, removed afterwards unless kept.
// Synchronous on purpose: nothing else runs meanwhile, and a dozen thread-pool round trips cost host
// mode about 3 ms of its start-up.
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmdirSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { NsPlan } from "../core/ns-plan.js";
import type { VmPlan } from "../core/vm-plan.js";
import { SHARE_FILES } from "../core/run-script.js";
import { UPPER_DISK } from "../core/root-disk-plan.js";
import { OWNER_FILE, writeOwner } from "./owner.js";

/**
 * Removes `path` and everything under it, never following a symlink. Not fs.rmSync: loading and
 * running its retrying rimraf costs ns mode 1.3 ms of every run, this 0.5 ms.
 */
function removeTree(path: string): void {
  const stat = lstatSync(path, { throwIfNoEntry: false });
  if (stat === undefined) return;
  if (stat.isDirectory()) removeDir(path);
  else unlinkSync(path);
}

function removeDir(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeDir(join(dir, entry.name));
    else unlinkSync(join(dir, entry.name));
  }
  rmdirSync(dir);
}

export function makeTmpdir(runtimeDir: string): string {
  mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
  const dir = mkdtempSync(join(runtimeDir, "tsminc-"));
  chmodSync(dir, 0o700);
  return dir;
}

/** Lays out tmpdir/{root,lower,storage,work,binds/N} and writes run.sh, the arguments and the binds. */
export function fillVmTmpdir(plan: VmPlan): void {
  const at = (name: string) => join(plan.tmpdir, name);
  for (const dir of ["root", "lower", "storage", "work", "binds"]) mkdirSync(at(dir), { recursive: true });
  // Every run starts without the status and sockets of an earlier one (-t reuses a tmpdir).
  for (const stale of [at(SHARE_FILES.status), at("binds"), ...plan.sockets.map((s) => s.path)]) {
    removeTree(stale);
  }
  mkdirSync(at("binds"));
  plan.binds.forEach((b, i) => {
    if (b.kind === "dir") mkdirSync(at(`binds/${i}`));
    else writeFileSync(at(`binds/${i}`), "");
  });
  writeNetworkFiles(plan.tmpdir, plan.files.network);
  writeFileSync(at(SHARE_FILES.runSh), plan.files.runSh, { mode: 0o755 });
  writeFileSync(at(SHARE_FILES.args), plan.files.args);
  writeFileSync(at(SHARE_FILES.env), plan.files.env);
  writeFileSync(at(SHARE_FILES.mounts), plan.files.mounts);
  writeOwner(plan.tmpdir, plan.keep);
}

/** ns mode: the same overlay folders, the arguments and the binds (no run.sh, no sockets). */
export function fillNsTmpdir(plan: NsPlan): void {
  for (const dir of ["root", "lower", "storage", "work"]) mkdirSync(join(plan.tmpdir, dir), { recursive: true });
  writeFileSync(join(plan.tmpdir, SHARE_FILES.args), plan.files.args);
  writeFileSync(join(plan.tmpdir, SHARE_FILES.env), plan.files.env);
  writeFileSync(join(plan.tmpdir, SHARE_FILES.mounts), plan.files.mounts);
  writeNetworkFiles(plan.tmpdir, plan.files.network);
  writeOwner(plan.tmpdir, plan.keep);
}

/** /etc/hosts and /etc/resolv.conf for a container on --network user (bound in by enter.sh). */
function writeNetworkFiles(dir: string, files: { readonly hosts: string; readonly resolv: string } | undefined): void {
  if (files === undefined) return;
  writeFileSync(join(dir, "hosts"), files.hosts);
  writeFileSync(join(dir, "resolv.conf"), files.resolv);
}

/**
 * What a kept tmpdir keeps: the container's writes (storage/, or the upper disk of a root disk run,
 * UPPER_DISK) and what the overlay needs.
 */
const KEPT = new Set(["root", "lower", "storage", "work", UPPER_DISK]);

/**
 * Removes the entries of a tmpdir that `drop` names, the owner file last: while it is there, the
 * tmpdir is still a run's to clean up (nsrun does it when tsminc is killed, or tsminc gc).
 */
function removeEntries(dir: string, drop: (name: string) => boolean): void {
  for (const name of readdirSync(dir)) if (name !== OWNER_FILE && drop(name)) removeTree(join(dir, name));
  removeTree(join(dir, OWNER_FILE));
}

/** Trims a tmpdir to be kept (-k) down to KEPT: no run.sh, arguments, status or sockets remain. */
export function trimKeptTmpdir(dir: string): void {
  removeEntries(dir, (name) => !KEPT.has(name));
}

/** Makes every folder under `dir` traversable by its owner: overlay leaves work/work at mode 000. */
function openUp(dir: string): void {
  try {
    chmodSync(dir, 0o700);
  } catch {
    // not ours to open: the second removal reports what stays
  }
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) if (entry.isDirectory()) openUp(join(dir, entry.name));
}

export function removeTmpdir(dir: string): void {
  if (lstatSync(dir, { throwIfNoEntry: false }) === undefined) return;
  try {
    removeEntries(dir, () => true);
  } catch {
    // As a user (--nopriv) the overlay's own folders may be closed to us: open them, then again.
    openUp(dir);
    removeEntries(dir, () => true);
  }
  removeTree(dir);
}
