// A real docker-registry on 127.0.0.1 for the tests (plain or TLS, htpasswd or token auth), skopeo pushes, a faulty proxy.
import { execFileSync, spawn } from "node:child_process";
import { randomBytes, sign } from "node:crypto";
import { once } from "node:events";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./net-probe.js";

export interface TestUser {
  readonly user: string;
  readonly pass: string;
}

export interface TestRegistry {
  /** "127.0.0.1:PORT" */
  readonly host: string;
  /** the CA that signed its certificate (tls only) */
  readonly caFile: string | undefined;
  /** a folder holding only ca.crt, for skopeo --dest-cert-dir (tls only) */
  readonly certDir: string | undefined;
  stop(): Promise<void>;
}

export interface RegistryStartOptions {
  readonly tls?: boolean;
  /** htpasswd auth (or, with token, the users the token server knows) */
  readonly users?: readonly TestUser[];
  /** Bearer token auth: a token server of ours on 127.0.0.1 issues the JWTs the registry verifies */
  readonly token?: boolean;
}

const ISSUER = "tsminc-test-issuer";
const SERVICE = "tsminc-test-registry";

/** Runs openssl in `cwd` with `args` (split on spaces). */
function openssl(cwd: string, args: string): void {
  execFileSync("openssl", args.split(/\s+/), { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

const EC = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";

/** A CA (ca.crt), and a certificate for 127.0.0.1 it signed (server.crt, SAN IP:127.0.0.1). */
function makeCerts(dir: string): void {
  const ca = "basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign";
  openssl(dir, `req -x509 ${EC} -keyout ca.key -out ca.crt -days 2 -subj /CN=tsminc-test-CA -addext ${ca}`);
  openssl(dir, `req ${EC} -keyout server.key -out server.csr -subj /CN=127.0.0.1`);
  const ext = ["subjectAltName=IP:127.0.0.1", "basicConstraints=CA:FALSE", "extendedKeyUsage=serverAuth"];
  writeFileSync(join(dir, "server.ext"), `${ext.join("\n")}\n`);
  openssl(
    dir,
    "x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile server.ext",
  );
}

/** The tail of a log file, for an error message. */
function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** Resolves once `url` answers anything over HTTP(S); rejects after `ms` or when `exited()` says so. */
async function waitForHttp(url: string, ca: string | undefined, exited: () => boolean, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    const answered = await new Promise<boolean>((resolve) => {
      const req = (url.startsWith("https:") ? httpsRequest : httpRequest)(
        url,
        ca === undefined ? {} : { ca },
        (res) => {
          res.resume();
          resolve(true);
        },
      );
      req.on("error", () => {
        resolve(false);
      });
      req.end();
    });
    if (answered) return;
    if (exited()) throw new Error("it exited");
    if (Date.now() > until) throw new Error(`${url} did not answer in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString("base64url");
}

/** A JWT for distribution's token auth: RS256, the signing certificate in x5c (it is the registry's root). */
function jwt(keyPem: string, certPem: string, sub: string, access: unknown[]): string {
  const der = certPem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  const now = Math.floor(Date.now() / 1000);
  const header = b64url(JSON.stringify({ typ: "JWT", alg: "RS256", x5c: [der] }));
  const claims = {
    iss: ISSUER,
    sub,
    aud: SERVICE,
    exp: now + 600,
    nbf: now - 60,
    iat: now,
    jti: randomBytes(8).toString("hex"),
    access,
  };
  const body = `${header}.${b64url(JSON.stringify(claims))}`;
  return `${body}.${b64url(sign("sha256", Buffer.from(body), keyPem))}`;
}

/** The token server: Basic credentials of a known user get the scopes asked for; none get an empty token. */
async function startTokenServer(
  dir: string,
  users: readonly TestUser[],
): Promise<{ realm: string; bundle: string; server: Server }> {
  openssl(
    dir,
    "req -x509 -newkey rsa:2048 -nodes -keyout token.key -out token.crt -days 2 -subj /CN=tsminc-token-issuer",
  );
  const keyPem = readFileSync(join(dir, "token.key"), "utf8");
  const certPem = readFileSync(join(dir, "token.crt"), "utf8");
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? "")?.[1];
    let sub = "";
    if (basic !== undefined) {
      const [user, ...rest] = Buffer.from(basic, "base64").toString().split(":");
      if (!users.some((u) => u.user === user && u.pass === rest.join(":"))) {
        res.writeHead(401, { "content-type": "application/json" }).end('{"details":"bad credentials"}');
        return;
      }
      sub = user ?? "";
    }
    const access =
      sub === ""
        ? []
        : url.searchParams.getAll("scope").flatMap((scope) => {
            const [type, name, actions] = scope.split(":");
            return type === "repository" && name && actions ? [{ type, name, actions: actions.split(",") }] : [];
          });
    const token = jwt(keyPem, certPem, sub, access);
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token, expires_in: 600 }));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return { realm: `http://127.0.0.1:${port}/token`, bundle: join(dir, "token.crt"), server };
}

export async function startRegistry(opts: RegistryStartOptions = {}): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), "tsminc-registry-"));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const config = [
    "version: 0.1",
    "log:",
    "  level: info",
    "storage:",
    "  filesystem:",
    `    rootdirectory: ${dir}/data`,
  ];
  config.push("http:", `  addr: ${host}`, `  secret: ${randomBytes(16).toString("hex")}`);
  let caFile: string | undefined;
  let certDir: string | undefined;
  if (opts.tls === true) {
    makeCerts(dir);
    caFile = join(dir, "ca.crt");
    certDir = join(dir, "certs");
    mkdirSync(certDir);
    writeFileSync(join(certDir, "ca.crt"), readFileSync(caFile));
    config.push("  tls:", `    certificate: ${dir}/server.crt`, `    key: ${dir}/server.key`);
  }
  let tokenServer: Server | undefined;
  if (opts.token === true) {
    const t = await startTokenServer(dir, opts.users ?? []);
    tokenServer = t.server;
    config.push(
      "auth:",
      "  token:",
      `    realm: ${t.realm}`,
      `    service: ${SERVICE}`,
      `    issuer: ${ISSUER}`,
      `    rootcertbundle: ${t.bundle}`,
    );
  } else if (opts.users !== undefined) {
    const lines = opts.users.map((u) =>
      execFileSync("htpasswd", ["-Bbn", u.user, u.pass], { encoding: "utf8" }).trim(),
    );
    writeFileSync(join(dir, "htpasswd"), `${lines.join("\n")}\n`);
    config.push("auth:", "  htpasswd:", "    realm: tsminc-test", `    path: ${dir}/htpasswd`);
  }
  writeFileSync(join(dir, "config.yml"), `${config.join("\n")}\n`);
  const log = join(dir, "registry.log");
  const fd = openSync(log, "w");
  const child = spawn("docker-registry", ["serve", join(dir, "config.yml")], { stdio: ["ignore", fd, fd] });
  closeSync(fd);
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.on("exit", () => {
      exited = true;
      resolve();
    });
  });
  child.on("error", () => (exited = true));
  const stop = async () => {
    if (!exited) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exit;
      clearTimeout(timer);
    }
    tokenServer?.closeAllConnections();
    tokenServer?.close();
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `${opts.tls === true ? "https" : "http"}://${host}/v2/`;
  try {
    await waitForHttp(url, caFile === undefined ? undefined : readFileSync(caFile, "utf8"), () => exited);
  } catch (err) {
    const why = `docker-registry did not start on ${host} (${(err as Error).message}):\n${tail(log)}`;
    await stop();
    throw new Error(why);
  }
  return { host, caFile, certDir, stop };
}

