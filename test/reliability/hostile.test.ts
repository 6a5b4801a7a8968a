// Hostile input: every byte value in argv, very long argument lists, paths with spaces, colons and
// newlines, shell metacharacters in --name, symlinks aimed outside the root, a root without /bin/sh,
// a foreign root, bad option values. Each is a correct run or one error line, never a host change.
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { execa } from "execa";
import { MODES } from "../helpers/cases.js";
import { breedAll } from "../helpers/cli.js";
import { guarded } from "../helpers/guard.js";
import { busyboxRootfs } from "../helpers/rootfs.js";
import { TSMINC, tsminc } from "../helpers/tsminc.js";

let root = "";
let work = "";

before(async () => {
  await breedAll();
  root = busyboxRootfs("x86_64");
  work = mkdtempSync(join(tmpdir(), "tsminc-hostile-"));
});

after(() => {
  rmSync(work, { recursive: true, force: true });
});

/** tsminc with raw-byte arguments: xargs -0 passes them to the kernel as they are. */
async function rawArgs(mode: readonly string[], words: readonly Buffer[]): Promise<Buffer> {
  const list = join(work, "args.bin");
  writeFileSync(list, Buffer.concat(words.flatMap((w) => [w, Buffer.from([0])])));
  const r = await execa(
    "xargs",
    ["-0", "-x", "-a", list, process.execPath, TSMINC, ...mode, "-r", root, "--", "printf", "%s\\0"],
    {
      encoding: "buffer",
      reject: false,
      stdin: "ignore",
    },
  );
  assert.equal(r.exitCode, 0, Buffer.from(r.stderr).toString());
  return Buffer.from(r.stdout);
}

for (const [name, mode] of MODES) {
  test(`${name}: every byte 1-255, alone and all in one argument, arrives exactly`, async () => {
    await guarded(root, async () => {
      const words = [
        ...Array.from({ length: 255 }, (_, i) => Buffer.from([i + 1])),
        Buffer.from(Array.from({ length: 255 }, (_, i) => i + 1)),
      ];
      const out = await rawArgs(mode, words);
      assert.ok(out.equals(Buffer.concat(words.flatMap((w) => [w, Buffer.from([0])]))), "bytes differ");
    });
  });

  test(`${name}: 10000 arguments (1 MB) arrive exactly, in order`, async () => {
    await guarded(root, async () => {
      const words = Array.from({ length: 10000 }, (_, i) =>
        Buffer.from(`${String(i).padStart(5, "0")}${"x".repeat(95)}`),
      );
      const out = await rawArgs(mode, words);
      assert.ok(out.equals(Buffer.concat(words.flatMap((w) => [w, Buffer.from([0])]))), "arguments differ");
    });
  });

  test(`${name}: a rootfs and bind paths with spaces, colons and newlines`, async () => {
    const odd = join(work, `root dir:with\nnewline ${name}`);
    cpSync(root, odd, { recursive: true, verbatimSymlinks: true });
    const src = join(work, `bind src:x\ny ${name}`);
    mkdirSync(src);
    writeFileSync(join(src, "f"), "from the host\n");
    await guarded(odd, async () => {
      const r = await tsminc([
        ...mode,
        "-r",
        odd,
        "-b",
        `${src}:/in side:x`,
        "sh",
        "-c",
        'cat "/in side:x/f"; echo hi >/new',
      ]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.toString(), "from the host\n");
    });
  });

  test(`${name}: --name with shell metacharacters is the hostname, taken literally`, async () => {
    const marker = join(work, `pwned-${name}`);
    const evil = `$(touch ${marker});\`id\`|&`.slice(0, 64);
    await guarded(root, async () => {
      const r = await tsminc([...mode, "-r", root, "--name", evil, "hostname"]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.toString(), `${evil}\n`);
    });
    assert.equal(existsSync(marker), false);
  });

  test(`${name}: binds aimed through symlinks to host paths land inside the container`, async () => {
    const evil = join(work, `symlinks-${name}`);
    cpSync(root, evil, { recursive: true, verbatimSymlinks: true });
    mkdirSync(join(evil, "mnt"), { recursive: true });
    symlinkSync("/etc", join(evil, "mnt/x"));
    symlinkSync("/", join(evil, "up"));
    const src = join(work, `payload-${name}`);
    writeFileSync(src, "payload\n");
    await guarded(evil, async () => {
      const r = await tsminc([
        ...mode,
        "-r",
        evil,
        "-b",
        `${src}:/mnt/x/tsminc-escape`,
        "-b",
        `${src}:/up/tmp/tsminc-escape2`,
        "sh",
        "-c",
        "cat /etc/tsminc-escape /tmp/tsminc-escape2",
      ]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.toString(), "payload\npayload\n");
    });
    assert.equal(existsSync("/etc/tsminc-escape"), false);
    assert.equal(existsSync("/tmp/tsminc-escape2"), false);
  });

  test(`${name}: the tmpdir's removal never follows the symlinks the container made in it`, async () => {
    // The container's writes (its upper layer) live in the tmpdir, which tsminc removes afterwards.
    const canary = join(work, `canary-${name}`);
    mkdirSync(join(canary, "sub"), { recursive: true });
    writeFileSync(join(canary, "sub", "keep"), "keep\n");
    await guarded(root, async () => {
      const script = `mkdir -p /d/e && ln -s ${canary} /d/e/dir && ln -s ${canary}/sub/keep /file && ln -s / /rootlink`;
      const r = await tsminc([...mode, "-r", root, "sh", "-c", script]);
      assert.equal(r.status, 0, r.stderr);
    });
    assert.equal(readFileSync(join(canary, "sub", "keep"), "utf8"), "keep\n");
  });

  test(`${name}: a rootfs without /bin/sh runs a static program, and the default shell is 127`, async () => {
    const bare = join(work, `bare-${name}`);
    mkdirSync(bare);
    cpSync(join(root, "bin/busybox"), join(bare, "busybox"));
    await guarded(bare, async () => {
      const ok = await tsminc([...mode, "-r", bare, "/busybox", "echo", "static"]);
      assert.equal(ok.status, 0, ok.stderr);
      assert.equal(ok.stdout.toString(), "static\n");
      const none = await tsminc([...mode, "-r", bare]);
      assert.equal(none.status, 127);
      assert.match(none.stderr, /^tsminc: \/bin\/sh: command not found$/m);
    });
  });
}

