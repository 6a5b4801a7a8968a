// The flag front end: tsminc's option values (text) parsed into one RunConfig. Pure: paths are
// resolved against the given cwd only.
import { isAbsolute, normalize, resolve } from "node:path";
import { lookupArch, type ArchName } from "../core/arch.js";
import { MincError } from "../core/errors.js";
import { CAPABILITIES, parseCapabilities, resolveCapabilities } from "../core/capabilities.js";
import { mergeEnv, parseEntrypoint, parseEnvEntry, parseEnvFile } from "../core/container-process.js";
import { looksLikeImage, parseImageRef, type ImageRef } from "../core/image-ref.js";
import { bindFlags, tmpfsOptions, withTmpfsDefaults } from "../core/mount-options.js";
import { parseUlimit, type Rlimit } from "../core/rlimits.js";
import { parseAddHost, parseDns, parsePublish, type NetworkMode } from "../core/network.js";
import {
  runConfig,
  type Bind,
  type Limits,
  type RegistrySettings,
  type RunConfig,
  type Security,
  type Tmpfs,
} from "../core/run-config.js";

export interface RawRunOptions {
  readonly rootdir?: string;
  readonly image?: string;
  readonly env?: readonly string[];
  /** --env-file names; their texts come in through `ProcessInputs.envFiles` */
  readonly envFile?: readonly string[];
  readonly workdir?: string;
  readonly entrypoint?: string;
  readonly tlsVerify?: string;
  readonly certFile?: string;
  readonly authFile?: string;
  readonly keep?: boolean;
  readonly tempdir?: string;
  readonly direct?: boolean;
  readonly bind?: readonly string[];
  readonly tmpfs?: readonly string[];
  readonly groupAdd?: readonly string[];
  readonly ulimit?: readonly string[];
  readonly name?: string;
  readonly user?: string;
  readonly nocaps?: string;
  readonly capAdd?: readonly string[];
  readonly capDrop?: readonly string[];
  readonly privileged?: boolean;
  readonly securityOpt?: readonly string[];
  readonly readOnly?: boolean;
  readonly usedev?: boolean;
  readonly net?: boolean;
  readonly network?: string;
  readonly publish?: readonly string[];
  readonly addHost?: readonly string[];
  readonly dns?: readonly string[];
  readonly nopriv?: string;
  readonly pivot?: boolean;
  readonly qemu?: boolean;
  readonly arch?: string;
  readonly debug?: boolean;
  readonly cpus?: string;
  readonly mem?: string;
  readonly accel?: string;
  readonly ermine?: string;
  readonly dryRun?: boolean;
  /** --no-snapshot sets it to false */
  readonly snapshot?: boolean;
  /** --root-disk sets it, --no-root-disk clears it; unset: on for an image's root in a VM */
  readonly rootDisk?: boolean;
  /** --no-init sets it to false */
  readonly init?: boolean;
  readonly timeout?: string;
  readonly append?: string;
  readonly memLimit?: string;
  readonly cpuLimit?: string;
  readonly pidMax?: string;
}

const usage = (message: string, hint: string) => new MincError("usage", message, { hint });

/** "128M", "1G", "512k", or a number of MiB. */
export function parseMemory(text: string): number {
  const m = /^(\d+)([kKmMgG]i?[bB]?)?$/.exec(text);
  if (!m?.[1]) throw usage(`--mem takes a size like 128M or 1G, not "${text}"`, "e.g. --mem 256M");
  const unit = (m[2] ?? "M")[0]?.toLowerCase();
  const mib = unit === "g" ? Number(m[1]) * 1024 : unit === "k" ? Number(m[1]) / 1024 : Number(m[1]);
  if (!Number.isInteger(mib) || mib < 32 || mib > 1024 * 1024) {
    throw usage(`--mem ${text} is outside 32M..1T (or not a whole MiB)`, "e.g. --mem 256M");
  }
  return mib;
}

/** A byte size: "32M", "1G", "512k", "4096" (bytes). */
function parseBytes(option: string, text: string): number {
  const m = /^(\d+)([kKmMgG])?(?:i?[bB])?$/.exec(text);
  if (!m?.[1]) throw usage(`${option} takes a size like 64M or 1G, not "${text}"`, `e.g. ${option} 64M`);
  const scale = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 }[(m[2] ?? "").toLowerCase()] ?? 1;
  const bytes = Number(m[1]) * scale;
  if (bytes < 4 * 2 ** 20)
    throw usage(`${option} ${text} is below 4M, too little to start anything`, `e.g. ${option} 64M`);
  return bytes;
}