/**
 * Pushes the image `tag` of an OCI layout to `reg` as `dest` ("name:tag") with skopeo: a multi-arch
 * index with all its images, digests preserved (the registry holds exactly the layout's bytes).
 */
export async function pushLayout(
  layout: string,
  tag: string,
  reg: TestRegistry,
  dest: string,
  creds?: TestUser,
): Promise<void> {
  const args = ["--insecure-policy", "copy", "--quiet", "--all", "--preserve-digests"];
  args.push(reg.certDir === undefined ? "--dest-tls-verify=false" : "--dest-tls-verify=true");
  if (reg.certDir !== undefined) args.push("--dest-cert-dir", reg.certDir);
  args.push(...(creds === undefined ? ["--dest-no-creds"] : ["--dest-creds", `${creds.user}:${creds.pass}`]));
  args.push(`oci:${layout}:${tag}`, `docker://${reg.host}/${dest}`);
  const child = spawn("skopeo", args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const [code] = (await once(child, "exit")) as [number | null];
  if (code !== 0) throw new Error(`skopeo ${args.join(" ")} failed (${String(code)}):\n${output}`);
}

/** docker's config.json in `dir` with credentials for `host`; returns its path. */
export function writeAuthFile(dir: string, host: string, user: string, pass: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "config.json");
  const auth = Buffer.from(`${user}:${pass}`).toString("base64");
  writeFileSync(file, JSON.stringify({ auths: { [host]: { auth } } }, null, 2));
  return file;
}

export interface ProxiedRequest {
  readonly method: string;
  readonly path: string;
  readonly range: string | undefined;
  readonly authorization: string | undefined;
  /** "proxy": the registry's address; "storage": where redirectBlobs sent the client */
  readonly via: "proxy" | "storage";
}

export interface TestProxy {
  /** "127.0.0.1:PORT", plain http */
  readonly host: string;
  readonly requests: ProxiedRequest[];
  stop(): Promise<void>;
}

