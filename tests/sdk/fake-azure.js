// kvfence SDK test: fake Azure endpoints in one process, for the real Azure
// SDK for JavaScript to talk to (tests/integration/t-sdk-*). Run in the
// server network namespace; answers on every local address:
//   HTTPS :443  Entra ID (login.*), Key Vault (*.vault.*), ARM (management.*)
//               chosen by the Host header; one certificate for all names,
//               signed by the test's throwaway CA
//   HTTP  :80   IMDS on 169.254.169.254, the WireServer on 168.63.129.16
//   HTTP  :32526 the WireServer
// Usage: node fake-azure.js CERT KEY
// Environment: KVF_TENANT, KVF_CLIENT_ID, KVF_CLIENT_SECRET, KVF_VAULT,
// KVF_SUBSCRIPTION. Logs one line per request to stdout, "ready" once every
// port listens. Only what the SDK sends is answered; anything else is a
// 400 or 404 that the flow reports.
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const http = require("node:http");
const https = require("node:https");

const [certFile, keyFile] = process.argv.slice(2);
const env = (n) => {
  const v = process.env[n];
  if (!v) throw new Error(`fake-azure: ${n} is not set`);
  return v;
};
const TENANT = env("KVF_TENANT");
const CLIENT_ID = env("KVF_CLIENT_ID");
const CLIENT_SECRET = env("KVF_CLIENT_SECRET");
const VAULT = env("KVF_VAULT");
const SUBSCRIPTION = env("KVF_SUBSCRIPTION");
const MI_CLIENT_ID = "7b0b2b2e-0000-4000-8000-00000000a11d";

// The clouds: sign-in hosts (MSAL's aliases), the vault suffix and the
// host the vault's 401 challenge names, the ARM host.
const CLOUDS = {
  public: {
    login: ["login.microsoftonline.com", "login.windows.net", "login.microsoft.com", "sts.windows.net"],
    vaultSuffix: "vault.azure.net",
    challengeHost: "login.microsoftonline.com",
    arm: "management.azure.com",
  },
  china: {
    login: ["login.partner.microsoftonline.cn", "login.chinacloudapi.cn"],
    vaultSuffix: "vault.azure.cn",
    challengeHost: "login.chinacloudapi.cn",
    arm: "management.chinacloudapi.cn",
  },
  usgov: {
    login: ["login.microsoftonline.us", "login.usgovcloudapi.net"],
    vaultSuffix: "vault.usgovcloudapi.net",
    challengeHost: "login.microsoftonline.us",
    arm: "management.usgovcloudapi.net",
  },
};
// A secret whose first request is challenged with login.windows.net, as
// Key Vault has long done: current SDKs take only the tenant from it.
const LEGACY_CHALLENGE_SECRET = "legacy-challenge";

const log = (line) => process.stdout.write(line + "\n");

// ---------------------------------------------------------------- tokens
// JWT-shaped, HMAC-signed by this process: a vault or ARM accepts only a
// token issued here, for its own audience and the test's tenant.
const tokenKey = crypto.randomBytes(32);
const b64u = (b) => Buffer.from(b).toString("base64url");

function tokenIssue(aud, sub, idp) {
  const now = Math.floor(Date.now() / 1000);
  const head = b64u(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = b64u(JSON.stringify({ aud, tid: TENANT, sub, idp, iat: now, nbf: now, exp: now + 3600 }));
  const sig = b64u(crypto.createHmac("sha256", tokenKey).update(`${head}.${body}`).digest());
  return `${head}.${body}.${sig}`;
}

// The token's claims if it is ours, for AUD and our tenant; else null.
function tokenCheck(authz, aud) {
  const m = /^Bearer (.+)$/.exec(authz || "");
  if (!m) return null;
  const [head, body, sig] = m[1].split(".");
  if (!sig) return null;
  const want = b64u(crypto.createHmac("sha256", tokenKey).update(`${head}.${body}`).digest());
  if (sig !== want) return null;
  const claims = JSON.parse(Buffer.from(body, "base64url").toString());
  const strip = (s) => s.replace(/\/+$/, "");
  if (strip(claims.aud) !== strip(aud) || claims.tid !== TENANT) return null;
  if (claims.exp < Date.now() / 1000) return null;
  return claims;
}

// ---------------------------------------------------------------- helpers
function send(res, status, body, headers = {}) {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, {
    "content-type": typeof body === "string" ? "text/plain" : "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    req.on("data", (c) => parts.push(c));
    req.on("end", () => resolve(Buffer.concat(parts).toString()));
    req.on("error", reject);
  });
}