function parseLimits(raw: RawRunOptions): Limits | undefined {
  if (raw.memLimit === undefined && raw.cpuLimit === undefined && raw.pidMax === undefined) return undefined;
  let cpus: number | undefined;
  if (raw.cpuLimit !== undefined) {
    cpus = Number(raw.cpuLimit);
    if (!/^\d+(\.\d+)?$/.test(raw.cpuLimit) || cpus < 0.01 || cpus > 1024)
      throw usage(`--cpu-limit takes a number of CPUs from 0.01 up, not "${raw.cpuLimit}"`, "e.g. --cpu-limit 0.5");
  }
  let pids: number | undefined;
  if (raw.pidMax !== undefined) {
    pids = Number(raw.pidMax);
    if (!/^\d+$/.test(raw.pidMax) || pids < 2 || pids > 4194304)
      throw usage(`--pid-max takes a whole number from 2 up, not "${raw.pidMax}"`, "e.g. --pid-max 100");
  }
  return { memBytes: raw.memLimit === undefined ? undefined : parseBytes("--mem-limit", raw.memLimit), cpus, pids };
}

function parseTimeout(text: string): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || n <= 0 || n > 2 ** 31 / 1000)
    throw usage(`--timeout takes seconds, more than 0, not "${text}"`, "e.g. --timeout 30");
  return n;
}

/** Kernel command-line words: printable, no quotes (the kernel would re-split them). */
function parseAppend(text: string): string[] {
  const words = text.split(/[ \t]+/).filter(Boolean);
  const bad = words.find((w) => !/^[\x21-\x7e]+$/.test(w) || /["']/.test(w));
  if (bad !== undefined)
    throw usage(`--append word "${bad}" has quotes or unprintable bytes`, "e.g. --append 'loglevel=7'");
  return words;
}

function parseCpus(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 256)
    throw usage(`--cpus takes a whole number from 1 to 256, not "${text}"`, "e.g. --cpus 2");
  return n;
}

/**
 * HOST[:PATH[:OPTS]]; PATH, when given, is absolute and starts after the last ":/"; OPTS is a comma
 * list of ro, rw, nosuid, nodev, noexec after PATH's last ":" (a suffix of other words is PATH's own:
 * a target may hold colons).
 */
export function parseBind(text: string, cwd: string): Bind {
  const split = text.lastIndexOf(":/");
  const hostPart = split >= 0 ? text.slice(0, split) : text;
  let targetPart = split >= 0 ? text.slice(split + 1) : undefined;
  let flags: Bind["flags"] = [];
  const opts = targetPart === undefined ? -1 : targetPart.lastIndexOf(":");
  if (targetPart !== undefined && opts >= 0) {
    const parsed = bindFlags(targetPart.slice(opts + 1).split(","));
    if ("ok" in parsed) {
      flags = parsed.ok;
      targetPart = targetPart.slice(0, opts);
    }
  }
  if (hostPart === "") throw usage(`--bind "${text}" names no host path`, "use --bind HOST[:PATH]");
  const source = resolve(cwd, hostPart);
  const target = targetPart ?? source;
  if (!isAbsolute(target)) throw usage(`--bind target "${target}" is not absolute`, "use --bind HOST[:/PATH]");
  return { source, target, flags };
}

/** PATH[:OPTS]: an absolute path, and mount options for a tmpfs (docker's defaults added). */
export function parseTmpfs(text: string): Tmpfs {
  const split = text.indexOf(":");
  const target = split >= 0 ? text.slice(0, split) : text;
  const words =
    split >= 0
      ? text
          .slice(split + 1)
          .split(",")
          .filter((w) => w !== "")
      : [];
  if (!isAbsolute(target)) throw usage(`--tmpfs "${text}": the path is not absolute`, "use --tmpfs /PATH[:OPTIONS]");
  const options = tmpfsOptions(withTmpfsDefaults(words));
  if ("bad" in options) {
    throw usage(
      `--tmpfs "${text}": unknown option ${options.bad}`,
      "options are ro, exec, noexec, nosuid, nodev, size=, mode=, uid=, gid=, nr_inodes=",
    );
  }
  return { target: normalize(target), options: options.ok };
}

function parseUser(text: string): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(text);
  if (!m?.[1]) throw usage(`--user takes UID[:GID] as numbers, not "${text}"`, "e.g. --user 1000:1000");
  const uid = Number(m[1]);
  const gid = Number(m[2] ?? m[1]);
  if (uid > 0xfffffffe || gid > 0xfffffffe) throw usage(`--user ${text} is out of range`, "ids go up to 4294967294");
  return { uid, gid };
}

function parseGroup(text: string): number {
  if (!/^\d{1,10}$/.test(text) || Number(text) > 0xfffffffe)
    throw usage(`--group-add takes a group number, not "${text}"`, "e.g. --group-add 100");
  return Number(text);
}

