// The private tmpdir of one run: made 0700, filled from the plan, removed afterwards unless kept.
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { HostPlan } from "../core/host-plan.js";
import type { LaunchPlan } from "../core/launch-plan.js";
import { SHARE_FILES } from "../core/run-script.js";
import { writeOwner } from "./owner.js";

export async function makeTmpdir(runtimeDir: string): Promise<string> {
  await mkdir(runtimeDir, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(runtimeDir, "tsminc-"));
  await chmod(dir, 0o700);
  return dir;
}

/** Lays out tmpdir/{root,lower,storage,work,binds/N} and writes run.sh, the arguments and the binds. */
export async function fillTmpdir(plan: LaunchPlan): Promise<void> {
  const at = (name: string) => join(plan.tmpdir, name);
  for (const dir of ["root", "lower", "storage", "work", "binds"]) await mkdir(at(dir), { recursive: true });
  // Every run starts without the status and sockets of an earlier one (-t reuses a tmpdir).
  for (const stale of [at(SHARE_FILES.status), at("binds"), ...plan.sockets.map((s) => s.path)]) {
    await rm(stale, { recursive: true, force: true });
  }
  await mkdir(at("binds"));
  await Promise.all(
    plan.binds.map((b, i) => (b.kind === "dir" ? mkdir(at(`binds/${i}`)) : writeFile(at(`binds/${i}`), ""))),
  );
  await writeFile(at(SHARE_FILES.runSh), plan.files.runSh, { mode: 0o755 });
  await writeFile(at(SHARE_FILES.args), plan.files.args);
  await writeFile(at(SHARE_FILES.binds), plan.files.binds);
  await writeOwner(plan.tmpdir, plan.keep);
}

/** Host mode: the same overlay folders, the arguments and the binds (no run.sh, no sockets). */
export async function fillHostTmpdir(plan: HostPlan): Promise<void> {
  for (const dir of ["root", "lower", "storage", "work"]) await mkdir(join(plan.tmpdir, dir), { recursive: true });
  await writeFile(join(plan.tmpdir, SHARE_FILES.args), plan.files.args);
  await writeFile(join(plan.tmpdir, SHARE_FILES.binds), plan.files.binds);
  await writeOwner(plan.tmpdir, plan.keep);
}

/** The folders a kept tmpdir keeps: the container's writes (storage/) and what the overlay needs. */
const KEPT = new Set(["root", "lower", "storage", "work"]);

/** Trims a tmpdir to be kept (-k) down to KEPT: no run.sh, arguments, status or sockets remain. */
export async function trimKeptTmpdir(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (!KEPT.has(name)) await rm(join(dir, name), { recursive: true, force: true });
  }
}

/** Makes every folder under `dir` traversable by its owner: overlay leaves work/work at mode 000. */
async function openUp(dir: string): Promise<void> {
  await chmod(dir, 0o700).catch(() => undefined);
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) if (entry.isDirectory()) await openUp(join(dir, entry.name));
}

export async function removeTmpdir(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
  } catch {
    // As a user (--nopriv) the overlay's own folders may be closed to us: open them, then again.
    await openUp(dir);
    await rm(dir, { recursive: true, force: true });
  }
}