function cloudOfLogin(host) {
  for (const [name, c] of Object.entries(CLOUDS)) if (c.login.includes(host)) return name;
  return null;
}

function cloudOfVault(host) {
  for (const [name, c] of Object.entries(CLOUDS)) {
    if (host === `${VAULT}.${c.vaultSuffix}`) return name;
  }
  return null;
}

function cloudOfArm(host) {
  for (const [name, c] of Object.entries(CLOUDS)) if (c.arm === host) return name;
  return null;
}

// ---------------------------------------------------------------- Entra ID
function openidConfig(host, tenant) {
  return {
    token_endpoint: `https://${host}/${tenant}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    jwks_uri: `https://${host}/${tenant}/discovery/v2.0/keys`,
    response_modes_supported: ["query", "fragment", "form_post"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
    scopes_supported: ["openid", "profile", "email", "offline_access"],
    issuer: `https://${host}/${tenant}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: "https://graph.microsoft.com/oidc/userinfo",
    authorization_endpoint: `https://${host}/${tenant}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `https://${host}/${tenant}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `https://${host}/${tenant}/oauth2/v2.0/logout`,
    claims_supported: ["sub", "iss", "aud", "exp", "iat", "nonce", "tid"],
    tenant_region_scope: "EU",
    cloud_instance_name: "microsoftonline.com",
  };
}

async function entra(req, res, url, host) {
  const cloud = cloudOfLogin(host);
  const seg = url.pathname.split("/").filter(Boolean);
  if (req.method === "GET" && url.pathname === "/common/discovery/instance") {
    const authz = url.searchParams.get("authorization_endpoint") || `https://${host}/common/oauth2/v2.0/authorize`;
    const tenant = new URL(authz).pathname.split("/")[1] || "common";
    return send(res, 200, {
      tenant_discovery_endpoint: `https://${host}/${tenant}/v2.0/.well-known/openid-configuration`,
      "api-version": "1.1",
      metadata: Object.values(CLOUDS).map((c) => ({
        preferred_network: c.login[0],
        preferred_cache: c.login[0] === "login.microsoftonline.com" ? "login.windows.net" : c.login[0],
        aliases: c.login,
      })),
    });
  }
  if (req.method === "GET" && seg.length === 4 && seg[1] === "v2.0" && seg[2] === ".well-known" && seg[3] === "openid-configuration") {
    return send(res, 200, openidConfig(host, seg[0]));
  }
  if (req.method === "POST" && seg.length === 4 && seg[1] === "oauth2" && seg[2] === "v2.0" && seg[3] === "token") {
    const form = new URLSearchParams(await readBody(req));
    const tenant = seg[0];
    const err = (code, desc) => send(res, code === "invalid_client" ? 401 : 400, {
      error: code, error_description: desc, error_codes: [7000215], timestamp: new Date().toISOString(),
      trace_id: crypto.randomUUID(), correlation_id: form.get("client-request-id") || crypto.randomUUID(),
    });
    if (tenant !== TENANT) return err("invalid_request", `AADSTS90002: Tenant '${tenant}' not found.`);
    if (form.get("grant_type") !== "client_credentials") return err("unsupported_grant_type", "AADSTS70003: grant_type not supported here.");
    if (form.get("client_id") !== CLIENT_ID || form.get("client_secret") !== CLIENT_SECRET) {
      return err("invalid_client", "AADSTS7000215: Invalid client secret provided.");
    }
    const scope = form.get("scope") || "";
    const resource = scope.split(" ").find((s) => s.endsWith("/.default"));
    if (!resource) return err("invalid_scope", `AADSTS1002012: The provided value for scope ${scope} is not valid.`);
    return send(res, 200, {
      token_type: "Bearer",
      expires_in: 3599,
      ext_expires_in: 3599,
      access_token: tokenIssue(resource.slice(0, -"/.default".length), CLIENT_ID, `https://${host}/${tenant}/`),
    });
  }
  void cloud;
  return send(res, 404, { error: "not_found", error_description: `fake Entra ID: no ${req.method} ${url.pathname}` });
}

// ---------------------------------------------------------------- Key Vault
const secrets = new Map([[LEGACY_CHALLENGE_SECRET, "followed-the-tenant-not-the-host"], ["kvf-read", "s3cret-from-the-vault"]]);
const signKey = crypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
const signJwk = signKey.publicKey.export({ format: "jwk" });
const KEY_NAME = "kvf-sign";
const KEY_VERSION = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
// DER prefix of a SHA-256 DigestInfo (RFC 8017, 9.2 note 1): RS256 over a
// digest the client computed.
const SHA256_DIGESTINFO = Buffer.from("3031300d060960864801650304020105000420", "hex");

function secretBundle(host, name) {
  const now = Math.floor(Date.now() / 1000);
  return {
    value: secrets.get(name),
    id: `https://${host}/secrets/${name}/5c1e5c1e5c1e5c1e5c1e5c1e5c1e5c1e`,
    attributes: { enabled: true, created: now, updated: now, recoveryLevel: "Recoverable+Purgeable", recoverableDays: 90 },
    tags: {},
  };
}

function keyBundle(host) {
  const now = Math.floor(Date.now() / 1000);
  return {
    key: {
      kid: `https://${host}/keys/${KEY_NAME}/${KEY_VERSION}`,
      kty: "RSA",
      key_ops: ["sign", "verify"],
      n: signJwk.n,
      e: signJwk.e,
    },
    attributes: { enabled: true, created: now, updated: now, recoveryLevel: "Recoverable+Purgeable", recoverableDays: 90 },
  };
}

async function vault(req, res, url, host) {
  const cloud = cloudOfVault(host);
  if (!cloud) return send(res, 404, { error: { code: "VaultNotFound", message: `no vault ${host}` } });
  const c = CLOUDS[cloud];
  const resource = `https://${c.vaultSuffix}`;
  const seg = url.pathname.split("/").filter(Boolean);
  if (!url.searchParams.get("api-version")) {
    return send(res, 400, { error: { code: "BadParameter", message: "The 'api-version' query parameter is missing." } });
  }
  const body = await readBody(req);
  if (!tokenCheck(req.headers.authorization, resource)) {
    // Key Vault's bearer challenge, as the service sends it.
    const authority = seg[0] === "secrets" && seg[1] === LEGACY_CHALLENGE_SECRET ? "login.windows.net" : c.challengeHost;
    return send(res, 401, { error: { code: "Unauthorized", message: "AKV10000: Request is missing a Bearer or PoP token." } }, {
      "www-authenticate": `Bearer authorization="https://${authority}/${TENANT}", resource="${resource}"`,
    });
  }
  if (seg[0] === "secrets" && seg.length >= 2) {
    const name = seg[1];
    if (req.method === "PUT" && seg.length === 2) {
      const value = JSON.parse(body || "{}").value;
      if (typeof value !== "string") return send(res, 400, { error: { code: "BadParameter", message: "value is required" } });
      secrets.set(name, value);
      return send(res, 200, secretBundle(host, name));
    }
    if (req.method === "GET") {
      if (!secrets.has(name)) return send(res, 404, { error: { code: "SecretNotFound", message: `A secret with (name/id) ${name} was not found in this key vault.` } });
      return send(res, 200, secretBundle(host, name));
    }
  }
  if (seg[0] === "keys" && seg[1] === KEY_NAME) {
    if (req.method === "GET" && seg.length <= 3) return send(res, 200, keyBundle(host));
    if (req.method === "POST" && seg.length === 4 && seg[3] === "sign") {
      const { alg, value } = JSON.parse(body || "{}");
      const digest = Buffer.from(value || "", "base64url");
      if (alg !== "RS256" || digest.length !== 32) {
        return send(res, 400, { error: { code: "BadParameter", message: `sign: alg ${alg}, digest of ${digest.length} bytes` } });
      }
      const sig = crypto.privateEncrypt({ key: signKey.privateKey, padding: crypto.constants.RSA_PKCS1_PADDING },
        Buffer.concat([SHA256_DIGESTINFO, digest]));
      return send(res, 200, { kid: `https://${host}/keys/${KEY_NAME}/${KEY_VERSION}`, value: b64u(sig) });
    }
  }
  return send(res, 404, { error: { code: "NotFound", message: `fake Key Vault: no ${req.method} ${url.pathname}` } });
}

// ---------------------------------------------------------------- ARM
function vaultResource(cloud) {
  return {
    id: `/subscriptions/${SUBSCRIPTION}/resourceGroups/kvf-rg/providers/Microsoft.KeyVault/vaults/${VAULT}`,
    name: VAULT,
    type: "Microsoft.KeyVault/vaults",
    location: "westeurope",
    tags: {},
    properties: {
      tenantId: TENANT,
      sku: { family: "A", name: "standard" },
      accessPolicies: [],
      enableRbacAuthorization: true,
      vaultUri: `https://${VAULT}.${CLOUDS[cloud].vaultSuffix}/`,
      provisioningState: "Succeeded",
      publicNetworkAccess: "Enabled",
    },
  };
}

async function arm(req, res, url, host) {
  const cloud = cloudOfArm(host);
  await readBody(req);
  if (!tokenCheck(req.headers.authorization, `https://${host}`)) {
    return send(res, 401, { error: { code: "AuthenticationFailed", message: "Authentication failed." } }, {
      "www-authenticate": `Bearer authorization_uri="https://${CLOUDS[cloud].login[0]}/${TENANT}", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header."`,
    });
  }
  const p = url.pathname.toLowerCase();
  const sub = `/subscriptions/${SUBSCRIPTION}`;
  if (!url.searchParams.get("api-version")) return send(res, 400, { error: { code: "MissingApiVersionParameter", message: "The api-version query parameter (?api-version=) is required for all requests." } });
  if (req.method === "GET" && p === `${sub}/providers/microsoft.keyvault/vaults`) {
    return send(res, 200, { value: [vaultResource(cloud)] });
  }
  if (req.method === "GET" && p === `${sub}/resources`) {
    const { id, name, type, location, tags } = vaultResource(cloud);
    return send(res, 200, { value: [{ id, name, type, location, tags }] });
  }
  return send(res, 404, { error: { code: "ResourceNotFound", message: `fake ARM: no ${req.method} ${url.pathname}` } });
}

// ---------------------------------------------------------------- IMDS, WireServer
function localV4(req) {
  return (req.socket.localAddress || "").replace(/^::ffff:/, "");
}

function imds(req, res, url) {
  if (url.pathname !== "/metadata/identity/oauth2/token") {
    return send(res, 404, { error: "not_found", error_description: `fake IMDS: no ${url.pathname}` });
  }
  if (req.headers.metadata !== "true") {
    return send(res, 400, { error: "invalid_request", error_description: "Required metadata header not specified" });
  }
  const resource = url.searchParams.get("resource");
  if (!url.searchParams.get("api-version") || !resource) {
    return send(res, 400, { error: "invalid_request", error_description: "Required query parameter api-version or resource missing" });
  }
  const now = Math.floor(Date.now() / 1000);
  return send(res, 200, {
    access_token: tokenIssue(resource, MI_CLIENT_ID, "imds"),
    client_id: MI_CLIENT_ID,
    expires_in: "86399",
    expires_on: String(now + 86399),
    ext_expires_in: "86399",
    not_before: String(now),
    resource,
    token_type: "Bearer",
  });
}

function wireserver(req, res, url, port) {
  if (port === 80 && url.pathname === "/" && url.searchParams.get("comp") === "versions") {
    return send(res, 200, '<?xml version="1.0" encoding="utf-8"?><Versions><Preferred><Version>2015-04-05</Version></Preferred></Versions>');
  }
  if (port === 32526 && url.pathname === "/vmSettings") return send(res, 200, { hostGAPluginVersion: "1.0.8.0" });
  return send(res, 404, `fake WireServer: no ${url.pathname}`);
}

// ---------------------------------------------------------------- dispatch
function handler(kind, port) {
  return (req, res) => {
    const host = String(req.headers.host || "").replace(/:\d+$/, "").toLowerCase();
    const url = new URL(req.url, `http://${host || "localhost"}`);
    res.on("finish", () => log(`${kind} ${localV4(req)}:${port} ${host} ${req.method} ${url.pathname} ${res.statusCode}`));
    let p;
    if (kind === "https") {
      if (cloudOfLogin(host)) p = entra(req, res, url, host);
      else if (cloudOfVault(host)) p = vault(req, res, url, host);
      else if (cloudOfArm(host)) p = arm(req, res, url, host);
      else p = Promise.resolve(send(res, 421, `fake Azure: no host ${host}`));
    } else if (localV4(req) === "169.254.169.254" && port === 80) {
      p = Promise.resolve(imds(req, res, url));
    } else if (localV4(req) === "168.63.129.16") {
      p = Promise.resolve(wireserver(req, res, url, port));
    } else {
      p = Promise.resolve(send(res, 404, "nothing here"));
    }
    p.catch((e) => {
      log(`error ${e.stack || e}`);
      if (!res.headersSent) send(res, 500, { error: { code: "InternalError", message: String(e) } });
    });
  };
}

const servers = [
  [https.createServer({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) }, handler("https", 443)), 443],
  [http.createServer(handler("http", 80)), 80],
  [http.createServer(handler("http", 32526)), 32526],
];
let listening = 0;
for (const [srv, port] of servers) {
  srv.keepAliveTimeout = 30000;
  srv.listen({ port, host: "::", ipv6Only: false }, () => {
    if (++listening === servers.length) log("ready");
  });
}
process.on("SIGTERM", () => process.exit(0));
