// Bad input to tsermine: a one-line error naming the fix, a non-zero exit, and nothing written.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { tsermine } from "../helpers/cli.js";

const cases: {
  name: string;
  args: string[];
  env?: Record<string, string>;
  status: number;
  message: RegExp;
  hint: RegExp;
}[] = [
  {
    name: "unknown arch",
    args: ["--arch", "sparc"],
    status: 2,
    message: /unknown arch "sparc"/,
    hint: /--arch x86_64\|arm64\|arm\|all/,
  },
  {
    name: "missing config file",
    args: ["--config", "/nonexistent/my.config"],
    status: 2,
    message: /no kernel config "\/nonexistent\/my\.config"/,
    hint: /--config smallconfig\|defconfig/,
  },
  {
    name: "unknown --sources",
    args: ["--sources", "nowhere"],
    status: 2,
    message: /unknown --sources value "nowhere"/,
    hint: /auto\|upstream\|debian\|DIR\|URL/,
  },
  { name: "bad --jobs", args: ["--jobs", "many"], status: 2, message: /--jobs takes a whole number/, hint: /--jobs 4/ },
  {
    name: "unknown option",
    args: ["--bogus"],
    status: 2,
    message: /unknown option '--bogus'/,
    hint: /tsermine --help/,
  },
  {
    name: "missing tools (no bison, no cross gcc)",
    args: ["--arch", "all"],
    env: { PATH: "/nonexistent" },
    status: 1,
    message: /missing .*bison.*aarch64-linux-gnu-gcc/,
    hint: /apt-get install .*bison.*gcc-aarch64-linux-gnu/,
  },
];

for (const c of cases) {
  test(`bad input: ${c.name}`, async () => {
    const parent = mkdtempSync(join(tmpdir(), "tsminc-bad-"));
    const out = join(parent, "images");
    const r = await tsermine(["breed", ...c.args, "--out", out], c.env);
    const written = existsSync(out);
    rmSync(parent, { recursive: true, force: true });
    assert.equal(r.exitCode, c.status, r.stderr);
    const [message, hint, ...rest] = r.stderr.trimEnd().split("\n");
    assert.match(message ?? "", /^tsermine: /);
    assert.match(message ?? "", c.message);
    assert.match(hint ?? "", /^tsermine: hint: /);
    assert.match(hint ?? "", c.hint);
    assert.deepEqual(rest, []);
    assert.equal(r.stdout, "");
    assert.ok(!written, "nothing was written");
  });
}
