// --nopriv DIR, on the host and with --qemu, as a real non-root user made in setup: the container
// runs, its status comes back, DIR is byte-identical afterwards although the container wrote into
// its root, and nothing is left behind. Options that cannot apply say so in one line.
import assert from "node:assert/strict";
import { chownSync, cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test, type TestContext } from "node:test";
import { execa } from "execa";
import { breedAll } from "../helpers/cli.js";
import { MODES, RUN_CASES } from "../helpers/cases.js";
import { busyboxRootfs } from "../helpers/rootfs.js";
import { skipBecause } from "../helpers/skip.js";
import { asUserArgv, TSMINC, tsminc, type AsUser } from "../helpers/tsminc.js";
import { treeHash } from "../helpers/tree-hash.js";

const USER = "tsminc-tester";
let user: AsUser | undefined;
let missing = "";
let work = "";
let root = "";

/** Gives `path` and everything below it to the user (symlinks themselves, not their targets). */
async function giveTo(path: string, who: AsUser): Promise<void> {
  const r = await execa("chown", ["-R", "-h", `${who.uid}:${who.gid}`, path], { reject: false });
  if (r.exitCode !== 0) chownSync(path, who.uid, who.gid);
}

before(async () => {
  await breedAll();
  if ((await execa("id", ["-u", USER], { reject: false })).exitCode !== 0) {
    await execa("useradd", ["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER]);
  }
  user = {
    uid: Number((await execa("id", ["-u", USER])).stdout),
    gid: Number((await execa("id", ["-g", USER])).stdout),
  };
  const [file, argv] = asUserArgv(user, [
    process.execPath,
    "-e",
    `require("fs").accessSync(${JSON.stringify(TSMINC)})`,
  ]);
  if ((await execa(file, argv, { reject: false })).exitCode !== 0) {
    missing = `${USER} cannot read this checkout (put it where others may read it)`;
    return;
  }
  work = mkdtempSync(join(tmpdir(), "tsminc-nopriv-"));
  root = join(work, "root");
  cpSync(busyboxRootfs("x86_64"), root, { recursive: true, verbatimSymlinks: true });
  await giveTo(work, user);
});

after(() => {
  if (work !== "") rmSync(work, { recursive: true, force: true });
});

function ready(t: TestContext): AsUser | undefined {
  if (missing !== "") {
    skipBecause(t, missing);
    return undefined;
  }
  return user;
}

/** The user's runtime folder (no XDG_RUNTIME_DIR under setpriv): empty once tsminc is done. */
const leftovers = (who: AsUser) => {
  const dir = join(tmpdir(), `tsminc-${who.uid}`);
  return existsSync(dir) ? readdirSync(dir) : [];
};

for (const [mode, flags] of MODES) {
  for (const c of RUN_CASES) {
    test(`nopriv ${mode}: ${c.name}`, async (t) => {
      const who = ready(t);
      if (who === undefined) return;
      const r = await tsminc([...flags, "--nopriv", root, ...(c.flags ?? []), "--", ...c.command], c.input, who);
      assert.equal(r.status, c.status, r.stderr);
      if (c.stdout) assert.deepEqual(r.stdout, c.stdout, JSON.stringify(r.stdout.toString()));
      if (c.stderr) assert.match(r.stderr, c.stderr);
      assert.deepEqual(leftovers(who), []);
    });
  }

  test(`nopriv ${mode}: DIR is byte-identical after the container rewrote its root; inside, the user is root`, async (t) => {
    const who = ready(t);
    if (who === undefined) return;
    const hash = treeHash(root);
    const script = "id -u; echo x > /etc/passwd; rm /bin/ls; mkdir /new; chown 0:0 /new && echo chown-ok";
    const r = await tsminc([...flags, "--nopriv", root, "sh", "-c", script], undefined, who);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.toString(), "0\nchown-ok\n");
    assert.equal(treeHash(root), hash);
    assert.deepEqual(leftovers(who), []);
  });
}

const refusals: { name: string; args: (dir: string) => string[]; message: RegExp; hint: RegExp }[] = [
  { name: "a user without --nopriv", args: (dir) => ["-r", dir, "true"], message: /needs root/, hint: /--nopriv DIR/ },
  {
    name: "--user with --nopriv",
    args: (dir) => ["--nopriv", dir, "--user", "5", "true"],
    message: /--user cannot apply with --nopriv/,
    hint: /drop --user/,
  },
  {
    name: "--usedev with --nopriv",
    args: (dir) => ["--nopriv", dir, "--usedev", "true"],
    message: /--usedev cannot apply with --nopriv/,
    hint: /drop --usedev/,
  },
  {
    name: "limits with --nopriv",
    args: (dir) => ["--nopriv", dir, "--mem-limit", "64M", "true"],
    message: /--mem-limit, --cpu-limit and --pid-max need root/,
    hint: /systemd-run --user/,
  },
];

for (const c of refusals) {
  test(`nopriv refuses ${c.name}: one line, a hint, 125`, async (t) => {
    const who = ready(t);
    if (who === undefined) return;
    const r = await tsminc(c.args(root), undefined, who);
    assert.equal(r.status, 125);
    const [message, hint, ...rest] = r.stderr.trimEnd().split("\n");
    assert.match(message ?? "", c.message);
    assert.match(hint ?? "", c.hint);
    assert.deepEqual(rest, []);
  });
}
