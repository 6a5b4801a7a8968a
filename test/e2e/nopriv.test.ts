// --nopriv DIR, on the host and with --qemu, as a real non-root user made in setup: the container
// runs, its status comes back, DIR is byte-identical afterwards although the container wrote into
// its root, and nothing is left behind. Options that cannot apply say so in one line.
import assert from "node:assert/strict";
import { once } from "node:events";
import { chownSync, cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test, type TestContext } from "node:test";
import { execa } from "execa";
import { breedAll } from "../helpers/cli.js";
import { MODES, RUN_CASES } from "../helpers/cases.js";
import { fetchTcp, freePort, sendUdpUntil } from "../helpers/net-probe.js";
import { busyboxRootfs, debianRootfs } from "../helpers/rootfs.js";
import { skipBecause } from "../helpers/skip.js";
import { asUserArgv, TSMINC, tsminc, type AsUser } from "../helpers/tsminc.js";
import { treeHash } from "../helpers/tree-hash.js";

const USER = "tsminc-tester";
let user: AsUser | undefined;
let missing = "";
let work = "";
let root = "";
// A copy of the Debian minbase that the user owns, when the fixture can be had here.
let debianCopy = "";
let debianMissing = "";

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
  const debian = await debianRootfs();
  if ("dir" in debian) {
    debianCopy = join(work, "debian");
    // cp -a, not cpSync: the root has device nodes, which node's copy refuses.
    await execa("cp", ["-a", debian.dir, debianCopy]);
  } else debianMissing = debian.missing;
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

test("nopriv --qemu: warm start in the user's own cache: the first run saves, the next resumes", async (t) => {
  const who = ready(t);
  if (who === undefined) return;
  const cache = mkdtempSync(join(work, "cache-"));
  await giveTo(cache, who);
  const env = { TSMINC_CACHE: cache };
  const args = ["--qemu", "--nopriv", root, "sh", "-c", "id -u; echo warm"];
  const first = await tsminc(args, undefined, who, env);
  assert.equal(first.status, 0, first.stderr);
  assert.equal(first.stdout.toString(), "0\nwarm\n");
  const plan = await tsminc(["--dry-run", ...args], undefined, who, env);
  assert.match(plan.stdout.toString(), /^start +resume .*\.state \(warm start\)$/m);
  const second = await tsminc(args, undefined, who, env);
  assert.equal(second.status, 0, second.stderr);
  assert.equal(second.stdout.toString(), "0\nwarm\n");
  const snapshots = join(cache, "snapshots");
  assert.deepEqual(
    readdirSync(snapshots).map((f) => statSync(join(snapshots, f)).uid),
    [who.uid, who.uid],
  );
  assert.deepEqual(leftovers(who), []);
});

test("nopriv --qemu --root-disk: the disk is packed as the user, owners mapped to root; with a cache it cannot write, into the run's tmpdir", async (t) => {
  const who = ready(t);
  if (who === undefined) return;
  const hash = treeHash(root);
  const script = [
    "id -u",
    "stat -c %u /etc/passwd",
    "rm /etc/passwd && echo w >/etc/w && cat /etc/w",
    "grep ' / ' /proc/mounts | cut -d' ' -f1",
  ].join("; ");
  const args = ["--qemu", "--root-disk", "--nopriv", root, "sh", "-c", script];
  const own = mkdtempSync(join(work, "cache-"));
  await giveTo(own, who);
  const r = await tsminc(args, undefined, who, { TSMINC_CACHE: own });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.toString(), "0\n0\nw\noverlay\n");
  const disks = join(own, "root-disks");
  assert.ok(
    readdirSync(disks).some((f) => f.endsWith(".erofs")),
    readdirSync(disks).join(" "),
  );
  assert.deepEqual(
    readdirSync(disks).filter((f) => statSync(join(disks, f)).uid !== who.uid),
    [],
  );
  // root's own cache folder (0700): nothing can be written there, the run packs its disk alone.
  const roots = mkdtempSync(join(tmpdir(), "tsminc-rootcache-"));
  try {
    const alone = await tsminc(args, undefined, who, { TSMINC_CACHE: roots });
    assert.equal(alone.status, 0, alone.stderr);
    assert.equal(alone.stdout.toString(), "0\n0\nw\noverlay\n");
    assert.deepEqual(readdirSync(roots), []);
  } finally {
    rmSync(roots, { recursive: true, force: true });
  }
  assert.equal(treeHash(root), hash);
  assert.deepEqual(leftovers(who), []);
});

