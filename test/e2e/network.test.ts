// --network in both modes: a file downloaded from a server on the host's loopback (reachable only
// with --add-host NAME:host-gateway), servers in the container reached through -p (TCP and UDP),
// --network none with its loopback up and nothing else, a port in use, names from --add-host, --dns
// and the forwarder (closed when it would lead to the host's loopback), and no slirp4netns left
// after tsminc is SIGKILLed. Every byte stays on this machine:
// servers on 127.0.0.1 only.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { execa } from "execa";
import { MODES } from "../helpers/cases.js";
import { breedAll } from "../helpers/cli.js";
import { startDnsServer, type DnsServer } from "../helpers/dns-server.js";
import { leftoversAfter, snapshot } from "../helpers/leftovers.js";
import { fetchTcp, freePort, sendUdpUntil } from "../helpers/net-probe.js";
import { busyboxRootfs, debianRootfsOrSkip } from "../helpers/rootfs.js";
import { skipBecause } from "../helpers/skip.js";
import { startTsminc, TSMINC, tsminc, type Run } from "../helpers/tsminc.js";

let root = "";
let server: Server;
let port = 0;
let requests = 0;
// Text, so that a shell can take an HTTP/1.0 answer apart (the Debian root has bash, not wget).
const FILE = randomBytes(128 * 1024).toString("hex");
const SHA = createHash("sha256").update(FILE).digest("hex");

before(async () => {
  await breedAll();
  root = busyboxRootfs("x86_64");
  server = createHttpServer((_req, res) => {
    requests++;
    res.end(FILE);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  port = (server.address() as AddressInfo).port;
});

after(() => {
  server.close();
});

for (const [name, mode] of MODES) {
  const user = [...mode, "--network", "user"];

  test(`${name}: a file from a server on the host's loopback, reached by --add-host NAME:host-gateway`, async (t) => {
    const debian = await debianRootfsOrSkip(t, "x86_64");
    const fetchers: [string, string, string][] = [
      ["busybox", root, `wget -q -O - http://hostbox:${port}/file`],
      ...(debian === undefined
        ? []
        : [
            [
              "debian",
              debian,
              `exec 3<>/dev/tcp/hostbox/${port}; printf 'GET /file HTTP/1.0\\r\\n\\r\\n' >&3; sed '1,/^\\r$/d' <&3`,
            ] as [string, string, string],
          ]),
    ];
    for (const [which, dir, fetch] of fetchers) {
      const before = snapshot();
      const shell = which === "debian" ? "bash" : "sh";
      const r = await tsminc([
        ...user,
        "--add-host",
        "hostbox:host-gateway",
        "-r",
        dir,
        shell,
        "-c",
        `${fetch} | sha256sum`,
      ]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.toString(), `${SHA}  -\n`, which);
      assert.deepEqual(await leftoversAfter(before), []);
    }
  });

  test(`${name}: without host-gateway the host's loopback is refused, and the server hears nothing`, async () => {
    const seen = requests;
    const r = await tsminc([
      ...user,
      "-r",
      root,
      "sh",
      "-c",
      `wget -q -T 5 -O - http://10.0.2.2:${port}/file; echo "wget=$?"`,
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.toString(), /^wget=1$/m);
    assert.equal(requests, seen);
  });

  test(`${name}: a TCP server in the container, reached from the host through -p`, async () => {
    const hostPort = await freePort();
    const run = startTsminc([
      ...user,
      "-p",
      `${hostPort}:8000`,
      "-r",
      root,
      "sh",
      "-c",
      "echo hello-tcp | nc -l -p 8000",
    ]);
    assert.match(await fetchTcp(hostPort, "hello-tcp"), /hello-tcp/);
    assert.equal(await run.done, 0);
  });

  test(`${name}: a UDP server in the container, reached from the host through -p .../udp`, async () => {
    const hostPort = await freePort();
    const run = startTsminc([...user, "-p", `${hostPort}:9999/udp`, "-r", root, "nc", "-u", "-l", "-p", "9999"]);
    // Sent until the container prints it: the server may not be up when the first ones arrive.
    await sendUdpUntil(hostPort, "ping-udp\n", () => run.output().includes("ping-udp"));
    run.kill("SIGTERM");
    assert.equal(await run.done, 143);
  });

  test(`${name}: --network none: the loopback, up, and no other interface`, async () => {
    const r = await tsminc([
      ...mode,
      "--network",
      "none",
      "-r",
      root,
      "sh",
      "-c",
      "ls /sys/class/net; ip -o link show lo",
    ]);
    assert.equal(r.status, 0, r.stderr);
    const [ifaces, lo] = r.stdout.toString().split("\n", 2);
    assert.equal(ifaces, "lo");
    assert.match(lo ?? "", /<LOOPBACK,UP,LOWER_UP>/);
  });

  test(`${name}: a host port in use is one line and 125, before anything starts`, async () => {
    const taken = createServer().listen(0, "127.0.0.1");
    await once(taken, "listening");
    const before = snapshot();
    try {
      const busy = (taken.address() as AddressInfo).port;
      const r = await tsminc([...user, "-p", `${busy}:80`, "-r", root, "true"]);
      assert.equal(r.status, 125);
      assert.match(
        r.stderr,
        new RegExp(`^tsminc: -p 127\\.0\\.0\\.1:${busy}:80/tcp: host port 127\\.0\\.0\\.1:${busy}/tcp is in use\\n`),
      );
      assert.equal(r.stderr.trim().split("\n").length, 2);
    } finally {
      taken.close();
    }
    assert.deepEqual(await leftoversAfter(before), []);
  });
}

test("ns: tsminc SIGKILLed on --network user: slirp4netns goes with it", async () => {
  const before = snapshot();
  const run = startTsminc(["--network", "user", "-r", root, "sh", "-c", "echo started; sleep 60"]);
  await run.outputIncludes("started");
  run.kill("SIGKILL");
  await run.done;
  assert.deepEqual(await leftoversAfter(before, 5000), []);
});

test("--add-host names resolve through /etc/hosts in a glibc container (Debian), in both modes", async (t) => {
  const debian = await debianRootfsOrSkip(t, "x86_64");
  if (debian === undefined) return;
  for (const [, mode] of MODES) {
    const r = await tsminc([
      ...mode,
      "--network",
      "user",
      "--name",
      "box",
      "--add-host",
      "db:10.0.2.9",
      "-r",
      debian,
      "sh",
      "-c",
      "getent hosts db box",
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.toString(), /^10\.0\.2\.9\s+db\n10\.0\.2\.(15|100)\s+box\n$/);
  }
});

test("--dns: names resolve through a resolver the test runs on the host's loopback, in both modes", async (t) => {
  let dns: DnsServer;
  try {
    dns = await startDnsServer(53, "10.0.2.77");
  } catch (err) {
    skipBecause(t, `no DNS server of the test's own on 127.0.0.1:53 (${(err as Error).message})`);
    return;
  }
  try {
    const debian = await debianRootfsOrSkip(t, "x86_64");
    for (const [name, mode] of MODES) {
      const dnsArgs = [...mode, "--network", "user", "--add-host", "h:host-gateway", "--dns", "10.0.2.2"];
      // busybox's nslookup asks the server itself; glibc (Debian) reads the container's resolv.conf.
      const bb = await tsminc([
        ...dnsArgs,
        "-r",
        root,
        "sh",
        "-c",
        "cat /etc/resolv.conf; nslookup busybox.tsminc.test",
      ]);
      assert.equal(bb.status, 0, bb.stderr);
      assert.match(bb.stdout.toString(), /^nameserver 10\.0\.2\.2\n/);
      assert.match(bb.stdout.toString(), /Address( 1)?: 10\.0\.2\.77$/m, name);
      if (debian === undefined) continue;
      const glibc = await tsminc([...dnsArgs, "-r", debian, "getent", "ahostsv4", "glibc.tsminc.test"]);
      assert.equal(glibc.status, 0, glibc.stderr);
      assert.match(glibc.stdout.toString(), /^10\.0\.2\.77\s/, name);
    }
    assert.ok(dns.queries.includes("busybox.tsminc.test") && dns.queries.includes("glibc.tsminc.test"));
  } finally {
    dns.close();
  }
});

/**
 * tsminc in a mount namespace of the test's own whose /etc/resolv.conf names `resolver`: what both
 * tsminc's probe and slirp4netns's forwarder read. The host's own file is not touched.
 */
async function withHostResolver(resolver: string, args: readonly string[]): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), "tsminc-resolv-"));
  try {
    writeFileSync(join(dir, "resolv.conf"), `nameserver ${resolver}\n`);
    const r = await execa(
      "unshare",
      ["-m", "sh", "-c", 'mount --bind "$0" /etc/resolv.conf && exec "$@"', join(dir, "resolv.conf")].concat([
        process.execPath,
        TSMINC,
        ...args,
      ]),
      { reject: false, stdin: "ignore", stripFinalNewline: false, timeout: 180_000 },
    );
    return { status: r.exitCode ?? 255, stdout: Buffer.from(r.stdout), stderr: r.stderr, seconds: 0 };
  } finally {
    rmSync(dir, { recursive: true });
  }
}

