// An exec session in an ns-mode container (tsminc-runtime exec): the container's init is found
// below its monitor, and guest-init/exec.sh, run by the host image's static busybox, joins its
// cgroups and namespaces and runs the process through confine on the caller's stdio.
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MincError } from "../core/errors.js";
import { execFiles, type ExecProcess } from "../core/exec-process.js";
import { cgroupProcsFiles } from "./cgroup-of.js";
import { containerInit } from "./container-job.js";
import { guestInitDir } from "./paths.js";
import type { Runner } from "./runner.js";

export async function runExecNs(
  monitor: number,
  proc: ExecProcess,
  words: readonly string[],
  tools: { readonly imageDir: string; readonly stateDir: string; readonly runner: Runner },
): Promise<number> {
  const init = containerInit(monitor);
  if (init === undefined)
    throw new MincError("system", "the container's processes are gone", { hint: "see tsminc-runtime state ID" });
  // In the container's state folder: delete removes it even when this session was SIGKILLed.
  const dir = join(tools.stateDir, `exec-${randomBytes(8).toString("hex")}`);
  mkdirSync(dir, { mode: 0o700 });
  try {
    const files = execFiles(proc, undefined);
    writeFileSync(join(dir, "args"), files.args);
    writeFileSync(join(dir, "env"), files.env);
    writeFileSync(join(dir, "cwd"), files.cwd);
    writeFileSync(join(dir, "confine"), `${words.join(" ")}\n`);
    const joins = cgroupProcsFiles(init).flatMap((f) => ["--join", f]);
    const child = tools.runner.spawn(
      join(tools.imageDir, "busybox"),
      ["sh", join(guestInitDir, "exec.sh"), "--confine", join(tools.imageDir, "confine"), ...joins, String(init), dir],
      { stdio: ["inherit", "inherit", "inherit"], env: {}, extendEnv: false },
    );
    return (await child.done).exitCode;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
