import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import net, { type AddressInfo } from 'node:net';
import { chromium, type Browser as PwBrowser, type Page } from 'playwright-core';
import type { Express } from 'express';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function chromiumAvailable(): boolean {
  return fs.existsSync(CHROMIUM);
}

/** Debian's chromium, headless, with the flags this closed network needs; never a downloaded browser. */
export async function launchChromium(): Promise<PwBrowser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

/** Serves the app on a loopback port; returns its base URL and a stop function. */
export async function serve(app: Express, port = 0): Promise<{ url: string; port: number; stop: () => Promise<void> }> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const p = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${p}`,
    port: p,
    stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

export function screenshotDir(): string {
  const d = path.join(os.tmpdir(), 'verein-e2e');
  fs.mkdirSync(d, { recursive: true });
  return d;
}

/** A free loopback port, so the app's BASE_URL (used in e-mail links) can be known before it listens. */
export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** Signs in through the login form. */
export async function signIn(page: Page, base: string, email: string, password: string): Promise<void> {
  await page.goto(`${base}/login`);
  await page.fill('[name=email]', email);
  await page.fill('[name=password]', password);
  await page.locator('main form button[type=submit]').click();
}