test("bad input: one line and a hint, exit 125, nothing made", async () => {
  const cases: [string[], RegExp][] = [
    [["--qemu", "--arch", "arm64", "-r", root, "true"], /is built for x86_64, not --arch arm64/],
    [["--qemu", "--arch", "sparc", "-r", root, "true"], /unknown arch "sparc"/],
    [["-r", join(work, "nope"), "true"], /does not exist/],
    [["-r", root, "--mem-limit", "lots", "true"], /--mem-limit takes a size/],
    [["-r", root, "--pid-max", "-3", "true"], /--pid-max/],
    [["-r", root, "--timeout", "0", "true"], /--timeout/],
    [["-r", root, "--name", "x".repeat(65), "true"], /--name takes 1 to 64 bytes/],
    [["-r", root, "--user", "root", "true"], /--user takes UID/],
    [["-r", root, "--nocaps", "cap_$(id)", "true"], /--nocaps takes capability names/],
    [["-r", root, "-b", join(work, "missing"), "true"], /--bind source .* does not exist/],
    [["-r", root, "--append", "quiet", "true"], /--append is for the VM, and ns mode has none/],
    [["--qemu", "-r", root, "--mem", "1", "true"], /--mem 1 is outside/],
    [["--qemu", "-r", root, "--cpus", "0", "true"], /--cpus takes/],
    [["-r", root, "--no-such-option", "true"], /unknown option/],
  ];
  await guarded(root, async () => {
    for (const [args, message] of cases) {
      const r = await tsminc(args);
      assert.equal(r.status, 125, `${args.join(" ")}: ${r.stderr}`);
      const lines = r.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 2, r.stderr);
      assert.match(lines[0] ?? "", message);
      assert.match(lines[1] ?? "", /^tsminc: hint: /);
    }
  });
});
