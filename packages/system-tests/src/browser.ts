/**
 * A real Chromium for the browser suite: Debian's `chromium` (installed by `infra/local.sh up chromium`,
 * path in CHROMIUM_BIN) driven by playwright-core over CDP, with WebAuthn's virtual authenticator.
 *
 * The browser trusts exactly the gateway's self-signed certificate (by its public key,
 * `--ignore-certificate-errors-spki-list`), so pages are secure contexts with valid TLS as far as
 * Chromium is concerned (WebAuthn and HSTS behave as on a real site), and every host name but
 * localhost and the test name `wallet.test` (and its subdomains, mapped to 127.0.0.1) fails to resolve:
 * nothing leaves the machine.
 */
import { accessSync, constants } from 'node:fs';
import { createHash, X509Certificate } from 'node:crypto';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { inCI } from '@wallet/testing';

/** A host name for the HSTS checks: Chromium ignores HSTS on localhost, so a test name maps to loopback. */
export const HSTS_TEST_HOST = 'wallet.test';

/**
 * Chromium's path, or undefined (the suite skips, saying how to install it) outside CI. In CI a
 * missing browser is a failure: the suite must never pass by not running.
 */
export function chromiumPath(): string | undefined {
  const candidate = process.env['CHROMIUM_BIN'] || '/usr/bin/chromium';
  try {
    accessSync(candidate, constants.X_OK);
    return candidate;
  } catch {
    const hint = 'run `infra/local.sh up chromium` (Debian package `chromium`) or set CHROMIUM_BIN';
    if (inCI)
      throw new Error(`Chromium not found at ${candidate}: ${hint}. CI never skips the browser suite.`);
    process.stderr.write(`[skip] Chromium not found at ${candidate}; to run the browser suite ${hint}\n`);
    return undefined;
  }
}

/** base64 SHA-256 of the certificate's SubjectPublicKeyInfo, as Chromium's SPKI allow-list wants it. */
export function spkiHash(certificatePem: string): string {
  const spki = new X509Certificate(certificatePem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

export function launchChromium(executablePath: string, certificatePem: string): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: true,
    timeout: 30_000,
    args: [
      `--ignore-certificate-errors-spki-list=${spkiHash(certificatePem)}`,
      `--host-resolver-rules=MAP ${HSTS_TEST_HOST} 127.0.0.1, MAP *.${HSTS_TEST_HOST} 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE localhost`,
      '--no-proxy-server',
      '--no-first-run',
    ],
  });
}

export interface VirtualAuthenticator {
  cdp: CDPSession;
  authenticatorId: string;
  credentials(): Promise<
    {
      credentialId: string;
      isResidentCredential: boolean;
      rpId?: string;
      userHandle?: string;
      signCount: number;
    }[]
  >;
}

/**
 * A platform authenticator with resident keys and user verification (a phone or laptop passkey),
 * answering by itself as a user touching it would (WebAuthn.addVirtualAuthenticator over CDP).
 */
export async function addVirtualAuthenticator(
  context: BrowserContext,
  page: Page,
): Promise<VirtualAuthenticator> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return {
    cdp,
    authenticatorId,
    async credentials() {
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      return credentials;
    },
  };
}

/**
 * What the page runs (defined by `page.evaluate`, which the gateway's CSP does not govern): same-origin
 * fetch with the browser's own cookies, and the WebAuthn calls a web app makes, with the JSON
 * (de)serialisers of the WebAuthn Level 3 API (PublicKeyCredential.parse…FromJSON, toJSON).
 */
const PAGE_SCRIPT = String.raw`
window.wallet = {
  async call(method, path, body, csrfToken) {
    const headers = {};
    if (body !== undefined && body !== null) headers['content-type'] = 'application/json';
    if (csrfToken) headers['x-csrf-token'] = csrfToken;
    const res = await fetch(path, {
      method,
      headers,
      body: body === undefined || body === null ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
    const text = await res.text();
    let parsed = null;
    try { parsed = text ? JSON.parse(text) : null; } catch { parsed = text; }
    return { status: res.status, body: parsed };
  },
  async create(options) {
    const credential = await navigator.credentials.create({
      publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options),
    });
    return credential.toJSON();
  },
  async get(options) {
    const credential = await navigator.credentials.get({
      publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options),
    });
    return credential.toJSON();
  },
  cookies() { return document.cookie; },
};
true;
`;

export interface PageAnswer<T = Record<string, unknown>> {
  status: number;
  body: T;
}

/** The web app in a page of the gateway's origin: its API calls and WebAuthn, run by Chromium. */
export class WebApp {
  readonly page: Page;
  constructor(page: Page) {
    this.page = page;
  }

  /** Opens a document of the gateway's origin and installs the page script. */
  async open(origin: string): Promise<void> {
    const answer = await this.page.goto(`${origin}/healthz`);
    if (answer?.status() !== 200) throw new Error(`${origin}/healthz answered ${answer?.status()}`);
    await this.page.evaluate(PAGE_SCRIPT);
  }

  call<T = Record<string, unknown>>(
    method: string,
    path: string,
    options: { body?: unknown; csrfToken?: string } = {},
  ): Promise<PageAnswer<T>> {
    const args = [method, path, options.body ?? null, options.csrfToken ?? null].map((a) =>
      JSON.stringify(a),
    );
    return this.page.evaluate<PageAnswer<T>>(`wallet.call(${args.join(', ')})`);
  }

  /** navigator.credentials.create with the server's options; the credential's JSON. */
  create(options: unknown): Promise<Record<string, unknown>> {
    return this.page.evaluate<Record<string, unknown>>(`wallet.create(${JSON.stringify(options)})`);
  }

  /** navigator.credentials.get with the server's options; the assertion's JSON. */
  get(options: unknown): Promise<Record<string, unknown>> {
    return this.page.evaluate<Record<string, unknown>>(`wallet.get(${JSON.stringify(options)})`);
  }

  /** What the page's scripts can read of the cookies (document.cookie). */
  scriptCookies(): Promise<string> {
    return this.page.evaluate<string>('wallet.cookies()');
  }
}
