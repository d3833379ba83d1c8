import { existsSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCAL_ADMIN, LOCAL_ADMIN_2, type LocalStack } from "../../infra/local/runner/index.js";
import { TetherApiClient } from "../../lib/cli/client.js";
import { buildConsoleAssets } from "../../lib/console/assets.js";
import { type ConsoleServer, startConsoleServer } from "../../lib/console/server.js";
import { ADMIN, ADMIN_2, E2E_STACK_START_MS, startE2eStack } from "../support/e2e-stack.js";
import { signedFetch } from "./support.js";

/**
 * Dual control in the console (chromium, headless, playwright-core) on a stack where a revoke needs two
 * people (TETHER_APPROVALS {"revoke":2}): the revoke answers 202 and its request shows under Approvals; the
 * requester's own approval shows the API's refusal (409); the second admin's console approves it and the
 * revoke runs. A stack of its own: the other console test revokes with one admin.
 */
const CHROMIUM = "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium)
  console.log(
    `skipping the console's approvals test: ${CHROMIUM} is not installed (apt-get install chromium)`,
  );

let stack: LocalStack;
let asAdmin: ConsoleServer;
let asAdmin2: ConsoleServer;
let browser: Browser;
let page: Page;
let keyId: string;

beforeAll(async () => {
  if (!haveChromium) return;
  stack = await startE2eStack({ approvals: '{"revoke":2}' });
  const registered = await signedFetch(stack.apiUrl, {
    method: "POST",
    path: "/keys",
    credentials: ADMIN,
    body: {
      mode: "create",
      region: stack.region,
      keySpec: "SYMMETRIC_DEFAULT",
      materialRef: "console/approvals",
      generateMaterial: true,
      alias: "alias/console-approvals",
      policy: { validityPeriod: "P30D" },
    },
  });
  expect(registered.status).toBe(201);
  keyId = (registered.body as { key: { id: string } }).key.id;
  const assets = await buildConsoleAssets();
  const consoleAs = (credentials: typeof ADMIN) =>
    startConsoleServer({
      port: 0,
      client: new TetherApiClient({ apiUrl: stack.apiUrl, region: stack.region, credentials }),
      assets,
    });
  asAdmin = await consoleAs(ADMIN);
  asAdmin2 = await consoleAs(ADMIN_2);
  const { chromium } = await import("playwright-core");
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"], headless: true });
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
}, E2E_STACK_START_MS + 60_000);

afterAll(async () => {
  await browser?.close();
  await asAdmin?.close();
  await asAdmin2?.close();
  await stack?.close();
}, 30_000);

async function confirmWith(reason: string) {
  await page.waitForSelector("dialog#confirm[open]");
  await page.fill("dialog#confirm textarea[name=reason]", reason);
  await page.click('dialog#confirm button[value="confirm"]');
  await page.waitForSelector("#answer .answer");
}

describe.skipIf(!haveChromium)("dual control in the console", () => {
  it("holds a revoke (202) and lists it under Approvals: what, key, who, why, expiry", async () => {
    await page.goto(asAdmin.url);
    await page.goto(`${asAdmin.origin}/#/keys/${keyId}`);
    await page.waitForSelector("#key-title");
    await page.click('[data-action="revoke"]');
    await confirmWith("console e2e: held for a second admin");
    expect(await page.textContent("#answer")).toContain(`POST /keys/${keyId}/revoke: HTTP 202`);
    expect(await page.textContent("#key-title .badge")).toBe("active"); // nothing ran yet

    await page.click('nav a[href="#/approvals"]');
    await page.waitForSelector("#operations tbody tr");
    expect(await page.locator("#operations tbody tr").count()).toBe(1);
    const row = (await page.textContent("#operations tbody tr")) ?? "";
    expect(row).toContain("revoke");
    expect(row).toContain(keyId);
    expect(row).toContain(LOCAL_ADMIN.principalArn);
    expect(row).toContain("console e2e: held for a second admin");
    expect(row).toContain("1 of 2");
    expect(row).toMatch(/in \d+ min/); // requestTtl PT1H by default
  });

  it("shows the API's refusal when the requester approves their own request", async () => {
    await page.click('#operations [data-action="approve"]');
    await confirmWith("approving my own request");
    expect(await page.textContent("#answer")).toContain("HTTP 409 (error)");
    expect(await page.textContent("#answer pre")).toContain("approver");
    expect(await page.locator("#operations tbody tr").count()).toBe(1); // still pending
  });

  it("runs the revoke when the second admin approves in their console", async () => {
    await page.goto(asAdmin2.url);
    await page.goto(`${asAdmin2.origin}/#/approvals`);
    await page.waitForSelector("#operations tbody tr");
    await page.click('#operations [data-action="approve"]');
    await confirmWith("console e2e: confirmed with the requester");
    expect(await page.textContent("#answer")).toContain("HTTP 200");
    const answered = JSON.parse((await page.textContent("#answer pre")) ?? "{}") as {
      operation: { state: string; approvals: { by: string }[] };
    };
    expect(answered.operation.state).toBe("executed");
    expect(answered.operation.approvals.map((a) => a.by)).toEqual([LOCAL_ADMIN_2.principalArn]);
    await page.waitForSelector("#operations-empty");
    const key = await signedFetch(stack.apiUrl, {
      method: "GET",
      path: `/keys/${keyId}`,
      credentials: ADMIN,
    });
    expect((key.body as { key: { status: { state: string } } }).key.status.state).toBe("revoked");
  });
});
