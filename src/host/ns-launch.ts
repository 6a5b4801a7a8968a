// Runs a planned ns-mode container: fills the tmpdir, runs nsrun and the entry on this process's own
// stdio, and cleans up, always. The signals that end a run (see signals.ts) end the container's whole
// pid namespace; on a terminal Ctrl-C and Ctrl-\ are the container's own, as for a foreground job.
import type { NsPlan } from "../core/ns-plan.js";
import { shellJoin } from "../core/shell-quote.js";
import { applyCgroups, removeCgroups } from "./cgroup.js";
import { containerJob } from "./container-job.js";
import { deadline, stoppedStatus } from "./deadline.js";
import type { SignalTrap } from "./signals.js";
import type { Runner } from "./runner.js";
import { fillNsTmpdir, removeTmpdir, trimKeptTmpdir } from "./tmpdir.js";

export interface NsLaunchDeps {
  readonly runner: Runner;
  readonly say: (line: string) => void;
  /** set by the caller before the tmpdir was made (see trapRunSignals) */
  readonly trap: SignalTrap;
}

export async function launchNs(plan: NsPlan, rootdir: string, deps: NsLaunchDeps): Promise<number> {
  const { trap } = deps;
  try {
    fillNsTmpdir(plan);
    if (plan.cgroup) applyCgroups(plan.cgroup);
    // A host port in use is said now, in one line, before anything starts (node:net loads only then).
    if (plan.publish.length > 0) await (await import("./ports.js")).checkPortsFree(plan.publish);
    const child = deps.runner.spawn(plan.file, plan.args, {
      stdio: ["inherit", "inherit", "inherit"],
      env: plan.env,
      extendEnv: false,
    });
    // nsrun waits for the container's init, which dies with it: the whole pid namespace ends. A
    // forwarded signal goes to the container's command instead, once it runs.
    const seen = { stoppedBySignal: false };
    trap.onSignal((signal) => {
      const job = plan.engine && child.pid !== undefined ? containerJob(child.pid, plan.init) : undefined;
      if (job !== undefined) {
        try {
          process.kill(job, signal);
        } catch {
          // it ended meanwhile: its status is the run's
        }
        return;
      }
      seen.stoppedBySignal = true;
      child.kill("SIGKILL");
    });
    const timer = deadline(plan.timeoutSec, () => {
      child.kill("SIGKILL");
    });
    try {
      const { exitCode } = await child.done;
      return stoppedStatus(seen.stoppedBySignal ? trap.first() : undefined, timer, deps.say) ?? exitCode;
    } finally {
      timer.clear();
    }
  } finally {
    if (plan.cgroup) removeCgroups(plan.cgroup);
    if (plan.keep) {
      trimKeptTmpdir(plan.tmpdir);
      deps.say(
        `tsminc: kept ${plan.tmpdir}; reuse it with: ${shellJoin(["tsminc", "-r", rootdir, "-t", plan.tmpdir])} ...`,
      );
    } else {
      removeTmpdir(plan.tmpdir);
    }
  }
}
