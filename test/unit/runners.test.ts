// The Runner, on real processes: statuses, signals, captured output, input, files, spawn failures.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { MincError } from "../../src/core/errors.js";
import { spawnRunner } from "../../src/host/spawn-runner.js";

for (const [name, runner] of [["child_process", spawnRunner]] as const) {
  test(`${name} runner: status, stdout and stderr of a real program`, async () => {
    const r = await runner.run("sh", ["-c", "printf 'a b'; echo err >&2; exit 3"]);
    assert.deepEqual(r, { exitCode: 3, stdout: "a b", stderr: "err\n" });
  });

  test(`${name} runner: arguments are not re-parsed, input reaches stdin`, async () => {
    const r = await runner.run("sh", ["-c", 'printf "%s|" "$@"; cat', "sh", "$x", "a b", ""], { input: "in" });
    assert.equal(r.stdout, "$x|a b||in");
  });

  test(`${name} runner: death by signal n is 128+n, and spawn can send it`, async () => {
    const child = runner.spawn("sleep", ["30"]);
    child.kill("SIGTERM");
    assert.equal((await child.done).exitCode, 143);
  });

  test(`${name} runner: stdout into a file, byte for byte`, async () => {
    const file = join(mkdtempSync(join(tmpdir(), "tsminc-runner-")), "out");
    await runner.run("printf", ["\\001\\377\\n"], { stdoutFile: file });
    assert.deepEqual(readFileSync(file), Buffer.from([1, 255, 10]));
  });

  test(`${name} runner: a program that cannot start rejects with one line and a hint, not a bug report`, async () => {
    await assert.rejects(runner.run("/nonexistent/tsminc-program", []), (err: unknown) => {
      assert.ok(err instanceof MincError);
      assert.equal(err.code, "missing-tool");
      assert.match(err.message, /cannot run \/nonexistent\/tsminc-program: it is not installed/);
      assert.match(err.hint ?? "", /install tsminc-program/);
      return true;
    });
    const noQemu = runner.run("qemu-system-aarch64", [], { env: { PATH: "/nonexistent" }, extendEnv: false });
    await assert.rejects(
      noQemu,
      (err: unknown) => err instanceof MincError && err.hint === "apt-get install qemu-system-arm",
    );
    const dir = mkdtempSync(join(tmpdir(), "tsminc-runner-"));
    writeFileSync(join(dir, "not-executable"), "#!/bin/sh\n", { mode: 0o644 });
    await assert.rejects(runner.run(join(dir, "not-executable"), []), /permission denied/);
  });
}
