// The container's process: its command, environment, working folder and user, from the flags and
// an image's config by docker's rules (flags win; --entrypoint drops the image's Cmd). Pure.
import { MincError } from "./errors.js";
import type { ImageConfig } from "./oci-image.js";
import { runConfig, type RunConfig } from "./run-config.js";

/** The PATH a container gets when nothing sets one (enter.sh searches it for the command). */
export const CONTAINER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const usage = (message: string, hint: string) => new MincError("usage", message, { hint });

const keyOf = (entry: string) => {
  const eq = entry.indexOf("=");
  return eq < 0 ? entry : entry.slice(0, eq);
};

/**
 * -e KEY=VALUE, or -e KEY to copy the caller's (left out when the caller has none, as docker does).
 * `what` names the source in errors (e.g. "--env", "--env-file FILE line 3").
 */
export function parseEnvEntry(text: string, callerEnv: Readonly<Record<string, string | undefined>>, what: string) {
  const key = keyOf(text);
  if (key === "" || text.includes("\0"))
    throw usage(`${what} "${text}" names no variable (or holds a NUL)`, "use KEY=VALUE, or KEY to copy yours");
  if (text.includes("=")) return text;
  const value = callerEnv[key];
  return value === undefined ? undefined : `${key}=${value}`;
}

/** An --env-file's text: KEY=VALUE or KEY per line; blank lines and lines starting with # are skipped. */
export function parseEnvFile(text: string, file: string, callerEnv: Readonly<Record<string, string | undefined>>) {
  const out: string[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "");
    if (line.trim() === "" || line.trimStart().startsWith("#")) return;
    const entry = parseEnvEntry(line.trimStart(), callerEnv, `--env-file ${file} line ${i + 1}:`);
    if (entry !== undefined) out.push(entry);
  });
  return out;
}

/** Entries with later ones replacing earlier ones of the same key, in first-seen order. */
export function mergeEnv(...lists: (readonly string[])[]): string[] {
  const byKey = new Map<string, string>();
  for (const entry of lists.flat()) byKey.set(keyOf(entry), entry);
  return [...byKey.values()];
}

/** --entrypoint's text: one program path ("" clears the image's), as docker takes it. */
export function parseEntrypoint(text: string): string[] {
  if (text.includes("\0")) throw usage("--entrypoint holds a NUL", "give a program path");
  return text === "" ? [] : [text];
}

export interface Account {
  readonly uid: number;
  readonly gid: number;
  readonly home: string | undefined;
}

function table(text: string): string[][] {
  return text
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => l.split(":"));
}

/**
 * An image's User (NAME, UID, NAME:GROUP, UID:GID, ...) to ids, by the root's /etc/passwd and /etc/group
 * texts (undefined when the root has none). A number needs no entry; a name does.
 */
export function resolveImageUser(spec: string, passwd: string | undefined, group: string | undefined): Account {
  const [userPart = "", groupPart] = spec.split(":", 2);
  const users = table(passwd ?? "");
  const numeric = /^\d+$/.test(userPart);
  const entry = users.find((u) => (numeric ? u[2] === userPart : u[0] === userPart));
  if (!numeric && entry === undefined) {
    throw new MincError("image", `the image's user "${userPart}" is not in its /etc/passwd`, {
      hint: "give --user UID:GID",
    });
  }
  const uid = numeric ? Number(userPart) : Number(entry?.[2]);
  let gid = entry === undefined ? uid : Number(entry[3]);
  if (groupPart !== undefined && groupPart !== "") {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const g = table(group ?? "").find((row) => row[0] === groupPart);
      if (g === undefined)
        throw new MincError("image", `the image's group "${groupPart}" is not in its /etc/group`, {
          hint: "give --user UID:GID",
        });
      gid = Number(g[2]);
    }
  }
  if (![uid, gid].every((n) => Number.isInteger(n) && n >= 0 && n <= 0xfffffffe))
    throw new MincError("image", `the image's user "${spec}" has no valid ids in its /etc/passwd`, {
      hint: "give --user UID:GID",
    });
  return { uid, gid, home: entry?.[5] || undefined };
}

export interface UnpackedImage {
  readonly rootdir: string;
  readonly config: ImageConfig;
  /** the root's /etc/passwd and /etc/group, when it has them (for a named User) */
  readonly passwd: string | undefined;
  readonly group: string | undefined;
}

/**
 * The run of an unpacked image: its root, and its Entrypoint/Cmd, Env, WorkingDir and User where the
 * flags leave them open. The image's user is ignored under --nopriv, which maps only the caller.
 */
export function withImage(config: RunConfig, image: UnpackedImage): RunConfig {
  const entrypoint = config.entrypoint ?? image.config.entrypoint;
  const cmdGiven = config.command.length > 0;
  const cmd = cmdGiven ? [] : config.entrypoint === undefined ? image.config.cmd : [];
  const command = [...entrypoint, ...(cmdGiven ? config.command : cmd)];
  const commandBytes = [
    ...entrypoint.map((w) => Buffer.from(w)),
    ...(cmdGiven ? config.commandBytes : cmd.map((w) => Buffer.from(w))),
  ];
  const account =
    config.user === undefined && !config.nopriv && image.config.user !== undefined
      ? resolveImageUser(image.config.user, image.passwd, image.group)
      : undefined;
  const home = account?.home === undefined ? [] : [`HOME=${account.home}`];
  const workdir = config.workdir ?? image.config.workingDir;
  return runConfig({
    ...config,
    rootdir: image.rootdir,
    command,
    commandBytes,
    env: mergeEnv(home, image.config.env, config.env),
    workdir: workdir === undefined ? undefined : workdir.startsWith("/") ? workdir : `/${workdir}`,
    user: account === undefined ? config.user : { uid: account.uid, gid: account.gid },
  });
}

/**
 * The container's whole environment: the config's entries, plus PATH, HOME and (on the caller's
 * terminal) TERM where those do not set them. Nothing else of the caller's reaches it.
 */
export function containerEnv(config: RunConfig, term: string | undefined): string[] {
  const root = config.user === undefined || config.user.uid === 0;
  return mergeEnv(
    [`PATH=${CONTAINER_PATH}`, `HOME=${root ? "/root" : "/"}`, ...(term ? [`TERM=${term}`] : [])],
    config.env,
  );
}

/** The PATH the command is looked up in: the container's own. */
export function containerPath(env: readonly string[]): string {
  return env.find((e) => e.startsWith("PATH="))?.slice(5) ?? CONTAINER_PATH;
}

/** The environment, each entry ended by a NUL: confine makes it the command's, byte for byte. */
export function envFile(env: readonly string[]): Buffer {
  return Buffer.from(env.map((e) => `${e}\0`).join(""));
}
