// tsminc-runtime's command line, runc's: global options, a command, its options and its operands.
// Options runc takes that change nothing here are accepted; unknown ones are refused in one line. Pure.
import { MincError } from "../core/errors.js";

/** Each option: whether it takes a value ("list": one each time it is given). Short names map to long ones. */
type Takes = boolean | "list";

const GLOBAL: Readonly<Record<string, Takes>> = {
  root: true,
  log: true,
  "log-format": true,
  debug: false,
  "systemd-cgroup": false,
  rootless: true,
  criu: true,
  // tsminc's own: the mode of a container whose config.json has no run.tsminc.mode annotation
  // (docker 20.10 passes no annotations: its daemon.json runtimeArgs give it instead).
  mode: true,
};

const COMMANDS: Readonly<Record<string, Readonly<Record<string, Takes>>>> = {
  create: {
    bundle: true,
    "pid-file": true,
    "console-socket": true,
    "no-pivot": false,
    "no-new-keyring": false,
    "preserve-fds": true,
  },
  start: {},
  state: {},
  kill: { all: false },
  delete: { force: false },
  ps: { format: true },
  pause: {},
  resume: {},
  update: { resources: true, memory: true, "cpu-quota": true, "cpu-period": true },
  features: {},
  list: { format: true, quiet: false },
  exec: {
    process: true,
    detach: false,
    "pid-file": true,
    tty: false,
    "console-socket": true,
    cwd: true,
    env: "list",
    user: true,
    "additional-gids": "list",
    cap: "list",
    "no-new-privs": false,
    "preserve-fds": true,
    "process-label": true,
    apparmor: true,
    cgroup: true,
    "ignore-paused": false,
  },
  __monitor: {},
  __exec: {},
};

/** Commands whose first operand (the ID) ends the options: what follows is the process's command (ps's options). */
const OPERANDS_END_OPTIONS = new Set(["exec", "ps"]);

const SHORT: Readonly<Record<string, string>> = {
  b: "bundle",
  a: "all",
  f: "force",
  q: "quiet",
  p: "process",
  d: "detach",
  t: "tty",
  e: "env",
  u: "user",
  g: "additional-gids",
  c: "cap",
  r: "resources",
};

export interface RuntimeArgs {
  readonly globals: Readonly<Record<string, string | true>>;
  readonly command: string;
  readonly options: Readonly<Record<string, string | true>>;
  /** the options given once each time ("list" ones), in order */
  readonly lists: Readonly<Record<string, readonly string[]>>;
  readonly operands: readonly string[];
}

const usage = (message: string) =>
  new MincError("usage", message, {
    hint: "tsminc-runtime [global options] create|start|state|kill|delete|exec|ps|pause|resume|update|features|list ...",
  });

/** Parses `--name value`, `--name=value`, `-x value` and flags against `table`, from `args[i]` on. */
function takeOptions(
  args: readonly string[],
  table: Readonly<Record<string, Takes>>,
  where: string,
  stopAtOperand: boolean,
): { values: Record<string, string | true>; lists: Record<string, string[]>; operands: string[] } {
  const values: Record<string, string | true> = {};
  const lists: Record<string, string[]> = {};
  const operands: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg === "--") {
      operands.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      if (stopAtOperand) return { values, lists, operands: args.slice(i) };
      operands.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const raw = arg.replace(/^--?/, "");
    const name = eq < 0 ? raw : raw.slice(0, raw.indexOf("="));
    const long = arg.startsWith("--") ? name : (SHORT[name] ?? name);
    const takes = table[long];
    if (takes === undefined) throw usage(`${where}: unknown option ${arg}`);
    if (!takes) {
      values[long] = true;
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) throw usage(`${where}: option ${arg} needs a value`);
    if (takes === "list") (lists[long] ??= []).push(value);
    else values[long] = value;
  }
  return { values, lists, operands };
}

/** The global options alone, as far as they parse (for the log of a command line that does not). */
export function runtimeGlobals(args: readonly string[]): Readonly<Record<string, string | true>> {
  try {
    return takeOptions(args, GLOBAL, "tsminc-runtime", true).values;
  } catch {
    return {};
  }
}

export function parseRuntimeArgs(args: readonly string[]): RuntimeArgs {
  if (args.includes("--version") || args[0] === "-v" || args[0] === "version")
    return { globals: {}, command: "version", options: {}, lists: {}, operands: [] };
  const global = takeOptions(args, GLOBAL, "tsminc-runtime", true);
  const [command, ...rest] = global.operands;
  if (command === undefined) throw usage("tsminc-runtime needs a command");
  const table = COMMANDS[command];
  if (table === undefined) throw usage(`tsminc-runtime: unknown command "${command}"`);
  // exec ID CMD ARGS...: the options end at the ID, as with runc.
  const idFirst = OPERANDS_END_OPTIONS.has(command);
  const local = takeOptions(rest, table, command, idFirst);
  return { globals: global.values, command, options: local.values, lists: local.lists, operands: local.operands };
}
