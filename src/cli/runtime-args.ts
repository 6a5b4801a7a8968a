// tsminc-runtime's command line, runc's: global options, a command, its options and its operands.
// Options runc takes that change nothing here are accepted; unknown ones are refused in one line. Pure.
import { MincError } from "../core/errors.js";

/** Each option: whether it takes a value. Short names map to long ones. */
const GLOBAL: Readonly<Record<string, boolean>> = {
  root: true,
  log: true,
  "log-format": true,
  debug: false,
  "systemd-cgroup": false,
  rootless: true,
  criu: true,
};

const COMMANDS: Readonly<Record<string, Readonly<Record<string, boolean>>>> = {
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
  features: {},
  list: { format: true, quiet: false },
  __monitor: {},
};

const SHORT: Readonly<Record<string, string>> = { b: "bundle", a: "all", f: "force", q: "quiet" };

export interface RuntimeArgs {
  readonly globals: Readonly<Record<string, string | true>>;
  readonly command: string;
  readonly options: Readonly<Record<string, string | true>>;
  readonly operands: readonly string[];
}

const usage = (message: string) =>
  new MincError("usage", message, {
    hint: "tsminc-runtime [global options] create|start|state|kill|delete|features|list ...",
  });

/** Parses `--name value`, `--name=value`, `-x value` and flags against `table`, from `args[i]` on. */
function takeOptions(
  args: readonly string[],
  table: Readonly<Record<string, boolean>>,
  where: string,
  stopAtOperand: boolean,
): { values: Record<string, string | true>; operands: string[] } {
  const values: Record<string, string | true> = {};
  const operands: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg === "--") {
      operands.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      if (stopAtOperand) return { values, operands: args.slice(i) };
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
    values[long] = value;
  }
  return { values, operands };
}

export function parseRuntimeArgs(args: readonly string[]): RuntimeArgs {
  if (args.includes("--version") || args[0] === "-v" || args[0] === "version")
    return { globals: {}, command: "version", options: {}, operands: [] };
  const global = takeOptions(args, GLOBAL, "tsminc-runtime", true);
  const [command, ...rest] = global.operands;
  if (command === undefined) throw usage("tsminc-runtime needs a command");
  const table = COMMANDS[command];
  if (table === undefined) throw usage(`tsminc-runtime: unknown command "${command}"`);
  const local = takeOptions(rest, table, command, false);
  return { globals: global.values, command, options: local.values, operands: local.operands };
}
