// Both Runners, on real processes: statuses, signals, captured output, input, files.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { execaRunner, type Runner } from "../../src/host/runner.js";
import { spawnRunner } from "../../src/host/spawn-runner.js";

for (const [name, runner] of [
  ["execa", execaRunner],
  ["child_process", spawnRunner],
] as [string, Runner][]) {
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

  test(`${name} runner: a program that does not exist rejects`, async () => {
    await assert.rejects(runner.run("/nonexistent/tsminc-program", []));
  });
}
