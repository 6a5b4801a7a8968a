// tsminc-runtime exec: one more process in a running container, as podman exec (through conmon) and
// containerd's shim call runc's. The process comes from --process FILE (the OCI process JSON) or
// runc's flags; with --detach a session process of its own runs it (its pid goes to --pid-file, its
// status is the process's), else this one does. In the VM the session reaches the guest through the
// monitor's relay and QMP (exec-vm.ts); in ns mode it enters the container's namespaces (exec-ns.ts).
import { randomBytes } from "node:crypto";
import { closeSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fromOciSpec } from "../config/from-oci.js";
import { MincError } from "../core/errors.js";
import { execConfineWords, execFromFlags, execFromProcessJson, type ExecProcess } from "../core/exec-process.js";
import { hostImage } from "../core/run-checks.js";
import { probeHost } from "../host/probe.js";
import { checkId, readState, stateDir, statusOf } from "../host/runtime-state.js";
import { spawnRunner } from "../host/spawn-runner.js";
import { checkConsole, consoleArgs, fail, readSpec, refuseExtraFds, spawnReady } from "./runtime-common.js";
import type { RuntimeArgs } from "./runtime-args.js";

/** Where a running container's monitor listens for exec sessions (vm mode; see exec-relay.ts). */
export const relayPath = (dir: string) => join(dir, "exec.sock");

/** The process as OCI process JSON text: the --process file's, or one made from runc's flags. */
function processText(a: RuntimeArgs, args: readonly string[]): string {
  if (typeof a.options.process === "string") {
    try {
      return readFileSync(a.options.process, "utf8");
    } catch (cause) {
      throw new MincError("usage", `cannot read exec --process ${a.options.process}`, { hint: "give the file", cause });
    }
  }
  const p: ExecProcess = execFromFlags(args, {
    ...(typeof a.options.cwd === "string" ? { cwd: a.options.cwd } : {}),
    env: a.lists.env ?? [],
    ...(typeof a.options.user === "string" ? { user: a.options.user } : {}),
    groups: a.lists["additional-gids"] ?? [],
    caps: a.lists.cap ?? [],
    noNewPrivs: a.options["no-new-privs"] === true,
    tty: a.options.tty === true,
  });
  return JSON.stringify({
    terminal: p.terminal,
    args: p.args,
    env: p.env,
    cwd: p.cwd,
    user: { uid: p.user?.uid ?? 0, gid: p.user?.gid ?? 0, additionalGids: p.groups },
    ...(p.caps === undefined ? {} : { capabilities: { bounding: p.caps.map((c) => `CAP_${c}`) } }),
    noNewPrivileges: p.noNewPrivs,
  });
}

export async function execCommand(a: RuntimeArgs, root: string): Promise<void> {
  const [idText, ...args] = a.operands;
  if (idText === undefined) throw fail("exec needs a container ID", "tsminc-runtime exec ID COMMAND [ARG]...");
  const id = checkId(idText);
  refuseExtraFds(a.options["preserve-fds"], "exec");
  const state = readState(root, id);
  const status = statusOf(state);
  if (status !== "running") throw fail(`container ${id} is ${status}, not running`, "exec needs a running container");
  const text = processText(a, args);
  const proc = execFromProcessJson(text);
  const consoleSocket = typeof a.options["console-socket"] === "string" ? a.options["console-socket"] : undefined;
  checkConsole(proc.terminal, consoleSocket, "the exec process");
  const { config } = fromOciSpec(readSpec(stateDir(root, id)), state.bundle);
  // The session reads its own copy: the engine may remove its --process file once this returns.
  const file = join(stateDir(root, id), `exec-${randomBytes(6).toString("hex")}.json`);
  writeFileSync(file, text, { mode: 0o600 });
  const session = [process.execPath, fileURLToPath(new URL("./tsminc-runtime.js", import.meta.url))];
  const sessionArgs = ["--root", root, "__exec", id, file];
  if (a.options.detach !== true) {
    process.exitCode = await runSession(root, id, file, false);
    return;
  }
  const front =
    consoleSocket === undefined
      ? []
      : consoleArgs(
          hostImage(probeHost(config), "a terminal is made by nsrun").dir,
          consoleSocket,
          proc.consoleSize ?? { rows: 0, cols: 0 },
        );
  const pid = await spawnReady([...front, ...session, ...sessionArgs]);
  if (pid === undefined) {
    rmSync(file, { force: true });
    throw new MincError("system", `the exec session in ${id} ended before it started`, {
      hint: "see the engine's log",
    });
  }
  if (typeof a.options["pid-file"] === "string") writeFileSync(a.options["pid-file"], String(pid));
}

/**
 * exec -t in the VM: the guest's terminal does the line discipline, so this session's own (the one
 * nsrun made for the engine) passes bytes as they are; its size is the process's, else this one's.
 */
async function rawTerminal(proc: ExecProcess): Promise<{ rows: number; cols: number } | undefined> {
  if (!proc.terminal) return undefined;
  if (!process.stdin.isTTY) return proc.consoleSize;
  process.stdin.setRawMode(true);
  await spawnRunner.run("stty", ["-opost"], { stdio: ["inherit", "inherit", "inherit"] });
  return proc.consoleSize ?? { rows: process.stdout.rows, cols: process.stdout.columns };
}

/** The session: runs the process in the container; resolves with its status. `ready`: fd 3 is closed at the start. */
export async function runSession(root: string, id: string, file: string, ready: boolean): Promise<number> {
  const text = readFileSync(file, "utf8");
  rmSync(file, { force: true });
  if (ready) closeSync(3);
  const state = readState(root, id);
  const proc = execFromProcessJson(text);
  const { config } = fromOciSpec(readSpec(stateDir(root, id)), state.bundle);
  const words = execConfineWords(proc, config);
  if (config.qemu) {
    const { runExecVm } = await import("../host/exec-vm.js");
    const stdio = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
    return runExecVm(relayPath(stateDir(root, id)), proc, words, stdio, await rawTerminal(proc));
  }
  const facts = probeHost(config);
  const { runExecNs } = await import("../host/exec-ns.js");
  return runExecNs(state.pid, proc, words, {
    imageDir: hostImage(facts, "ns mode's exec runs with the host image's busybox").dir,
    stateDir: stateDir(root, id),
    runner: spawnRunner,
  });
}