export interface ProxyOptions {
  /** this blob's (or manifest's) body is sent with every byte flipped: same length, other bytes */
  readonly corruptDigest?: string;
  /** the first GET of this blob sends `bytes` bytes, then nothing more on an open socket */
  readonly stallDigestAfter?: { readonly digest: string; readonly bytes: number };
  /**
   * An authorized GET of a blob is answered 307 to another port (another host:port, as a storage
   * backend would be): there a one-time ticket in the URL stands for the credentials.
   */
  readonly redirectBlobs?: boolean;
  /** Range headers are dropped on the way: the registry answers 200 with the whole body */
  readonly ignoreRange?: boolean;
  /** the GETs of this blob wait until this many have come, then all are answered at once */
  readonly holdDigest?: { readonly digest: string; readonly requests: number };
}

const DIGEST_IN_PATH = /\/(?:blobs|manifests)\/(sha256:[a-f0-9]{64})$/;

/** A plain-http proxy on 127.0.0.1 in front of a plain-http registry (a TestRegistry or "host:port"). */
export async function startProxy(upstream: TestRegistry | string, opts: ProxyOptions): Promise<TestProxy> {
  const [upHost, upPort] = (typeof upstream === "string" ? upstream : upstream.host).split(":");
  const requests: ProxiedRequest[] = [];
  const tickets = new Map<string, { path: string; authorization: string }>();
  const stall = opts.stallDigestAfter;
  const hold = opts.holdDigest;
  let held: (() => void)[] | undefined = [];
  let stalled = false;
  let storagePort = 0;

  const forward = (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    headers: Record<string, string | string[] | undefined>,
  ) => {
    const digest = DIGEST_IN_PATH.exec(path.split("?")[0] ?? "")?.[1];
    const up = httpRequest({ host: upHost, port: Number(upPort), method: req.method, path, headers }, (answer) => {
      const status = answer.statusCode ?? 502;
      res.writeHead(status, answer.headers);
      const ok = status === 200 || status === 206;
      if (ok && req.method === "GET" && digest !== undefined && digest === opts.corruptDigest) {
        answer.on("data", (chunk: Buffer) => res.write(chunk.map((b) => b ^ 0xff)));
        answer.on("end", () => res.end());
      } else if (ok && req.method === "GET" && stall !== undefined && digest === stall.digest && !stalled) {
        stalled = true;
        let left = stall.bytes;
        // The rest of the body is read and dropped: the client's socket stays open, and silent.
        answer.on("data", (chunk: Buffer) => {
          if (left > 0) res.write(chunk.subarray(0, left));
          left -= Math.min(left, chunk.length);
        });
      } else answer.pipe(res);
    });
    up.on("error", () => res.destroy());
    req.pipe(up);
  };

  const proxy = createServer((req, res) => {
    const path = req.url ?? "/";
    const authorization = req.headers.authorization;
    requests.push({ method: req.method ?? "", path, range: req.headers.range, authorization, via: "proxy" });
    if (
      opts.redirectBlobs === true &&
      req.method === "GET" &&
      authorization !== undefined &&
      /\/blobs\/sha256:/.test(path)
    ) {
      const ticket = randomBytes(8).toString("hex");
      tickets.set(ticket, { path, authorization });
      res.writeHead(307, { location: `http://127.0.0.1:${storagePort}/storage/${ticket}` }).end();
      return;
    }
    if (
      hold !== undefined &&
      req.method === "GET" &&
      DIGEST_IN_PATH.exec(path)?.[1] === hold.digest &&
      held !== undefined
    ) {
      held.push(() => {
        forward(req, res, path, req.headers);
      });
      if (held.length < hold.requests) return;
      const release = held;
      held = undefined;
      for (const go of release) go();
      return;
    }
    const headers = { ...req.headers };
    if (opts.ignoreRange === true) delete headers.range;
    forward(req, res, path, headers);
  });
  const storage = createServer((req, res) => {
    const path = req.url ?? "/";
    const authorization = req.headers.authorization;
    requests.push({ method: req.method ?? "", path, range: req.headers.range, authorization, via: "storage" });
    const ticket = tickets.get(path.replace(/^\/storage\//, ""));
    if (ticket === undefined) {
      res.writeHead(403).end();
      return;
    }
    forward(req, res, ticket.path, {
      ...req.headers,
      authorization: ticket.authorization,
      host: `${upHost}:${upPort}`,
    });
  });
  proxy.listen(0, "127.0.0.1");
  storage.listen(0, "127.0.0.1");
  await Promise.all([once(proxy, "listening"), once(storage, "listening")]);
  storagePort = (storage.address() as AddressInfo).port;
  const { port } = proxy.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    stop: async () => {
      for (const s of [proxy, storage]) s.closeAllConnections();
      await Promise.all([proxy, storage].map((s) => new Promise((r) => s.close(r))));
    },
  };
}