function parseRlimit(text: string): Rlimit {
  const r = parseUlimit(text);
  if (typeof r === "string") throw usage(r, "e.g. --ulimit nofile=1024:4096");
  return r;
}

/** --cap-add, --cap-drop (and MINCS's --nocaps, a --cap-drop), --privileged, --security-opt, --read-only. */
function parseSecurity(raw: RawRunOptions): Security {
  const add = (raw.capAdd ?? []).flatMap((t) => parseCapabilities("--cap-add", t));
  const drop = [
    ...(raw.capDrop ?? []).flatMap((t) => parseCapabilities("--cap-drop", t)),
    ...(raw.nocaps === undefined ? [] : parseCapabilities("--nocaps", raw.nocaps)),
  ];
  const privileged = raw.privileged ?? false;
  if (privileged && (add.length > 0 || drop.length > 0)) {
    throw usage(
      "--privileged keeps every capability: --cap-add, --cap-drop and --nocaps cannot apply",
      "drop one or the other",
    );
  }
  let seccomp = !privileged;
  let noNewPrivs = false;
  for (const opt of raw.securityOpt ?? []) {
    const nnp = /^no-new-privileges(?:[:=](true|false))?$/.exec(opt);
    if (opt === "seccomp=unconfined") seccomp = false;
    else if (nnp !== null) noNewPrivs = nnp[1] !== "false";
    else if (opt.startsWith("seccomp=")) {
      throw usage(
        `--security-opt ${opt}: tsminc has its own default filter, not profile files`,
        "use --security-opt seccomp=unconfined, or leave the default",
      );
    } else {
      throw usage(`--security-opt ${opt} is not one tsminc knows`, "use seccomp=unconfined or no-new-privileges");
    }
  }
  return {
    caps: privileged ? [...CAPABILITIES] : resolveCapabilities(add, drop),
    seccomp,
    noNewPrivs,
    privileged,
    readOnly: raw.readOnly ?? false,
  };
}

/** --network none|user|host; MINCS's -n/--net is none. The default: user in a VM, the host's in ns mode. */
function parseNetwork(raw: RawRunOptions): NetworkMode {
  const mode = raw.network;
  if (mode !== undefined && mode !== "none" && mode !== "user" && mode !== "host")
    throw usage(`--network takes none, user or host, not "${mode}"`, "e.g. --network user");
  if (raw.net && mode !== undefined && mode !== "none")
    throw usage(`-n/--net is --network none, not --network ${mode}`, "drop one of them");
  return raw.net ? "none" : (mode ?? (raw.qemu ? "user" : "host"));
}

function parseName(text: string): string {
  // The kernel takes any bytes up to 64; a NUL or newline could not be passed on safely.
  if (text.length === 0 || Buffer.byteLength(text) > 64 || /[\0\n]/.test(text)) {
    throw usage(`--name takes 1 to 64 bytes without NUL or newline`, "e.g. --name box1");
  }
  return text;
}

/** The command's bytes: `raw` where it is the same words as `command` (the parsed ones), else UTF-8. */
function commandBytes(command: readonly string[], raw: readonly Buffer[] | undefined): Buffer[] {
  const same = raw?.length === command.length && raw.every((b, i) => b.toString() === command[i]);
  return same ? [...raw] : command.map((word) => Buffer.from(word));
}

/** What the flags refer to outside themselves: read by the CLI's shell, passed in. */
export interface CallerInputs {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** each --env-file's text, by the name given */
  readonly envFiles: Readonly<Record<string, string>>;
}

const NO_INPUTS: CallerInputs = { env: {}, envFiles: {} };

/** -i REF, or -r / --nopriv with a value that names an image (a transport, or a tarball's name). */
function parseImage(raw: RawRunOptions, cwd: string): ImageRef | undefined {
  const given = [
    ...(raw.image === undefined ? [] : [["-i", raw.image]]),
    ...(raw.rootdir !== undefined && looksLikeImage(raw.rootdir) ? [["-r", raw.rootdir]] : []),
    ...(raw.nopriv !== undefined && looksLikeImage(raw.nopriv) ? [["--nopriv", raw.nopriv]] : []),
  ];
  const [first, second] = given;
  if (second !== undefined) throw usage(`${first?.[0]} and ${second[0]} both name an image`, "name it once");
  if (raw.image !== undefined && raw.rootdir !== undefined)
    throw usage("-i names the image the root comes from; -r cannot name another root", "drop -r");
  const text = first?.[1];
  if (text === undefined) return undefined;
  // -i NAME[:TAG] with no transport is a registry's, as podman and docker take it.
  const bare = first?.[0] === "-i" && !looksLikeImage(text) && !text.startsWith("/") && !text.startsWith(".");
  return parseImageRef(bare ? `docker://${text}` : text, (p) => resolve(cwd, p));
}

