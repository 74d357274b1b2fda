/** An HTTP client that calls a service the way the gateway (or a peer service) would. */
import { INTERNAL_TOKEN_HEADER, type AppId } from '@wallet/contracts';
import { createInternalTokenSigner, type InternalSubject } from '@wallet/service-kit';
import type { TestKeyring } from './keys.ts';

export interface TestResponse<T = unknown> {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the raw text, or undefined when empty. */
  body: T;
  text: string;
}

export interface RequestOptions {
  body?: unknown;
  /** Raw body (sent as is) instead of JSON. */
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface ServiceClient {
  request<T = unknown>(method: string, path: string, options?: RequestOptions): Promise<TestResponse<T>>;
  get<T = unknown>(path: string, options?: RequestOptions): Promise<TestResponse<T>>;
  post<T = unknown>(path: string, body?: unknown, options?: RequestOptions): Promise<TestResponse<T>>;
  put<T = unknown>(path: string, body?: unknown, options?: RequestOptions): Promise<TestResponse<T>>;
  delete<T = unknown>(path: string, options?: RequestOptions): Promise<TestResponse<T>>;
}

export async function parseResponse<T>(res: Response): Promise<TestResponse<T>> {
  const text = await res.text();
  let body: unknown = undefined;
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  return { status: res.status, headers: res.headers, body: body as T, text };
}

/**
 * `subject === null` sends no internal token at all (to prove the service refuses such calls).
 * `issuer` defaults to the gateway; a peer service (the ledger calling risk) passes its own id.
 */
export function serviceClient(options: {
  baseUrl: string;
  audience: AppId;
  keyring: TestKeyring;
  subject: InternalSubject | null;
  issuer?: AppId;
  extraHeaders?: Record<string, string>;
}): ServiceClient {
  const issuer = options.issuer ?? 'api-gateway';
  const signerPromise = createInternalTokenSigner(issuer, options.keyring[issuer].privateJwk);
  const request = async <T>(method: string, path: string, req: RequestOptions = {}): Promise<TestResponse<T>> => {
    const headers: Record<string, string> = { ...options.extraHeaders, ...req.headers };
    if (options.subject) {
      const signer = await signerPromise;
      headers[INTERNAL_TOKEN_HEADER] = await signer.sign(options.audience, options.subject);
    }
    let body: string | undefined;
    if (req.rawBody !== undefined) body = req.rawBody;
    else if (req.body !== undefined) {
      body = JSON.stringify(req.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(`${options.baseUrl}${path}`, { method, headers, body });
    return parseResponse<T>(res);
  };
  return {
    request,
    get: (path, o) => request('GET', path, o),
    post: (path, body, o) => request('POST', path, { ...o, body }),
    put: (path, body, o) => request('PUT', path, { ...o, body }),
    delete: (path, o) => request('DELETE', path, o),
  };
}
