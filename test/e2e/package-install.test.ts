// tsminc as a user gets it: the package npm packs, installed with the README's install line into a
// temporary prefix, then tsermine breed (from the warm cache) and tsminc runs from the installed bins;
// where its images go; its licenses; and node-pty missing or not built (pipe runs work, a terminal
// run is one line naming the fix, and the fix works).
import assert from "node:assert/strict";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { execa } from "execa";
import { HELPER_FILES } from "../../breeder/helpers.js";
import { parseLicenses, LICENSES_FILE } from "../../src/core/image-licenses.js";
import { readManifest } from "../../src/host/image-manifest.js";
import { packageRoot } from "../../src/host/paths.js";
import { leftoversAfter, snapshot } from "../helpers/leftovers.js";
import { busyboxRootfs } from "../helpers/rootfs.js";
import { ptySession } from "../helpers/tsminc.js";

/** The README's install line, word for word (the test adds only --prefix and --prefer-offline). */
const INSTALL = ["install", "-g", "--allow-scripts=node-pty"];
const pkg = JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as {
  version: string;
  bin: Record<string, string>;
};
const TARBALL = `tsminc-${pkg.version}.tgz`;

const work = mkdtempSync(join(tmpdir(), "tsminc-install-"));
const prefix = join(work, "prefix");
const installedPackage = join(prefix, "lib/node_modules/tsminc");
const nodePtyDir = join(installedPackage, "node_modules/node-pty");
const bin = (name: string) => join(prefix, "bin", name);
// The installed tsminc saves its snapshots in a cache of its own: they name this test's image
// folders, which are gone afterwards (a later `tsminc gc` on the user's cache must find nothing).
const runCache = { TSMINC_CACHE: join(work, "cache") };
// npm's own run sets npm_config_* (e.g. the checkout as local_prefix): the installs must not see them.
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k))) as Record<
  string,
  string
>;

let packed: string[] = [];
let installOutput = "";
let root = "";

async function npm(args: readonly string[], cwd: string) {
  const r = await execa("npm", args, { cwd, env: cleanEnv, extendEnv: false, reject: false, all: true });
  assert.equal(r.exitCode, 0, `npm ${args.join(" ")}:\n${r.all}`);
  return r;
}

/** An installed bin, with pipes, as a script or a user would run it. */
async function installed(name: string, args: readonly string[], input?: string, env: Record<string, string> = {}) {
  const started = performance.now();
  const r = await execa(bin(name), args, {
    reject: false,
    env: name === "tsminc" ? { ...runCache, ...env } : env,
    timeout: 3_600_000,
    ...(input === undefined ? { stdin: "ignore" as const } : { input }),
  });
  return {
    status: r.exitCode ?? 255,
    stdout: r.stdout,
    stderr: r.stderr,
    seconds: (performance.now() - started) / 1000,
  };
}

/** The installed tsminc on a terminal: its screen and status. */
async function onTerminal(args: readonly string[]): Promise<{ status: number; screen: string }> {
  const session = ptySession(bin("tsminc"), args, { cols: 100, rows: 30 }, runCache);
  const status = await session.exited;
  return { status, screen: session.screen() };
}

const vmArgs = (...command: string[]) => ["--qemu", "-r", root, ...command];

/** The runs that need no terminal: status, stdin and stdout through pipes, in a VM and in ns mode. */
async function pipeRunsWork(): Promise<void> {
  const t = await installed("tsminc", vmArgs("true"));
  assert.equal(t.status, 0, t.stderr);
  const wc = await installed("tsminc", vmArgs("wc", "-l"), "a\nb\n");
  assert.equal(wc.stdout.trim(), "2", wc.stderr);
  const ns = await installed("tsminc", ["-r", root, "sh", "-c", "echo hello from ns mode; exit 3"]);
  assert.deepEqual([ns.status, ns.stdout], [3, "hello from ns mode"], ns.stderr);
}

