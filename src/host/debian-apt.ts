// Downloads Debian source and binary packages with a private apt configuration: no root, no change to the host's apt.
import { mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { MincError } from "../core/errors.js";
import { findDebianMirror, privateSourcesList } from "../core/apt-sources.js";
import type { Runner } from "./runner.js";

const KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg";

async function hostAptSources(): Promise<{ name: string; text: string }[]> {
  const files = [{ name: "/etc/apt/sources.list", path: "/etc/apt/sources.list" }];
  const parts = await readdir("/etc/apt/sources.list.d").catch(() => [] as string[]);
  for (const name of parts.filter((n) => n.endsWith(".list") || n.endsWith(".sources"))) {
    files.push({ name, path: join("/etc/apt/sources.list.d", name) });
  }
  const read = await Promise.all(
    files.map(async (f) => ({ name: f.name, text: await readFile(f.path, "utf8").catch(() => "") })),
  );
  return read;
}

async function codename(): Promise<string> {
  const osRelease = await readFile("/etc/os-release", "utf8").catch(() => "");
  return /^VERSION_CODENAME=(\S+)/m.exec(osRelease)?.[1] ?? "bookworm";
}

export interface AptRequest {
  readonly sourcePackages: readonly string[];
  readonly binaryPackages: readonly string[];
}

/** Downloads the packages into a fresh folder under `aptDir` and returns that folder. */
export async function aptDownload(runner: Runner, aptDir: string, req: AptRequest, log: Writable): Promise<string> {
  const dirs = ["lists/partial", "cache/archives/partial", "parts", "prefs"].map((d) => join(aptDir, d));
  await Promise.all(dirs.map((d) => mkdir(d, { recursive: true })));
  const mirror = process.env.TSMINC_DEBIAN_MIRROR
    ? { uri: process.env.TSMINC_DEBIAN_MIRROR, suite: await codename(), security: undefined }
    : findDebianMirror(await hostAptSources(), await codename());
  await writeFile(join(aptDir, "sources.list"), privateSourcesList(mirror, KEYRING));
  await writeFile(join(aptDir, "status"), "");
  const options = [
    `Dir::Etc::SourceList=${join(aptDir, "sources.list")}`,
    `Dir::Etc::SourceParts=${join(aptDir, "parts")}`,
    `Dir::Etc::PreferencesParts=${join(aptDir, "prefs")}`,
    `Dir::State::Lists=${join(aptDir, "lists")}`,
    `Dir::State::status=${join(aptDir, "status")}`,
    `Dir::Cache=${join(aptDir, "cache")}`,
    "Debug::NoLocking=1",
    // As root apt downloads as _apt, who cannot write into our cache; we are the sandbox here.
    ...(process.getuid?.() === 0 ? ["APT::Sandbox::User=root"] : []),
  ].flatMap((o) => ["-o", o]);
  const apt = async (args: string[], cwd?: string) => {
    log.write(`$ apt-get ${args.join(" ")}\n`);
    const r = await runner.run("apt-get", [...options, "-q", ...args], { log, ...(cwd ? { cwd } : {}) });
    if (r.exitCode !== 0) {
      throw new MincError("source", `apt-get ${args.join(" ")} failed (exit ${r.exitCode}) against ${mirror.uri}`, {
        hint: "check that the Debian archive is reachable, or set TSMINC_DEBIAN_MIRROR",
      });
    }
  };
  await apt(["update"]);
  const out = join(aptDir, `download-${process.pid}`);
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  if (req.sourcePackages.length > 0) await apt(["source", "--download-only", ...req.sourcePackages], out);
  if (req.binaryPackages.length > 0) await apt(["download", ...req.binaryPackages], out);
  return out;
}
