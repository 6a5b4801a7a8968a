// The registry client against a real docker-registry: manifests, verified and resumed blobs, TLS, Basic and token auth.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { gzipSync } from "node:zlib";
import * as tar from "tar";
import { MincError } from "../../src/core/errors.js";
import { authFileSearch, credentialsIn, parseWwwAuthenticate } from "../../src/core/registry-auth.js";
import { registryClient, type RegistryOptions } from "../../src/host/registry.js";
import { freePort } from "../helpers/net-probe.js";
import {
  pushLayout,
  startProxy,
  startRegistry,
  writeAuthFile,
  type TestProxy,
  type TestRegistry,
} from "../helpers/registry.js";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const ACCEPT = [
  OCI_INDEX,
  OCI_MANIFEST,
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
];

const sha256 = (b: Buffer | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

interface Blob {
  readonly digest: string;
  readonly bytes: Buffer;
}

interface Layout {
  readonly dir: string;
  readonly layer: Blob;
  /** the single-arch image, tag "v1" */
  readonly manifest: Blob;
  /** an index of two images (amd64, arm64) sharing the layer, tag "multi" */
  readonly index: Blob;
  readonly arm64: Blob;
}

/** A tiny OCI image layout: one gzip layer (a file and 300 KB of random bytes), two configs, two manifests, an index. */
function makeLayout(root: string): Layout {
  const dir = join(root, "layout");
  const blobs = join(dir, "blobs", "sha256");
  mkdirSync(blobs, { recursive: true });
  const put = (bytes: Buffer | string): Blob => {
    const b = Buffer.from(bytes);
    const digest = sha256(b);
    writeFileSync(join(blobs, digest.slice("sha256:".length)), b);
    return { digest, bytes: b };
  };
  const src = join(root, "rootfs");
  mkdirSync(src);
  writeFileSync(join(src, "hello.txt"), "hello from the registry test\n");
  writeFileSync(join(src, "payload.bin"), randomBytes(300_000));
  tar.c({ cwd: src, sync: true, file: join(root, "layer.tar"), portable: true }, ["hello.txt", "payload.bin"]);
  const tarBytes = readFileSync(join(root, "layer.tar"));
  const layer = put(gzipSync(tarBytes));
  const image = (architecture: string) => {
    const config = put(
      JSON.stringify({
        architecture,
        os: "linux",
        config: { Cmd: ["/bin/sh"] },
        rootfs: { type: "layers", diff_ids: [sha256(tarBytes)] },
      }),
    );
    return put(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_MANIFEST,
        config: {
          mediaType: "application/vnd.oci.image.config.v1+json",
          digest: config.digest,
          size: config.bytes.length,
        },
        layers: [
          { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: layer.digest, size: layer.bytes.length },
        ],
      }),
    );
  };
  const manifest = image("amd64");
  const arm64 = image("arm64");
  const entry = (b: Blob, architecture: string) => ({
    mediaType: OCI_MANIFEST,
    digest: b.digest,
    size: b.bytes.length,
    platform: { architecture, os: "linux" },
  });
  const index = put(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [entry(manifest, "amd64"), entry(arm64, "arm64")],
    }),
  );
  const ref = (b: Blob, mediaType: string, tag: string) => ({
    mediaType,
    digest: b.digest,
    size: b.bytes.length,
    annotations: { "org.opencontainers.image.ref.name": tag },
  });
  writeFileSync(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [ref(manifest, OCI_MANIFEST, "v1"), ref(index, OCI_INDEX, "multi")],
    }),
  );
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  return { dir, layer, manifest, index, arm64 };
}

const work = mkdtempSync(join(tmpdir(), "tsminc-registry-test-"));
/** An empty home and runtime dir: no auth file of this machine's user is found. */
const isolated = { HOME: join(work, "home"), XDG_RUNTIME_DIR: join(work, "run") };
const anonymous: RegistryOptions = { tlsVerify: true, caFile: undefined, authFile: undefined, env: isolated };
let layout: Layout;
let seq = 0;
const freshDir = () => {
  const d = join(work, `out-${++seq}`);
  mkdirSync(d);
  return d;
};