test("nopriv --qemu --root-disk: a file the user cannot read is one line naming the rootfs, a hint to go over 9p, 125", async (t) => {
  const who = ready(t);
  if (who === undefined) return;
  const folder = mkdtempSync(join(work, "shut-"));
  const shut = join(folder, "root");
  cpSync(root, shut, { recursive: true, verbatimSymlinks: true });
  await giveTo(folder, who);
  // root's, mode 000: the user's namespace cannot read it.
  writeFileSync(join(shut, "secret"), "x", { mode: 0o000 });
  const own = mkdtempSync(join(work, "cache-"));
  await giveTo(own, who);
  const r = await tsminc(["--qemu", "--root-disk", "--nopriv", shut, "true"], undefined, who, { TSMINC_CACHE: own });
  assert.equal(r.status, 125, r.stderr);
  assert.match(r.stderr, new RegExp(`^tsminc: cannot pack the rootfs ${shut} into a disk: .+\\n`));
  assert.match(r.stderr, /^tsminc: hint: make every file of the rootfs readable to this user, or add --no-root-disk/m);
  assert.equal(r.stderr.split("\n").length, 3, r.stderr);
  assert.deepEqual(leftovers(who), []);
  assert.deepEqual(
    readdirSync(join(own, "root-disks")).filter((f) => f.includes(".tmp-")),
    [],
  );
  // As the hint says: over 9p the run does not read that file, and works.
  const over9p = await tsminc(["--qemu", "--no-root-disk", "--nopriv", shut, "true"], undefined, who, {
    TSMINC_CACHE: own,
  });
  assert.equal(over9p.status, 0, over9p.stderr);
});

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

for (const [mode, flags] of MODES) {
  test(`nopriv ${mode}: --network user as a user: a file from the host's loopback (host-gateway), and -p`, async (t) => {
    const who = ready(t);
    if (who === undefined) return;
    // The user's access is the mode for others, which install-deps.sh sets as Debian's udev does.
    if ((statSync("/dev/net/tun").mode & 0o006) !== 0o006) {
      skipBecause(t, "/dev/net/tun is not open to users (chmod 0666 /dev/net/tun, as scripts/install-deps.sh does)");
      return;
    }
    const server = createServer((_req, res) => res.end("from-the-host\n")).listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const port = (server.address() as AddressInfo).port;
      const net = [...flags, "--network", "user", "--nopriv", root];
      const got = await tsminc(
        [...net, "--add-host", "h:host-gateway", "wget", "-q", "-O", "-", `http://10.0.2.2:${port}/`],
        undefined,
        who,
      );
      assert.equal(got.status, 0, got.stderr);
      assert.equal(got.stdout.toString(), "from-the-host\n");
      const refused = await tsminc(
        [...net, "sh", "-c", `wget -q -T 5 -O - http://10.0.2.2:${port}/; echo $?`],
        undefined,
        who,
      );
      assert.equal(refused.stdout.toString(), "1\n", refused.stderr);
      // A published port: the container's nc answers a connection from the host.
      const hostPort = await freePort();
      const [file, argv] = asUserArgv(who, [
        process.execPath,
        TSMINC,
        ...net,
        "-p",
        `${hostPort}:7000`,
        "sh",
        "-c",
        "echo hi-from-nopriv | nc -l -p 7000",
      ]);
      const run = execa(file, argv, { reject: false, stdin: "ignore" });
      const answer = await fetchTcp(hostPort, "hi-from-nopriv");
      assert.match(answer, /hi-from-nopriv/);
      assert.equal((await run).exitCode, 0);
      assert.deepEqual(leftovers(who), []);
    } finally {
      server.close();
    }
  });
}

for (const [mode, flags] of MODES) {
  test(`nopriv ${mode}: --network user as a user: UDP through -p, and a Debian root's download`, async (t) => {
    const who = ready(t);
    if (who === undefined) return;
    if ((statSync("/dev/net/tun").mode & 0o006) !== 0o006) {
      skipBecause(t, "/dev/net/tun is not open to users (chmod 0666 /dev/net/tun, as scripts/install-deps.sh does)");
      return;
    }
    // UDP: the container prints what arrives; the host sends until it shows.
    const hostPort = await freePort();
    const args = [
      ...flags,
      "--network",
      "user",
      "--nopriv",
      root,
      "-p",
      `${hostPort}:9999/udp`,
      "nc",
      "-u",
      "-l",
      "-p",
      "9999",
    ];
    const [file, argv] = asUserArgv(who, [process.execPath, TSMINC, ...args]);
    const run = execa(file, argv, { reject: false, stdin: "ignore", buffer: false });
    let out = "";
    run.stdout.on("data", (d: Buffer) => (out += d.toString()));
    try {
      await sendUdpUntil(hostPort, "ping-nopriv\n", () => out.includes("ping-nopriv"));
    } finally {
      run.kill("SIGTERM");
      await run;
    }
    // The Debian root, the user's copy: glibc resolves the host-gateway name; bash fetches.
    if (debianCopy === "") {
      skipBecause(t, `no Debian rootfs: ${debianMissing}`);
      return;
    }
    const server = createServer((_req, res) => res.end("to-debian-as-a-user\n")).listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const port = (server.address() as AddressInfo).port;
      const fetch = `exec 3<>/dev/tcp/hostbox/${port}; printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3; sed '1,/^\\r$/d' <&3`;
      const dl = await tsminc(
        [
          ...flags,
          "--network",
          "user",
          "--add-host",
          "hostbox:host-gateway",
          "--nopriv",
          debianCopy,
          "bash",
          "-c",
          fetch,
        ],
        undefined,
        who,
      );
      assert.equal(dl.status, 0, dl.stderr);
      assert.equal(dl.stdout.toString(), "to-debian-as-a-user\n");
    } finally {
      server.close();
    }
    assert.deepEqual(leftovers(who), []);
  });
}
