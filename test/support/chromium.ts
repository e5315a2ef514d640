/** Debian's Chromium, driven by playwright-core, for the end-to-end tests that need a browser. */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { chromium, type BrowserContext } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * A headless Chromium with its profile in `profileDir`. Fails the test, saying what to install,
 * where Chromium is missing: the tests that need it are the browser's own (CI installs it).
 */
export function launchChromium(
  profileDir: string,
  options: { readonly locale?: string; readonly headers?: Readonly<Record<string, string>> } = {},
): Promise<BrowserContext> {
  assert.ok(
    existsSync(CHROMIUM),
    `needs Debian's Chromium at ${CHROMIUM}: apt-get install -y --no-install-recommends chromium (CI installs it)`,
  );
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    ...(options.locale === undefined ? {} : { locale: options.locale }),
    ...(options.headers === undefined ? {} : { extraHTTPHeaders: { ...options.headers } }),
  });
}