/** The error `p` rejects with, as a MincError. */
async function mincError(p: Promise<unknown>): Promise<MincError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof MincError, `not a MincError: ${String(err)}`);
    return err;
  }
  assert.fail("it did not fail");
}

/** Polls `ok` every 20 ms until it is true; fails after `ms`. */
async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    assert.ok(Date.now() < end, `${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The registry client in a child node process, downloading one blob; resolves with the child. */
function blobInChild(host: string, digest: string, size: number, dest: string) {
  const code = `
    const { registryClient } = await import(process.env.T_MODULE);
    const c = registryClient(process.env.T_HOST, "test/image", { tlsVerify: true, caFile: undefined, authFile: undefined, env: {} });
    await c.blob(process.env.T_DIGEST, Number(process.env.T_SIZE), process.env.T_DEST);
  `;
  const env = {
    ...process.env,
    ...isolated,
    T_MODULE: new URL("../../src/host/registry.js", import.meta.url).href,
    T_HOST: host,
    T_DIGEST: digest,
    T_SIZE: String(size),
    T_DEST: dest,
  };
  return spawn(process.execPath, ["--input-type=module", "-e", code], { env, stdio: ["ignore", "ignore", "pipe"] });
}

before(() => {
  layout = makeLayout(work);
});
after(() => {
  rmSync(work, { recursive: true, force: true });
});

describe("registry auth, pure", () => {
  test("WWW-Authenticate: quoted values with commas, several challenges", () => {
    assert.deepEqual(
      parseWwwAuthenticate(
        'Bearer realm="https://auth.example/token",service="reg, one",scope="repository:a/b:pull,push", Basic realm="x \\"y\\""',
      ),
      [
        {
          scheme: "bearer",
          params: { realm: "https://auth.example/token", service: "reg, one", scope: "repository:a/b:pull,push" },
        },
        { scheme: "basic", params: { realm: 'x "y"' } },
      ],
    );
    assert.deepEqual(parseWwwAuthenticate("Basic realm=tsminc"), [{ scheme: "basic", params: { realm: "tsminc" } }]);
  });

  test("auth file keys: host:port, URLs, paths, docker.io aliases, helpers", () => {
    const auth = (u: string) => ({ auth: Buffer.from(`${u}:pw`).toString("base64") });
    const file = (auths: object, extra: object = {}) => JSON.stringify({ auths, ...extra });
    const user = (json: string, host: string, repo = "a/b") => {
      const m = credentialsIn(json, host, repo);
      return m.kind === "auth" ? m.user : m.kind;
    };
    assert.equal(user(file({ "127.0.0.1:5000": auth("plain") }), "127.0.0.1:5000"), "plain");
    assert.equal(user(file({ "https://127.0.0.1:5000": auth("url") }), "127.0.0.1:5000"), "url");
    assert.equal(user(file({ "http://127.0.0.1:5000/v1/": auth("v1") }), "127.0.0.1:5000"), "v1");
    assert.equal(user(file({ "127.0.0.1:5000": auth("x") }), "127.0.0.1:5001"), "none");
    assert.equal(user(file({ "https://index.docker.io/v1/": auth("hub") }), "registry-1.docker.io"), "hub");
    assert.equal(user(file({ "docker.io": auth("hub") }), "docker.io", "library/busybox"), "hub");
    assert.equal(user(file({ "quay.io": auth("all"), "quay.io/a": auth("ns") }), "quay.io"), "ns");
    assert.equal(user(file({ "quay.io": auth("all"), "quay.io/c": auth("ns") }), "quay.io"), "all");
    assert.deepEqual(credentialsIn(file({ "quay.io": {} }, { credsStore: "desktop" }), "quay.io", "a"), {
      kind: "helper",
      helper: "desktop",
    });
    assert.deepEqual(credentialsIn(file({}, { credHelpers: { "quay.io": "ecr" } }), "quay.io", "a"), {
      kind: "helper",
      helper: "ecr",
    });
    assert.equal(credentialsIn("{", "quay.io", "a").kind, "invalid");
  });

  test("auth file search order", () => {
    assert.deepEqual(authFileSearch("/x.json", { REGISTRY_AUTH_FILE: "/r.json", XDG_RUNTIME_DIR: "/run/u" }, "/h", 7), [
      "/x.json",
      "/r.json",
      "/run/u/containers/auth.json",
      "/h/.config/containers/auth.json",
      "/h/.docker/config.json",
    ]);
    assert.deepEqual(authFileSearch(undefined, { DOCKER_CONFIG: "/dc" }, "/h", 7), [
      "/run/containers/7/auth.json",
      "/h/.config/containers/auth.json",
      "/dc/config.json",
    ]);
  });
});

describe("registry client against docker-registry", { timeout: 120_000 }, () => {
  let plain: TestRegistry;
  before(async () => {
    plain = await startRegistry();
    await pushLayout(layout.dir, "v1", plain, "test/image:v1");
    await pushLayout(layout.dir, "multi", plain, "test/image:multi");
  });
  after(() => plain.stop());

  test("a manifest by tag and by digest, an index and its image", async () => {
    const c = registryClient(plain.host, "test/image", anonymous);
    const byTag = await c.manifest("v1", ACCEPT);
    assert.equal(byTag.digest, layout.manifest.digest);
    assert.equal(byTag.mediaType, OCI_MANIFEST);
    assert.ok(byTag.bytes.equals(layout.manifest.bytes));
    const byDigest = await c.manifest(layout.manifest.digest, ACCEPT);
    assert.ok(byDigest.bytes.equals(layout.manifest.bytes));
    const index = await c.manifest("multi", ACCEPT);
    assert.equal(index.mediaType, OCI_INDEX);
    assert.equal(index.digest, layout.index.digest);
    const arm = await c.manifest(layout.arm64.digest, ACCEPT);
    assert.equal(arm.digest, layout.arm64.digest);
  });

  test("a blob: fetched, verified, kept; progress reported; nothing else left", async () => {
    const dir = freshDir();
    const dest = join(dir, "layer");
    const seen: number[] = [];
    const c = registryClient(plain.host, "test/image", anonymous);
    await c.blob(layout.layer.digest, layout.layer.bytes.length, dest, (received, total) => {
      assert.equal(total, layout.layer.bytes.length);
      seen.push(received);
    });
    assert.ok(readFileSync(dest).equals(layout.layer.bytes));
    assert.equal(seen.at(-1), layout.layer.bytes.length);
    assert.deepEqual(readdirSync(dir), ["layer"]);
  });

  test("concurrent downloads of one blob, in this process and in three others, all end with the right file", async () => {
    // The proxy answers none of the four GETs (one from this process, one from each child) until all came.
    const proxy = await startProxy(plain, { holdDigest: { digest: layout.layer.digest, requests: 4 } });
    const dir = freshDir();
    const dest = join(dir, "layer");
    const size = layout.layer.bytes.length;
    const children = [1, 2, 3].map(() => blobInChild(proxy.host, layout.layer.digest, size, dest));
    const c = registryClient(proxy.host, "test/image", anonymous);
    const d = registryClient(proxy.host, "test/image", anonymous);
    await Promise.all([
      c.blob(layout.layer.digest, size, dest),
      c.blob(layout.layer.digest, size, dest),
      d.blob(layout.layer.digest, undefined, dest),
      ...children.map(async (child) => {
        let err = "";
        child.stderr.on("data", (x: Buffer) => (err += x.toString()));
        const [code] = (await once(child, "exit")) as [number | null];
        assert.equal(code, 0, err);
      }),
    ]);
    await proxy.stop();
    assert.ok(readFileSync(dest).equals(layout.layer.bytes));
    assert.deepEqual(readdirSync(dir), ["layer"]);
    assert.equal(proxy.requests.filter((r) => r.method === "GET" && r.path.endsWith(layout.layer.digest)).length, 4);
  });

  test("an unknown tag, repository or digest is a registry error naming it", async () => {
    const c = registryClient(plain.host, "test/image", anonymous);
    const tag = await mincError(c.manifest("nope", ACCEPT));
    assert.equal(tag.code, "registry");
    assert.match(tag.message, /no tag nope/);
    assert.match(tag.message, /test\/image/);
    assert.match(tag.hint ?? "", /skopeo list-tags docker:\/\/127\.0\.0\.1:\d+\/test\/image/);
    const repo = await mincError(registryClient(plain.host, "test/other", anonymous).manifest("v1", ACCEPT));
    assert.equal(repo.code, "registry");
    assert.match(repo.message, /test\/other/);
    const missing = sha256("nothing");
    const digest = await mincError(c.manifest(missing, ACCEPT));
    assert.match(digest.message, new RegExp(`no manifest ${missing}`));
    const blob = await mincError(c.blob(missing, undefined, join(freshDir(), "x")));
    assert.equal(blob.code, "registry");
    assert.match(blob.message, /no blob/);
  });

  test("an unreachable registry is a registry error with a hint", async () => {
    const host = `127.0.0.1:${await freePort()}`;
    const err = await mincError(registryClient(host, "test/image", anonymous).manifest("v1", ACCEPT));
    assert.equal(err.code, "registry");
    assert.match(err.message, new RegExp(`cannot reach ${host}`));
    assert.ok(err.hint);
  });

  test("bytes corrupted on the way: a checksum error, no file, no partial", async () => {
    const proxy = await startProxy(plain, { corruptDigest: layout.layer.digest });
    try {
      const dir = freshDir();
      const c = registryClient(proxy.host, "test/image", anonymous);
      const err = await mincError(c.blob(layout.layer.digest, layout.layer.bytes.length, join(dir, "layer")));
      assert.equal(err.code, "checksum");
      assert.match(err.message, new RegExp(layout.layer.digest));
      assert.match(err.message, /other bytes/);
      assert.deepEqual(readdirSync(dir), []);
      const proxied = await startProxy(plain, { corruptDigest: layout.manifest.digest });
      try {
        const m = await mincError(
          registryClient(proxied.host, "test/image", anonymous).manifest(layout.manifest.digest, ACCEPT),
        );
        assert.equal(m.code, "checksum");
      } finally {
        await proxied.stop();
      }
    } finally {
      await proxy.stop();
    }
  });

  test("a stalled download killed midway is resumed by the next one with a Range", async () => {
    const stallAt = 100_000;
    const proxy = await startProxy(plain, { stallDigestAfter: { digest: layout.layer.digest, bytes: stallAt } });
    try {
      const dir = freshDir();
      const dest = join(dir, "layer");
      const child = blobInChild(proxy.host, layout.layer.digest, layout.layer.bytes.length, dest);
      const exited = once(child, "exit");
      const partial = `layer.partial.${String(child.pid)}.1`;
      await until("the child's partial download grows to the stall", () => {
        const at = join(dir, partial);
        return existsSync(at) && statSync(at).size === stallAt;
      });
      child.kill("SIGKILL");
      await exited;
      const c = registryClient(proxy.host, "test/image", anonymous);
      await c.blob(layout.layer.digest, layout.layer.bytes.length, dest);
      assert.ok(readFileSync(dest).equals(layout.layer.bytes));
      assert.deepEqual(readdirSync(dir), ["layer"]);
      const gets = proxy.requests.filter((r) => r.method === "GET" && r.path.endsWith(layout.layer.digest));
      assert.deepEqual(
        gets.map((r) => r.range),
        [undefined, `bytes=${stallAt}-`],
      );
    } finally {
      await proxy.stop();
    }
  });

  test("a stalled body is cut by the idle timeout and resumed within one call", async () => {
    const stallAt = 50_000;
    const proxy = await startProxy(plain, { stallDigestAfter: { digest: layout.layer.digest, bytes: stallAt } });
    try {
      const dir = freshDir();
      const c = registryClient(proxy.host, "test/image", { ...anonymous, idleTimeoutMs: 500 });
      await c.blob(layout.layer.digest, layout.layer.bytes.length, join(dir, "layer"));
      assert.ok(readFileSync(join(dir, "layer")).equals(layout.layer.bytes));
      const gets = proxy.requests.filter((r) => r.method === "GET" && r.path.endsWith(layout.layer.digest));
      assert.deepEqual(
        gets.map((r) => r.range),
        [undefined, `bytes=${stallAt}-`],
      );
    } finally {
      await proxy.stop();
    }
  });
});

describe("registry client resuming leftovers", { timeout: 120_000 }, () => {
  let plain: TestRegistry;
  let proxy: TestProxy;
  before(async () => {
    plain = await startRegistry();
    await pushLayout(layout.dir, "v1", plain, "test/image:v1");
    proxy = await startProxy(plain, {});
  });
  after(async () => {
    await proxy.stop();
    await plain.stop();
  });
  const rangesOf = (from: number) =>
    proxy.requests
      .slice(from)
      .filter((r) => r.method === "GET" && r.path.endsWith(layout.layer.digest))
      .map((r) => r.range);

  test("a parked dest.partial is resumed with a Range", async () => {
    const dir = freshDir();
    writeFileSync(join(dir, "layer.partial"), layout.layer.bytes.subarray(0, 120_000));
    const from = proxy.requests.length;
    await registryClient(proxy.host, "test/image", anonymous).blob(layout.layer.digest, undefined, join(dir, "layer"));
    assert.ok(readFileSync(join(dir, "layer")).equals(layout.layer.bytes));
    assert.deepEqual(rangesOf(from), ["bytes=120000-"]);
    assert.deepEqual(readdirSync(dir), ["layer"]);
  });

  test("a registry answering a Range with 200: the download starts over from byte 0", async () => {
    const whole = await startProxy(plain, { ignoreRange: true });
    try {
      const dir = freshDir();
      writeFileSync(join(dir, "layer.partial"), layout.layer.bytes.subarray(0, 120_000));
      const c = registryClient(whole.host, "test/image", anonymous);
      await c.blob(layout.layer.digest, layout.layer.bytes.length, join(dir, "layer"));
      assert.ok(readFileSync(join(dir, "layer")).equals(layout.layer.bytes));
      const gets = whole.requests.filter((r) => r.method === "GET" && r.path.endsWith(layout.layer.digest));
      assert.deepEqual(
        gets.map((r) => r.range),
        ["bytes=120000-"],
      );
      assert.deepEqual(readdirSync(dir), ["layer"]);
    } finally {
      await whole.stop();
    }
  });

  test("a leftover of other bytes costs one clean download, not an error", async () => {
    const dir = freshDir();
    writeFileSync(join(dir, "layer.partial"), randomBytes(1000));
    const from = proxy.requests.length;
    await registryClient(proxy.host, "test/image", anonymous).blob(
      layout.layer.digest,
      layout.layer.bytes.length,
      join(dir, "layer"),
    );
    assert.ok(readFileSync(join(dir, "layer")).equals(layout.layer.bytes));
    assert.deepEqual(rangesOf(from), ["bytes=1000-", undefined]);
    assert.deepEqual(readdirSync(dir), ["layer"]);
  });
});

describe("registry client over TLS with Basic auth", { timeout: 120_000 }, () => {
  const alice = { user: "alice", pass: "s3cret:with-colon" };
  let reg: TestRegistry;
  let good: string;
  before(async () => {
    reg = await startRegistry({ tls: true, users: [alice] });
    await pushLayout(layout.dir, "v1", reg, "test/image:v1", alice);
    good = writeAuthFile(join(work, "good-auth"), reg.host, alice.user, alice.pass);
  });
  after(() => reg.stop());

  test("the right credentials, the test CA: manifest and blob", async () => {
    const c = registryClient(reg.host, "test/image", { ...anonymous, caFile: reg.caFile, authFile: good });
    assert.equal((await c.manifest("v1", ACCEPT)).digest, layout.manifest.digest);
    const dest = join(freshDir(), "layer");
    await c.blob(layout.layer.digest, layout.layer.bytes.length, dest);
    assert.ok(readFileSync(dest).equals(layout.layer.bytes));
  });

  test("credentials found through $DOCKER_CONFIG, certificate unchecked with tlsVerify false", async () => {
    const env = { ...isolated, DOCKER_CONFIG: join(work, "good-auth") };
    const c = registryClient(reg.host, "test/image", { ...anonymous, tlsVerify: false, env });
    assert.equal((await c.manifest("v1", ACCEPT)).digest, layout.manifest.digest);
  });

  test("wrong credentials: a registry error naming the auth file", async () => {
    const bad = writeAuthFile(join(work, "bad-auth"), reg.host, alice.user, "wrong");
    const c = registryClient(reg.host, "test/image", { ...anonymous, caFile: reg.caFile, authFile: bad });
    const err = await mincError(c.manifest("v1", ACCEPT));
    assert.equal(err.code, "registry");
    assert.equal(err.message, `${reg.host} refused the credentials for test/image from ${bad}`);
    assert.match(err.hint ?? "", /skopeo login/);
  });

  test("no credentials: a registry error naming where it looked", async () => {
    const c = registryClient(reg.host, "test/image", { ...anonymous, caFile: reg.caFile });
    const err = await mincError(c.manifest("v1", ACCEPT));
    assert.equal(err.code, "registry");
    assert.ok(err.message.includes(join(isolated.HOME, ".docker", "config.json")), err.message);
    assert.ok(err.message.includes(join(isolated.XDG_RUNTIME_DIR, "containers", "auth.json")), err.message);
  });

  test("credentials only in a credential helper: said so", async () => {
    const dir = join(work, "helper-auth");
    mkdirSync(dir);
    writeFileSync(join(dir, "config.json"), JSON.stringify({ auths: { [reg.host]: {} }, credsStore: "desktop" }));
    const c = registryClient(reg.host, "test/image", {
      ...anonymous,
      caFile: reg.caFile,
      authFile: join(dir, "config.json"),
    });
    const err = await mincError(c.manifest("v1", ACCEPT));
    assert.match(err.message, /docker-credential-desktop/);
  });

  test("a certificate of an unknown CA: a registry error pointing at --tls-verify and --cert-file", async () => {
    const c = registryClient(reg.host, "test/image", { ...anonymous, authFile: good });
    const err = await mincError(c.manifest("v1", ACCEPT));
    assert.equal(err.code, "registry");
    assert.match(err.message, /certificate/);
    assert.equal(err.hint, "--tls-verify=false, or --cert-file CA.pem");
  });
});

describe("registry client with token auth, and blobs redirected to storage", { timeout: 120_000 }, () => {
  const bob = { user: "bob", pass: "hunter2" };
  let reg: TestRegistry;
  let proxy: TestProxy;
  let good: string;
  before(async () => {
    reg = await startRegistry({ token: true, users: [bob] });
    await pushLayout(layout.dir, "v1", reg, "test/image:v1", bob);
    proxy = await startProxy(reg, { redirectBlobs: true });
    good = writeAuthFile(join(work, "bob-auth"), proxy.host, bob.user, bob.pass);
  });
  after(async () => {
    await proxy.stop();
    await reg.stop();
  });

  test("a token for the right credentials; the storage host gets no Authorization", async () => {
    const c = registryClient(proxy.host, "test/image", { ...anonymous, authFile: good });
    const [m, dest] = [await c.manifest("v1", ACCEPT), join(freshDir(), "layer")];
    assert.equal(m.digest, layout.manifest.digest);
    await c.blob(layout.layer.digest, layout.layer.bytes.length, dest);
    assert.ok(readFileSync(dest).equals(layout.layer.bytes));
    const toProxy = proxy.requests.filter((r) => r.via === "proxy" && r.path.endsWith(layout.layer.digest));
    assert.match(toProxy.at(-1)?.authorization ?? "", /^Bearer /);
    const toStorage = proxy.requests.filter((r) => r.via === "storage");
    assert.equal(toStorage.length, 1);
    assert.equal(toStorage[0]?.authorization, undefined);
  });

  test("wrong credentials at the token server: a registry error naming the auth file", async () => {
    const bad = writeAuthFile(join(work, "bob-bad"), proxy.host, bob.user, "nope");
    const err = await mincError(
      registryClient(proxy.host, "test/image", { ...anonymous, authFile: bad }).manifest("v1", ACCEPT),
    );
    assert.equal(err.code, "registry");
    assert.match(err.message, new RegExp(`refused the credentials for test/image from ${bad}`));
  });

  test("an anonymous token is not enough: a registry error naming where it looked", async () => {
    const err = await mincError(registryClient(proxy.host, "test/image", anonymous).manifest("v1", ACCEPT));
    assert.equal(err.code, "registry");
    assert.match(err.message, /wants credentials for test\/image, and none are in/);
  });
});
