// tsminc's own argv parser: options stop at the command, every spelling of a value, and one-line errors.
import assert from "node:assert/strict";
import { test } from "node:test";
import { helpText, OPTIONS, parseTsmincArgs } from "../../src/cli/tsminc-args.js";
import { MincError } from "../../src/core/errors.js";

const parse = (...args: string[]) => {
  const p = parseTsmincArgs(args);
  assert.ok(!("help" in p));
  return p;
};

test("options stop at the first word that is not one: the command keeps its own options", () => {
  assert.deepEqual(parse("--qemu", "ls", "-la", "--qemu"), { raw: { qemu: true }, command: ["ls", "-la", "--qemu"] });
  assert.deepEqual(parse("-r", "/r", "--", "-x", "--"), { raw: { rootdir: "/r" }, command: ["-x", "--"] });
  assert.deepEqual(parse("-k"), { raw: { keep: true }, command: [] });
  assert.deepEqual(parse("-", "x").command, ["-", "x"]);
});

test("--root-disk and --no-root-disk set one value: the last one given", () => {
  assert.deepEqual(parse("--no-root-disk").raw, { rootDisk: false });
  assert.deepEqual(parse("--no-root-disk", "--root-disk").raw, { rootDisk: true });
  assert.deepEqual(parse("--root-disk", "--no-root-disk").raw, { rootDisk: false });
});

test("values: --opt v, --opt=v, -o v, -ov; flags cluster; -b repeats; --no-init negates", () => {
  assert.deepEqual(parse("--name", "a b", "--arch=arm64", "-r", "/x", "-t/kept", "true").raw, {
    name: "a b",
    arch: "arm64",
    rootdir: "/x",
    tempdir: "/kept",
  });
  assert.deepEqual(parse("-kDn", "true").raw, { keep: true, direct: true, net: true });
  assert.deepEqual(parse("-kr", "/r", "true").raw, { keep: true, rootdir: "/r" });
  assert.deepEqual(parse("-b", "/a", "--bind=/b:/c", "-b/d", "true").raw, { bind: ["/a", "/b:/c", "/d"] });
  assert.deepEqual(parse("--no-init", "--mem-limit", "32M", "true").raw, { init: false, memLimit: "32M" });
  assert.deepEqual(parse("--append", "--x", "true").raw, { append: "--x" });
});

test("help, and errors that name the option with a hint", () => {
  assert.deepEqual(parseTsmincArgs(["--qemu", "-h"]), { help: true });
  const fails = (args: string[], message: RegExp) => {
    assert.throws(
      () => parseTsmincArgs(args),
      (e: unknown) =>
        e instanceof MincError && e.code === "usage" && message.test(e.message) && e.hint === "see tsminc --help",
    );
  };
  fails(["--bogus"], /^unknown option '--bogus'$/);
  fails(["-x"], /^unknown option '-x'$/);
  fails(["-r"], /^option '-r' needs a value <dir>$/);
  fails(["--name"], /^option '--name' needs a value <name>$/);
  fails(["--qemu=yes"], /^option '--qemu' takes no value$/);
});

test("--help lists every option once, and nothing else as one; it names the escape", () => {
  const text = helpText();
  const rows = text.split("\n").filter((line) => /^ {2}(-\w, | {4})--/.test(line));
  const listed = rows.map((row) => /--([\w-]+)/.exec(row)?.[1]).sort();
  assert.deepEqual(listed, [...OPTIONS.map((o) => o.long), "help"].sort());
  assert.match(text, /^Usage: tsminc \[options\]/);
  assert.match(text, /In a terminal, Ctrl-\] q kills the VM/);
});
