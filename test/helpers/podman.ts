// podman for the OCI runtime tests: rootful, with podman's default storage, runc unless a test names
// another runtime, and the flags these hosts need (no registry, no CAP_SYS_RESOURCE, cgroup v1 hybrid).
import { createHash } from "node:crypto";
import { existsSync, realpathSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { execa } from "execa";
import { which } from "../../src/host/which.js";
import { runEngine, type EngineResult } from "./engine.js";
import { ptySession, type Session } from "./tsminc.js";

export type PodmanResult = EngineResult;

export interface PodmanOptions {
  /** Fed to podman's stdin (else stdin is /dev/null). */
  readonly input?: string | Buffer;
  /** The OCI runtime podman drives: a path (made absolute here) or a name podman knows; runc by default. */
  readonly runtime?: string;
  /** Added to the environment podman inherits. */
  readonly env?: Record<string, string>;
}

/** Where podman looks for conmon when containers.conf names none (podman 4.3's conmon_path list). */
const CONMON_PATHS = [
  "/usr/libexec/podman/conmon",
  "/usr/local/libexec/podman/conmon",
  "/usr/local/lib/podman/conmon",
  "/usr/bin/conmon",
  "/usr/sbin/conmon",
  "/usr/local/bin/conmon",
  "/usr/local/sbin/conmon",
  "/run/current-system/sw/bin/conmon",
];

const RUNC_PATH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"].join(":");
const runcPath = (): string | undefined => which("runc") ?? which("runc", RUNC_PATH);

/** What this host lacks for the podman tests (to print when they skip), or undefined. */
export function podmanMissing(): string | undefined {
  const missing = [
    ...(which("podman") === undefined ? ["podman"] : []),
    ...(which("conmon") === undefined && !CONMON_PATHS.some((p) => existsSync(p)) ? ["conmon"] : []),
    ...(runcPath() === undefined ? ["runc"] : []),
  ];
  if (missing.length > 0)
    return `${missing.join(", ")} not installed (apt-get install --no-install-recommends podman runc; see scripts/install-deps.sh)`;
  if (process.getuid?.() !== 0) return "the podman tests run rootful podman: run them as root";
  return undefined;
}

/**
 * Global options, before the subcommand. cgroupfs and the file events backend are what podman picks
 * by itself where PID 1 is not systemd; they are named so that a runtime sees the same spec
 * (cgroupsPath /libpod_parent/libpod-ID) on a systemd host too.
 */
function globalArgs(runtime: string | undefined): string[] {
  const oci = runtime === undefined ? (runcPath() ?? "runc") : runtime.includes("/") ? resolve(runtime) : runtime;
  return ["--runtime", oci, "--cgroup-manager", "cgroupfs", "--events-backend", "file"];
}

// podman run/create options that take no value; every other option takes one (unless given with "=").
const BOOLEAN_LONG = new Set(
  [
    "detach",
    "disable-content-trust",
    "env-host",
    "help",
    "http-proxy",
    "init",
    "interactive",
    "no-healthcheck",
    "no-hosts",
    "oom-kill-disable",
    "passwd",
    "privileged",
    "publish-all",
    "quiet",
    "read-only",
    "read-only-tmpfs",
    "replace",
    "rm",
    "rmi",
    "rootfs",
    "sig-proxy",
    "tls-verify",
    "tty",
    "unsetenv-all",
  ].map((name) => `--${name}`),
);
const BOOLEAN_SHORT = new Set(["d", "i", "P", "q", "t"]);

/** Whether the options of a run/create (up to the image, where podman stops parsing) choose a network. */
function choosesNetwork(options: readonly string[]): boolean {
  for (let i = 0; i < options.length; i++) {
    const arg = options[i] ?? "";
    if (arg === "--" || !arg.startsWith("-") || arg === "-") return false;
    if (arg.startsWith("--")) {
      const [name = "", value] = arg.split("=", 2);
      if (name === "--network" || name === "--net") return true;
      if (value === undefined && !BOOLEAN_LONG.has(name)) i++;
      continue;
    }
    // A cluster of short options: the first that takes a value takes the rest of the word, or the next word.
    let valued = 1;
    while (valued < arg.length && BOOLEAN_SHORT.has(arg.charAt(valued))) valued++;
    if (valued === arg.length - 1) i++;
  }
  return false;
}

/** The flags every run/create needs here, then the caller's: a caller's --ulimit comes later and wins. */
function withRunDefaults(args: readonly string[]): readonly string[] {
  const at = args[0] === "container" ? 1 : 0;
  const sub = args[at];
  if (sub !== "run" && sub !== "create") return args;
  const options = args.slice(at + 1);
  return [
    ...args.slice(0, at + 1),
    ...(choosesNetwork(options) ? [] : ["--network", "none"]),
    // podman's default RLIMIT_NOFILE (1048576) needs CAP_SYS_RESOURCE, which these hosts lack.
    ...["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"],
    ...options,
  ];
}

/** The podman command line `podman(args, opts)` runs (for messages). */
export function podmanArgs(args: readonly string[], runtime?: string): string[] {
  return [...globalArgs(runtime), ...withRunDefaults(args)];
}

/** Runs podman with this host's global flags (and run/create defaults); never throws for a failed podman. */
export function podman(args: readonly string[], opts: PodmanOptions = {}): Promise<PodmanResult> {
  return runEngine("podman", podmanArgs(args, opts.runtime), opts);
}

/** podman with this host's flags on a new pseudo-terminal of this size (run -it), driven like a user. */
export function podmanTerminal(
  args: readonly string[],
  size: { cols: number; rows: number },
  runtime?: string,
): Session {
  return ptySession("podman", podmanArgs(args, runtime), size);
}

const LABEL = "tsminc.test.root";

/** What makes a root folder "the same": its real path and its inode (a rebuilt tree is a new folder). */
function rootIdentity(root: string): string {
  const real = realpathSync(root);
  const st = statSync(real, { bigint: true });
  return createHash("sha256").update(`${real}\n${st.dev}:${st.ino}:${st.ctimeNs}`).digest("hex").slice(0, 32);
}

/**
 * localhost/NAME:latest holding `root` (tar -C root -c . | podman import), for `arch` (an OCI
 * architecture; default the host's), imported again only when
 * the image is gone or its label says it came from another root folder; the image it replaces goes.
 */
export async function podmanImage(root: string, name: string, arch?: string): Promise<string> {
  const ref = `localhost/${name}:latest`;
  const id = rootIdentity(root);
  const seen = await podman(["image", "inspect", "--format", `{{.Id}} {{index .Labels "${LABEL}"}}`, ref]);
  const [oldImage, oldId] = seen.stdout.toString().trim().split(" ");
  if (seen.status === 0 && oldId === id) return ref;
  const r = await execa("tar", ["-C", root, "-c", "."], { reject: false, encoding: "buffer", stdin: "ignore" }).pipe(
    "podman",
    [
      ...globalArgs(undefined),
      "import",
      "-q",
      ...(arch === undefined ? [] : ["--arch", arch]),
      "--change",
      `LABEL ${LABEL}=${id}`,
      "--change",
      'CMD ["/bin/sh"]',
      "-",
      ref,
    ],
    { reject: false },
  );
  const tar = r.pipedFrom[0];
  if (tar !== undefined && tar.exitCode !== 0) throw new Error(`tar -C ${root} -c . failed: ${String(tar.stderr)}`);
  if (r.exitCode !== 0) throw new Error(`podman import of ${root} as ${ref} failed: ${r.stderr}`);
  // Not --force: that would remove containers still using the old image (then the old image stays).
  if (seen.status === 0 && oldImage !== undefined && oldImage !== "") await podman(["rmi", oldImage]);
  return ref;
}