before(async () => {
  root = busyboxRootfs("x86_64");
  const started = performance.now();
  // npm test has built dist/ already: pack it as it is (prepack would rebuild it).
  const pack = await npm(["pack", "--ignore-scripts", "--pack-destination", work, "--json"], packageRoot);
  packed = (JSON.parse(pack.stdout) as { files: { path: string }[] }[])[0]?.files.map((f) => f.path) ?? [];
  const install = await npm([...INSTALL, "--prefix", prefix, "--prefer-offline", `./${TARBALL}`], work);
  installOutput = install.all;
  process.stderr.write(`# npm pack + npm install -g: ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
});

after(() => {
  rmSync(work, { recursive: true, force: true });
});

test("the package holds what the bins read at run time, and no tests, sources or build trees", () => {
  const needed = [
    "package.json",
    "README.md",
    "LICENSE",
    "breeder/busybox.config",
    "images/README.md",
    ...Object.values(pkg.bin),
    ...HELPER_FILES,
    ...readdirSync(join(packageRoot, "guest-init")).map((f) => `guest-init/${f}`),
    ...readdirSync(join(packageRoot, "kernel-configs")).map((f) => `kernel-configs/${f}`),
  ];
  for (const file of needed) assert.ok(packed.includes(file), `${file} is not in the package`);
  const unwanted = packed.filter((f) => /^(dist\/(test|bench)\/|test\/|bench\/|src\/|scripts\/)|\.map$|\.ts$/.test(f));
  assert.deepEqual(unwanted, []);
  assert.deepEqual(
    packed.filter((f) => f.startsWith("images/")),
    ["images/README.md"],
  );
});

test("the README's install line is the one this test runs, and npm finds every install script allowed", () => {
  const readme = readFileSync(join(packageRoot, "README.md"), "utf8");
  assert.ok(readme.includes(`npm ${INSTALL.join(" ")} ./tsminc-*.tgz`), "the README's install line");
  assert.ok(readme.includes("tsermine breed --arch x86_64"));
  assert.doesNotMatch(installOutput, /install-scripts|not yet covered/);
  assert.ok(existsSync(join(nodePtyDir, "build/Release/pty.node")), "node-pty was built");
  for (const name of Object.keys(pkg.bin)) assert.ok(existsSync(bin(name)), `${name} on the prefix's PATH`);
});

test("tsminc-runtime runs from the installed package", async () => {
  const version = await installed("tsminc-runtime", ["--version"]);
  assert.equal(version.status, 0, version.stderr);
  assert.match(version.stdout, new RegExp(`^tsminc-runtime version ${pkg.version.replace(/\./g, "\\.")}$`, "m"));
});

test("tsermine breed from the installed package: the package's images/ (ours), from the cache, with its licenses", async () => {
  const bred = await installed("tsermine", ["breed", "--arch", "x86_64"]);
  process.stderr.write(`# installed tsermine breed --arch x86_64: ${bred.seconds.toFixed(1)} s\n`);
  assert.equal(bred.status, 0, bred.stderr);
  assert.match(bred.stderr, /x86_64: kernel +cached/);
  const image = join(installedPackage, "images/x86_64");
  const manifest = readManifest(image) ?? assert.fail(`no image in ${image}`);
  const path = join(image, LICENSES_FILE);
  const licenses = parseLicenses(readFileSync(path, "utf8"), path);
  const named = (name: string) => licenses.components.find((c) => c.name === name) ?? assert.fail(`no ${name}`);
  for (const name of ["linux", "busybox"] as const) {
    assert.equal(named(name).version, manifest.sources[name].version);
    assert.deepEqual(named(name).sources[0]?.sha256, manifest.sources[name].sha256);
    assert.equal(named(name).license.split(" ")[0], "GPL-2.0-only");
  }
  assert.match(named("glibc").version, /^2\.\d+$/);
  assert.match(named("glibc").sources[0]?.sha256 ?? "", /^[0-9a-f]{64}$/);
  assert.equal(named("glibc").license, "LGPL-2.1-or-later");
  for (const text of licenses.components.flatMap((c) => c.texts)) {
    assert.ok(existsSync(join(image, text)), text);
    assert.ok(manifest.outputs[text], `${text} in the manifest`);
  }
  const list = await installed("tsermine", ["list", "--licenses"]);
  assert.equal(list.status, 0, list.stderr);
  for (const name of ["linux", "busybox", "glibc"])
    assert.match(list.stdout, new RegExp(`^ {2}${name} ${named(name).version.replace(/\./g, "\\.")} `, "m"));
});

test("tsminc from the installed package: pipe runs, and a VM run on a terminal (node-pty built by npm)", async () => {
  const hello = await installed("tsminc", vmArgs("sh", "-c", "echo hello from the VM; exit 3"));
  assert.deepEqual([hello.status, hello.stdout], [3, "hello from the VM"], hello.stderr);
  await pipeRunsWork();
  const tty = await onTerminal(vmArgs("sh", "-c", "test -t 0 && echo on a terminal"));
  assert.deepEqual([tty.status, tty.screen], [0, "on a terminal\r\n"]);
});

test("node-pty not built: pipe runs work; a terminal run is one line naming the fix, which works", async (t) => {
  const build = join(nodePtyDir, "build");
  renameSync(build, `${build}.off`);
  t.after(() => {
    if (existsSync(`${build}.off`)) rmSync(`${build}.off`, { recursive: true, force: true });
  });
  await pipeRunsWork();
  const runs = snapshot();
  const tty = await onTerminal(vmArgs("true"));
  assert.equal(tty.status, 125);
  const lines = tty.screen.trimEnd().split("\r\n");
  assert.equal(lines.length, 2, tty.screen);
  assert.match(lines[0] ?? "", /^tsminc: a run on a terminal needs node-pty, which is not built/);
  const fix = /^tsminc: hint: build it: cd (\S+) && npm rebuild node-pty /.exec(lines[1] ?? "");
  assert.equal(fix?.[1], installedPackage, tty.screen);
  assert.deepEqual(await leftoversAfter(runs), [], "the failed run left something");
  // ns mode needs no node-pty, on a terminal too.
  const ns = await onTerminal(["-r", root, "sh", "-c", "test -t 0 && echo ns on a terminal"]);
  assert.deepEqual([ns.status, ns.screen], [0, "ns on a terminal\r\n"]);
  // The hint's fix, as the user would type it.
  const started = performance.now();
  await npm(["rebuild", "node-pty"], installedPackage);
  process.stderr.write(`# npm rebuild node-pty: ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  const fixed = await onTerminal(vmArgs("sh", "-c", "test -t 0 && echo fixed"));
  assert.deepEqual([fixed.status, fixed.screen], [0, "fixed\r\n"]);
});

test("node-pty not installed: pipe runs work; a terminal run is one line naming the reinstall", async (t) => {
  renameSync(nodePtyDir, `${nodePtyDir}.off`);
  t.after(() => {
    renameSync(`${nodePtyDir}.off`, nodePtyDir);
  });
  await pipeRunsWork();
  const tty = await onTerminal(vmArgs("true"));
  assert.equal(tty.status, 125);
  const lines = tty.screen.trimEnd().split("\r\n");
  assert.equal(lines.length, 2, tty.screen);
  assert.match(lines[0] ?? "", /^tsminc: a run on a terminal needs node-pty, which is not installed$/);
  assert.ok(lines[1]?.includes(`npm ${INSTALL.join(" ")} ./${TARBALL}`), tty.screen);
});

test("a package folder that is not ours: breed writes, and tsminc finds, the user's data folder", async (t) => {
  const images = join(installedPackage, "images");
  rmSync(join(images, "x86_64"), { recursive: true, force: true });
  // Another owner as root (who may write anywhere); read-only as anyone else.
  if (process.getuid?.() === 0) chownSync(images, 65534, 65534);
  else chmodSync(images, 0o555);
  t.after(() => {
    chmodSync(images, 0o755);
  });
  const env = { XDG_DATA_HOME: join(work, "data") };
  const userImages = join(work, "data/tsminc/images");
  const bred = await installed("tsermine", ["breed", "--arch", "x86_64"], undefined, env);
  assert.equal(bred.status, 0, bred.stderr);
  assert.ok(readManifest(join(userImages, "x86_64")), "the image is in $XDG_DATA_HOME/tsminc/images");
  assert.ok(existsSync(join(userImages, "x86_64", LICENSES_FILE)));
  assert.equal(existsSync(join(images, "x86_64")), false);
  const list = await installed("tsermine", ["list"], undefined, env);
  assert.match(list.stdout, /^x86_64 /m);
  const plan = await installed("tsminc", ["--dry-run", ...vmArgs("true")], undefined, env);
  assert.ok(plan.stdout.includes(join(userImages, "x86_64", "bzImage")), plan.stdout);
  const run = await installed("tsminc", vmArgs("echo", "from the user's image"), undefined, env);
  assert.deepEqual([run.status, run.stdout], [0, "from the user's image"], run.stderr);
});