test("the forwarder (10.0.2.3) resolves through the host's resolver; one on the host's loopback stays closed unless host-gateway opens it", async (t) => {
  let dns: DnsServer;
  try {
    dns = await startDnsServer(53, "10.0.2.78");
  } catch (err) {
    skipBecause(t, `no DNS server of the test's own on 127.0.0.1:53 (${(err as Error).message})`);
    return;
  }
  try {
    for (const [name, mode] of MODES) {
      const before = snapshot();
      // Opened: the forwarder reaches the host's resolver, the test's on 127.0.0.1.
      const open = await withHostResolver("127.0.0.1", [
        ...mode,
        "--network",
        "user",
        "--add-host",
        "h:host-gateway",
        "-r",
        root,
        "sh",
        "-c",
        `cat /etc/resolv.conf; nslookup open-${name}.tsminc.test`,
      ]);
      assert.equal(open.status, 0, open.stderr);
      assert.match(open.stdout.toString(), /^nameserver 10\.0\.2\.3\n/);
      assert.match(open.stdout.toString(), /Address( 1)?: 10\.0\.2\.78$/m, name);
      assert.ok(dns.queries.includes(`open-${name}.tsminc.test`));
      // Closed: no forwarder, no nameserver, one line saying so; asking 10.0.2.3 anyway gets nothing.
      const closed = await withHostResolver("127.0.0.1", [
        ...mode,
        "--network",
        "user",
        "-r",
        root,
        "sh",
        "-c",
        `cat /etc/resolv.conf; nslookup closed-${name}.tsminc.test 10.0.2.3 >/dev/null 2>&1; echo "nslookup $?"`,
      ]);
      assert.equal(closed.status, 0, closed.stderr);
      assert.equal(closed.stdout.toString(), "nslookup 1\n", name);
      assert.match(closed.stderr, /^tsminc: the host's resolver \(127\.0\.0\.1\) is on its loopback.*--dns IP/m);
      assert.ok(!dns.queries.includes(`closed-${name}.tsminc.test`), "the host's loopback resolver was reached");
      assert.deepEqual(await leftoversAfter(before), []);
    }
  } finally {
    dns.close();
  }
});
