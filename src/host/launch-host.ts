// Runs a planned host-mode container: fills the tmpdir, runs the entry chain on this process's own
// stdio, and cleans up, always. On a terminal, like a shell with a foreground job, tsminc lets Ctrl-C
// and Ctrl-\ go to the container (it gets them from the terminal itself); otherwise SIGINT and
// SIGQUIT end the container as SIGTERM and SIGHUP always do, with its whole pid namespace.
import { constants } from "node:os";
import type { HostPlan } from "../core/host-plan.js";
import { EXIT, timeoutMessage } from "../core/exit-status.js";
import { shellJoin } from "../core/shell-quote.js";
import { applyCgroups, removeCgroups } from "./cgroup.js";
import { deadline } from "./deadline.js";
import type { Runner } from "./runner.js";
import { fillHostTmpdir, removeTmpdir, trimKeptTmpdir } from "./tmpdir.js";

export interface HostLaunchDeps {
  readonly runner: Runner;
  readonly say: (line: string) => void;
}

const TERMINAL = ["SIGINT", "SIGQUIT"] as const;
const ENDING = ["SIGTERM", "SIGHUP"] as const;

export async function launchHost(plan: HostPlan, rootdir: string, deps: HostLaunchDeps): Promise<number> {
  let signalled: NodeJS.Signals | undefined;
  const ignore = () => undefined;
  try {
    await fillHostTmpdir(plan);
    if (plan.cgroup) await applyCgroups(plan.cgroup);
    const child = deps.runner.spawn(plan.file, plan.args, { stdio: ["inherit", "inherit", "inherit"] });
    // The chain's first process is unshare's parent; killing it makes --kill-child end the pid namespace.
    const end = (signal: NodeJS.Signals) => {
      signalled ??= signal;
      child.kill("SIGKILL");
    };
    const ignored = plan.terminal ? TERMINAL : [];
    const ending = plan.terminal ? ENDING : [...ENDING, ...TERMINAL];
    for (const s of ignored) process.on(s, ignore);
    for (const s of ending) process.on(s, end);
    const timer = deadline(plan.timeoutSec, () => {
      child.kill("SIGKILL");
    });
    try {
      const { exitCode } = await child.done;
      if (signalled !== undefined) return 128 + constants.signals[signalled];
      if (timer.expired() && plan.timeoutSec !== undefined) {
        deps.say(timeoutMessage(plan.timeoutSec));
        return EXIT.timedOut;
      }
      return exitCode;
    } finally {
      timer.clear();
      for (const s of ignored) process.off(s, ignore);
      for (const s of ending) process.off(s, end);
    }
  } finally {
    if (plan.cgroup) await removeCgroups(plan.cgroup);
    if (plan.keep) {
      await trimKeptTmpdir(plan.tmpdir);
      deps.say(
        `tsminc: kept ${plan.tmpdir}; reuse it with: ${shellJoin(["tsminc", "-r", rootdir, "-t", plan.tmpdir])} ...`,
      );
    } else {
      await removeTmpdir(plan.tmpdir);
    }
  }
}
