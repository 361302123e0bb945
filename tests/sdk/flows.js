// kvfence SDK test: one flow of a real Key Vault client, written as an
// application would write it with the Azure SDK for JavaScript. Prints one
// line, "ok: ..." (exit 0) or "error: ..." (exit 1).
// Usage: node --require trace.js flows.js FLOW
// Environment: KVF_SDK_MODULES (the node_modules directory installed by
// tools/install-deps), KVF_TENANT, KVF_CLIENT_ID, KVF_CLIENT_SECRET,
// KVF_VAULT, KVF_SUBSCRIPTION; for default-credential-env also the
// AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_CLIENT_SECRET an application
// gets from its environment.
"use strict";
const crypto = require("node:crypto");
const path = require("node:path");
const { createRequire } = require("node:module");

const sdk = createRequire(path.join(process.env.KVF_SDK_MODULES || ".", "kvf-sdk-anchor.js"));
const identity = sdk("@azure/identity");
const { SecretClient } = sdk("@azure/keyvault-secrets");
const { KeyClient, CryptographyClient } = sdk("@azure/keyvault-keys");
const { KeyVaultManagementClient } = sdk("@azure/arm-keyvault");

const TENANT = process.env.KVF_TENANT;
const CLIENT_ID = process.env.KVF_CLIENT_ID;
const CLIENT_SECRET = process.env.KVF_CLIENT_SECRET;
const VAULT = process.env.KVF_VAULT;
const SUBSCRIPTION = process.env.KVF_SUBSCRIPTION;

const CLOUD = {
  public: { authorityHost: identity.AzureAuthorityHosts.AzurePublicCloud, vault: "vault.azure.net" },
  china: { authorityHost: identity.AzureAuthorityHosts.AzureChina, vault: "vault.azure.cn" },
  usgov: { authorityHost: identity.AzureAuthorityHosts.AzureGovernment, vault: "vault.usgovcloudapi.net" },
};

const vaultUrl = (cloud) => `https://${VAULT}.${CLOUD[cloud].vault}`;
const secretCredential = (cloud) =>
  new identity.ClientSecretCredential(TENANT, CLIENT_ID, CLIENT_SECRET, { authorityHost: CLOUD[cloud].authorityHost });

function expect(what, got, want) {
  if (got !== want) throw new Error(`${what}: got ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
}

async function readSecret(credential, cloud, name, want) {
  const client = new SecretClient(vaultUrl(cloud), credential);
  const s = await client.getSecret(name);
  expect(`secret ${name}`, s.value, want);
  return `got secret ${name} from ${vaultUrl(cloud)}`;
}

const FLOWS = {
  // Client secret, then a secret written and read back.
  async "client-secret"() {
    const client = new SecretClient(vaultUrl("public"), secretCredential("public"));
    const value = `v-${crypto.randomUUID()}`;
    await client.setSecret("kvf-written", value);
    const back = await client.getSecret("kvf-written");
    expect("secret read back", back.value, value);
    return "set and got secret kvf-written";
  },
  // The vault's 401 challenge names login.windows.net/<tenant>.
  async "challenge-login-windows-net"() {
    return readSecret(secretCredential("public"), "public", "legacy-challenge", "followed-the-tenant-not-the-host");
  },
  // A remote key operation: Key Vault signs, the client verifies locally.
  async "key-sign"() {
    const credential = secretCredential("public");
    const key = await new KeyClient(vaultUrl("public"), credential).getKey("kvf-sign");
    const crypto_ = new CryptographyClient(key.id, credential);
    const digest = crypto.createHash("sha256").update("signed by kvfence's test").digest();
    const { result } = await crypto_.sign("RS256", digest);
    const pub = crypto.createPublicKey({
      key: { kty: "RSA", n: Buffer.from(key.key.n).toString("base64url"), e: Buffer.from(key.key.e).toString("base64url") },
      format: "jwk",
    });
    const ok = crypto.verify("sha256", Buffer.from("signed by kvfence's test"), pub, Buffer.from(result));
    if (!ok) throw new Error("the vault's RS256 signature does not verify");
    return `signed with ${key.id}, signature verified`;
  },
  // Management plane: list the subscription's vaults.
  async "arm-list-vaults"() {
    const client = new KeyVaultManagementClient(secretCredential("public"), SUBSCRIPTION);
    const names = [];
    for await (const v of client.vaults.listBySubscription()) names.push(`${v.name} ${v.properties && v.properties.vaultUri}`);
    expect("vaults listed", names.join(","), `${VAULT} ${vaultUrl("public")}/`);
    return `listed ${names.join(",")}`;
  },
  // A system-assigned managed identity (IMDS), then a secret.
  async "managed-identity"() {
    return readSecret(new identity.ManagedIdentityCredential(), "public", "kvf-read", "s3cret-from-the-vault");
  },
  // DefaultAzureCredential with AZURE_* in the environment.
  async "default-credential-env"() {
    for (const v of ["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"]) {
      if (!process.env[v]) throw new Error(`${v} is not set`);
    }
    return readSecret(new identity.DefaultAzureCredential(), "public", "kvf-read", "s3cret-from-the-vault");
  },
  // DefaultAzureCredential on an Azure VM: nothing in the environment, so
  // it probes IMDS and takes the managed identity.
  async "default-credential-imds"() {
    if (process.env.AZURE_CLIENT_SECRET) throw new Error("AZURE_CLIENT_SECRET is set");
    return readSecret(new identity.DefaultAzureCredential(), "public", "kvf-read", "s3cret-from-the-vault");
  },
  async "china-cloud"() {
    return readSecret(secretCredential("china"), "china", "kvf-read", "s3cret-from-the-vault");
  },
  async "usgov-cloud"() {
    return readSecret(secretCredential("usgov"), "usgov", "kvf-read", "s3cret-from-the-vault");
  },
};

async function main() {
  const name = process.argv[2];
  const flow = FLOWS[name];
  if (!flow) {
    console.log(`error: no flow ${name} (flows: ${Object.keys(FLOWS).join(" ")})`);
    return 2;
  }
  const t0 = Date.now();
  try {
    const what = await flow();
    console.log(`ok: ${what} (${Date.now() - t0} ms)`);
    return 0;
  } catch (e) {
    const msg = String((e && e.message) || e).replace(/\s+/g, " ").slice(0, 400);
    const code = e && e.code ? ` ${e.code}` : "";
    console.log(`error: ${(e && e.name) || "Error"}${code}: ${msg} (${Date.now() - t0} ms)`);
    return 1;
  }
}

// A flow that hangs is a failure too, not a stuck test.
const limit = setTimeout(() => {
  console.log("error: timeout: the flow did not finish within 45 s");
  process.exit(1);
}, 45000);
main().then((rc) => {
  clearTimeout(limit);
  process.exit(rc);
});
