#!/usr/bin/env node
// tsminc-runtime: an OCI runtime with runc's command line, so podman (through conmon) and docker
// (through containerd's runc shim) run their containers in ermine micro-VMs. `create` checks the
// bundle and leaves a monitor process, the engine's to wait for: it waits for `start`, runs the
// container as tsminc does and exits with its status. The only place its exit status and error
// lines are chosen.
import { spawnSync } from "node:child_process";
import {
  appendFileSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { constants as osConstants } from "node:os";
import { isatty } from "node:tty";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { fromOciSpec } from "../config/from-oci.js";
import { CAPABILITIES } from "../core/capabilities.js";
import { execFromProcessJson } from "../core/exec-process.js";
import { asMincError, MincError } from "../core/errors.js";
import { hostImage } from "../core/run-checks.js";
import {
  checkId,
  listIds,
  monitorAlive,
  procStat,
  readState,
  removeState,
  type RuntimeState,
  startFifo,
  stateDir,
  stateRoot,
  statusOf,
  writeState,
} from "../host/runtime-state.js";
import { formatError } from "./report.js";
import { checkConsole, consoleArgs, fail, readSpec, refuseExtraFds, spawnReady } from "./runtime-common.js";
import { execCommand, relayPath, runSession } from "./runtime-exec.js";
import { checkContainer, runContainer } from "./run-container.js";
import { parseRuntimeArgs, runtimeGlobals, type RuntimeArgs } from "./runtime-args.js";
import { processTree } from "../host/proc-tree.js";
import { continueTree, pause, ps, resume } from "./runtime-procs.js";
import { update } from "./runtime-update.js";

const VERSION = "0.1.0";
const OCI_VERSION = "1.0.2";

function one(operands: readonly string[], what: string): string {
  if (operands.length < 1) throw fail(`${what} needs a container ID`, `tsminc-runtime ${what} ID`);
  return checkId(operands[0]);
}

const MODE = "run.tsminc.mode";

interface BundleSpec {
  readonly annotations?: Readonly<Record<string, string>>;
  readonly hooks?: Readonly<Record<string, readonly unknown[] | undefined>>;
}

/**
 * config.json's text, with the global --mode as its run.tsminc.mode annotation when it names none
 * (docker 20.10 passes no annotations): create keeps it in the state folder, where every later
 * command (the monitor, exec) reads the container's spec; the bundle stays as the engine wrote it.
 * Its annotations, and the hooks that are not run.
 */
function bundleSpec(
  bundle: string,
  mode: string | undefined,
): { text: string; annotations: Record<string, string>; hooks: string[] } {
  const text = readSpec(bundle);
  let spec: BundleSpec;
  try {
    spec = JSON.parse(text) as BundleSpec;
  } catch {
    return { text, annotations: {}, hooks: [] }; // fromOciSpec says what is wrong
  }
  const hooks = Object.entries(spec.hooks ?? {})
    .filter(([, list]) => Array.isArray(list) && list.length > 0)
    .map(([when]) => when);
  if (mode === undefined || spec.annotations?.[MODE] !== undefined)
    return { text, annotations: { ...spec.annotations }, hooks };
  const annotations = { ...spec.annotations, [MODE]: mode };
  return { text: JSON.stringify({ ...spec, annotations }), annotations, hooks };
}

async function create(a: RuntimeArgs, root: string, log: (line: string) => void): Promise<void> {
  const id = one(a.operands, "create");
  refuseExtraFds(a.options["preserve-fds"], "create");
  const bundle = resolve(typeof a.options.bundle === "string" ? a.options.bundle : ".");
  const mode = typeof a.globals.mode === "string" ? a.globals.mode : undefined;
  const spec = bundleSpec(bundle, mode);
  const { config, warnings, terminal } = fromOciSpec(spec.text, bundle);
  const consoleSocket = typeof a.options["console-socket"] === "string" ? a.options["console-socket"] : undefined;
  checkConsole(terminal !== undefined, consoleSocket, "config.json");
  if (existsSync(stateDir(root, id)))
    throw fail(`container ${id} already exists`, "delete it first, or use another ID");
  const facts = checkContainer(config);
  const dir = stateDir(root, id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(join(dir, "config.json"), spec.text, { mode: 0o600 });
  const made = spawnSync("mkfifo", ["-m", "0600", startFifo(dir)]);
  if (made.status !== 0)
    throw new MincError("system", `cannot make ${startFifo(dir)}`, { hint: "check the state root" });
  // The monitor keeps the engine's stdio (fds 0-2, byte for byte) and its own session; the engine
  // (conmon, a subreaper) inherits it once this process exits, and waits for it. With a terminal,
  // nsrun makes it, sends its master to the engine and becomes the monitor on it.
  const argv = [process.execPath, fileURLToPath(import.meta.url), "__monitor", dir, bundle];
  const [file, ...args] =
    terminal === undefined || consoleSocket === undefined
      ? argv
      : [...consoleArgs(hostImage(facts, "a terminal is made by nsrun").dir, consoleSocket, terminal), ...argv];
  const pid = await spawnReady([file ?? process.execPath, ...args]);
  if (pid === undefined) {
    removeState(root, id);
    throw new MincError("system", `the monitor of ${id} ended before start`, { hint: "see the engine's log" });
  }
  writeState(root, {
    id,
    bundle,
    pid,
    pidStart: procStat(pid)?.start ?? "",
    started: false,
    created: new Date().toISOString(),
    annotations: spec.annotations,
  });
  if (typeof a.options["pid-file"] === "string") writeFileSync(a.options["pid-file"], String(pid));
  for (const w of warnings) log(`warning: ${id}: ${w}`);
  // docker's prestart hook (libnetwork-setkey) hands it the network namespace, which is not joined yet.
  if (spec.hooks.length > 0) log(`warning: ${id}: the config's ${spec.hooks.join(", ")} hooks are not run`);
}

/**
 * A terminal of no size yet (docker 20.10 sets no process.consoleSize; its client resizes the
 * terminal just after start): waits for that resize, for `ms` at most, so that the VM's console
 * starts at the engine's size. Only for a VM: in ns mode the container is on the terminal itself.
 */
async function terminalSized(ms: number): Promise<void> {
  if (!isatty(1)) return;
  const out = process.stdout;
  if (out.rows > 0 && out.columns > 0) return;
  await new Promise<void>((done) => {
    const timer = setTimeout(done, ms);
    out.once("resize", () => {
      clearTimeout(timer);
      done();
    });
  });
}

/**
 * An exec session. docker's exec -t sets no consoleSize either, and sizes the terminal once exec
 * returned: a session of a VM's container says it is ready first, then waits for that size.
 */
async function execSession(root: string, id: string, file: string): Promise<number> {
  let waits = false;
  try {
    const proc = execFromProcessJson(readFileSync(file, "utf8"));
    const state = readState(root, id);
    waits =
      proc.terminal &&
      proc.consoleSize === undefined &&
      fromOciSpec(readSpec(stateDir(root, id)), state.bundle).config.qemu;
  } catch {
    // the session says what is wrong
  }
  if (!waits) return runSession(root, id, file, true);
  closeSync(3);
  await terminalSized(2_000);
  return runSession(root, id, file, false);
}

/** The monitor: waits for `start` on the fifo, then runs the container; its status is the container's. */
async function monitor(dir: string, bundle: string): Promise<void> {
  const { config, terminal } = fromOciSpec(readSpec(dir), bundle);
  // Ready: created. Then block until `start` opens the fifo; a signal before that ends the monitor
  // (its default action).
  closeSync(3);
  const fd = openSync(join(dir, "start.fifo"), "r");
  readSync(fd, Buffer.alloc(1));
  closeSync(fd);
  if (config.qemu && terminal !== undefined) await terminalSized(2_000);
  await runContainer(config, { relay: relayPath(dir) });
}

/** The fifo for writing, once the monitor reads it (it says it is ready a moment before it opens it). */
async function openStartFifo(fifo: string, state: RuntimeState, id: string): Promise<number> {
  const until = Date.now() + 5_000;
  for (;;) {
    try {
      return openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== "ENXIO" || !monitorAlive(state) || Date.now() > until)
        throw new MincError("system", `container ${id} is not waiting to start`, {
          hint: "delete it and create it again",
          cause,
        });
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

async function start(a: RuntimeArgs, root: string): Promise<void> {
  const id = one(a.operands, "start");
  const state = readState(root, id);
  const status = statusOf(state);
  if (status !== "created") throw fail(`container ${id} is ${status}, not created`, "only a created container starts");
  const fd = await openStartFifo(startFifo(stateDir(root, id)), state, id);
  writeSync(fd, "s");
  closeSync(fd);
  writeState(root, { ...state, started: true });
}

function stateCommand(a: RuntimeArgs, root: string): void {
  const id = one(a.operands, "state");
  const s = readState(root, id);
  const status = statusOf(s);
  const out = {
    ociVersion: OCI_VERSION,
    id,
    status,
    pid: status === "stopped" ? 0 : s.pid,
    bundle: s.bundle,
    created: s.created,
    annotations: s.annotations,
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

/** A signal by name (TERM, SIGTERM) or number. */
export function signalOf(text: string | undefined): number {
  if (text === undefined) return osConstants.signals.SIGTERM;
  if (/^\d+$/.test(text) && Number(text) > 0 && Number(text) < 65) return Number(text);
  const name = text.toUpperCase().startsWith("SIG") ? text.toUpperCase() : `SIG${text.toUpperCase()}`;
  const table: Readonly<Record<string, number | undefined>> = osConstants.signals;
  const n = table[name];
  if (n === undefined) throw fail(`unknown signal ${text}`, "give a name like TERM or a number like 15");
  return n;
}

/**
 * Signals the monitor (which passes the signal on to the container). A paused container's
 * processes go on then, so that the signal takes effect (docker kills, then resumes).
 */
function signalContainer(root: string, s: RuntimeState, sig: number): void {
  const tree = s.paused === true ? processTree(s.pid).map((p) => p.pid) : [];
  process.kill(s.pid, sig);
  if (s.paused !== true) return;
  continueTree(tree);
  writeState(root, { ...s, paused: false });
}

function kill(a: RuntimeArgs, root: string): void {
  const id = one(a.operands, "kill");
  const sig = signalOf(a.operands[1]);
  const s = readState(root, id);
  if (!monitorAlive(s)) throw fail(`container ${id} is not running`, "it has stopped already");
  signalContainer(root, s, sig);
}

async function remove(a: RuntimeArgs, root: string): Promise<void> {
  const id = one(a.operands, "delete");
  // runc's way: --force on a container that is gone (its engine's cleanup came first) is done.
  if (a.options.force === true && !existsSync(join(stateDir(root, id), "state.json"))) {
    removeState(root, id);
    return;
  }
  const s = readState(root, id);
  const status = statusOf(s);
  if ((status === "running" || status === "paused") && a.options.force !== true)
    throw fail(`container ${id} is ${status}`, "stop it first, or use delete --force");
  if (status !== "stopped") {
    signalContainer(root, s, osConstants.signals.SIGKILL);
    const until = Date.now() + 10_000;
    while (monitorAlive(s) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  }
  removeState(root, id);
}

function features(): void {
  const doc = {
    ociVersionMin: "1.0.0",
    ociVersionMax: OCI_VERSION,
    hooks: [],
    mountOptions: ["bind", "rbind", "rprivate", "private", "nosuid", "nodev", "noexec"],
    linux: {
      namespaces: ["mount", "uts", "ipc", "pid", "network"],
      capabilities: CAPABILITIES.map((c) => `CAP_${c}`),
    },
    annotations: {
      "run.tsminc.mode": "vm|ns",
      "run.tsminc.arch": "x86_64|arm64|arm",
      "run.tsminc.mem": "SIZE",
      "run.tsminc.cpus": "N",
    },
  };
  process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
}

function list(root: string, quiet: boolean): void {
  const ids = listIds(root);
  if (quiet) {
    for (const id of ids) process.stdout.write(`${id}\n`);
    return;
  }
  process.stdout.write("ID\tPID\tSTATUS\tBUNDLE\n");
  for (const id of ids) {
    const s = readState(root, id);
    process.stdout.write(`${id}\t${s.pid}\t${statusOf(s)}\t${s.bundle}\n`);
  }
}

async function main(argv: readonly string[]): Promise<void> {
  let logFile: string | undefined;
  let json = false;
  const log = (line: string, level = "warning") => {
    if (logFile === undefined) return;
    const text = json ? JSON.stringify({ level, msg: line, time: new Date().toISOString() }) : `${level}: ${line}`;
    appendFileSync(logFile, `${text}\n`);
  };
  try {
    // The log first: containerd's shim reads the last error line from it, also for a bad command line.
    const globals = runtimeGlobals(argv.slice(2));
    logFile = typeof globals.log === "string" ? globals.log : undefined;
    json = globals["log-format"] === "json";
    const a = parseRuntimeArgs(argv.slice(2));
    if (a.globals.mode !== undefined && a.globals.mode !== "vm" && a.globals.mode !== "ns")
      throw fail(`--mode is vm or ns, not "${String(a.globals.mode)}"`, "give --mode=vm or --mode=ns");
    const root = stateRoot(typeof a.globals.root === "string" ? a.globals.root : undefined);
    switch (a.command) {
      case "version":
        process.stdout.write(`tsminc-runtime version ${VERSION}\nspec: ${OCI_VERSION}\n`);
        return;
      case "create":
        await create(a, root, log);
        return;
      case "__monitor":
        await monitor(a.operands[0] ?? "", a.operands[1] ?? "");
        return;
      case "exec":
        await execCommand(a, root);
        return;
      case "__exec":
        process.exitCode = await execSession(root, checkId(a.operands[0]), a.operands[1] ?? "");
        return;
      case "start":
        await start(a, root);
        return;
      case "state":
        stateCommand(a, root);
        return;
      case "kill":
        kill(a, root);
        return;
      case "delete":
        await remove(a, root);
        return;
      case "ps":
        ps(a, root, one(a.operands, "ps"));
        return;
      case "pause":
        pause(root, one(a.operands, "pause"));
        return;
      case "resume":
        resume(root, one(a.operands, "resume"));
        return;
      case "update":
        update(a, root, one(a.operands, "update"), log);
        return;
      case "features":
        features();
        return;
      case "list":
        list(root, a.options.quiet === true);
        return;
    }
  } catch (err) {
    const e = asMincError(err);
    log(e.message, "error");
    process.stderr.write(formatError("tsminc-runtime", e, false));
    process.exitCode = 1;
  }
}

void main(process.argv).then(() => process.exit(process.exitCode ?? 0));