function parseRegistry(raw: RawRunOptions, cwd: string): RegistrySettings {
  const tls = raw.tlsVerify ?? "true";
  if (tls !== "true" && tls !== "false")
    throw usage(`--tls-verify takes true or false, not "${tls}"`, "e.g. --tls-verify=false");
  return {
    tlsVerify: tls === "true",
    certFile: raw.certFile === undefined ? undefined : resolve(cwd, raw.certFile),
    authFile: raw.authFile === undefined ? undefined : resolve(cwd, raw.authFile),
  };
}

function parseEnv(raw: RawRunOptions, inputs: CallerInputs): string[] {
  const fromFiles = (raw.envFile ?? []).flatMap((name) => parseEnvFile(inputs.envFiles[name] ?? "", name, inputs.env));
  const fromFlags = (raw.env ?? []).flatMap((e) => parseEnvEntry(e, inputs.env, "--env") ?? []);
  return mergeEnv(fromFiles, fromFlags);
}

function parseWorkdir(text: string): string {
  if (!text.startsWith("/") || text.includes("\0"))
    throw usage(`--workdir takes an absolute path, not "${text}"`, "e.g. -w /src");
  return text;
}

export function toRunConfig(
  raw: RawRunOptions,
  command: readonly string[],
  cwd: string,
  rawCommand?: readonly Buffer[],
  inputs: CallerInputs = NO_INPUTS,
): RunConfig {
  let arch: ArchName | undefined;
  if (raw.arch !== undefined) {
    arch = lookupArch(raw.arch);
    if (arch === undefined) throw usage(`unknown arch "${raw.arch}"`, "use --arch x86_64|arm64|arm");
  }
  const accel = raw.accel ?? "auto";
  if (accel !== "auto" && accel !== "kvm" && accel !== "tcg")
    throw usage(`unknown --accel "${accel}"`, "use --accel auto|kvm|tcg");
  if (raw.nopriv !== undefined && raw.rootdir !== undefined) {
    throw usage("--nopriv DIR already names the rootfs", "drop -r");
  }
  const image = parseImage(raw, cwd);
  const folder = image === undefined ? (raw.nopriv ?? raw.rootdir ?? "/") : "/";
  return runConfig({
    qemu: raw.qemu ?? false,
    // an image's root is known once it is unpacked (withImage)
    rootdir: resolve(cwd, folder),
    image,
    registry: parseRegistry(raw, cwd),
    env: parseEnv(raw, inputs),
    workdir: raw.workdir === undefined ? undefined : parseWorkdir(raw.workdir),
    entrypoint: raw.entrypoint === undefined ? undefined : parseEntrypoint(raw.entrypoint),
    // -t reuses a kept tmpdir, and so keeps it again.
    keep: (raw.keep ?? false) || raw.tempdir !== undefined,
    tempdir: raw.tempdir === undefined ? undefined : resolve(cwd, raw.tempdir),
    direct: raw.direct ?? false,
    binds: (raw.bind ?? []).map((b) => parseBind(b, cwd)),
    tmpfs: (raw.tmpfs ?? []).map(parseTmpfs),
    name: raw.name === undefined ? undefined : parseName(raw.name),
    user: raw.user === undefined ? undefined : parseUser(raw.user),
    groups: (raw.groupAdd ?? []).map(parseGroup),
    rlimits: (raw.ulimit ?? []).map(parseRlimit),
    security: parseSecurity(raw),
    usedev: raw.usedev ?? false,
    network: parseNetwork(raw),
    netns: undefined,
    publish: (raw.publish ?? []).map(parsePublish),
    addHosts: (raw.addHost ?? []).map(parseAddHost),
    dns: (raw.dns ?? []).map(parseDns),
    nopriv: raw.nopriv !== undefined,
    debug: raw.debug ?? false,
    dryRun: raw.dryRun ?? false,
    snapshot: raw.snapshot ?? true,
    // An image's unpacked root is never written and seldom changes: packed once, it is the VM's
    // root disk unless --no-root-disk says not. A folder (-r) goes over 9p unless --root-disk says.
    rootDisk: raw.rootDisk ?? (image !== undefined && (raw.qemu ?? false)),
    arch,
    cpus: raw.cpus === undefined ? undefined : parseCpus(raw.cpus),
    memMiB: raw.mem === undefined ? undefined : parseMemory(raw.mem),
    accel,
    ermine: raw.ermine === undefined ? undefined : resolve(cwd, raw.ermine),
    init: raw.init ?? true,
    engine: false,
    timeoutSec: raw.timeout === undefined ? undefined : parseTimeout(raw.timeout),
    append: raw.append === undefined ? [] : parseAppend(raw.append),
    limits: parseLimits(raw),
    command: [...command],
    commandBytes: commandBytes(command, rawCommand),
  });
}
