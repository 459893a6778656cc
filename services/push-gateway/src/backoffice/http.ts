import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { RulesClientConfig } from '../config.js';

export const BACKOFFICE_PAGE_PATH = '/backoffice/';
const SESSIONS_PATH = '/backoffice/api/sessions';
/** A sign-in body is a username and a password; anything larger is rejected before it reaches the rules service. */
const SIGN_IN_BODY_BYTES_MAX = 8 * 1024;

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/**
 * The page loads only its own files and `/socket.io/socket.io.js`, and opens
 * its socket to the same origin, so everything else is blocked.
 */
const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

/** Returns true when it handled the request. */
export type RouteHandler = (request: IncomingMessage, response: ServerResponse) => boolean;

/**
 * Finds `public/backoffice` of this package, both when running from `src/`
 * with the `source` condition and from the compiled `dist/src/`.
 */
function locatePageDirectory(): string {
  const candidates = ['../../public/backoffice/', '../../../public/backoffice/'].map((relative) =>
    fileURLToPath(new URL(relative, import.meta.url)),
  );
  const found = candidates.find((candidate) => existsSync(join(candidate, 'index.html')));
  if (found === undefined) throw new Error(`back office page not found; looked in ${candidates.join(' and ')}`);
  return found;
}

/** Reads the page's files once, at start-up, so requests never touch the file system. */
export async function loadPageFiles(directory = locatePageDirectory()): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const name of await readdir(directory)) {
    if (CONTENT_TYPES[extname(name)] !== undefined) files.set(name, await readFile(join(directory, name)));
  }
  return files;
}

/**
 * Serves the back office page under `/backoffice/` and proxies the sign-in
 * `POST /backoffice/api/sessions` to the rules service's
 * `POST /staff/sessions`, so the browser talks to one origin. The password
 * passes through and is never logged.
 */
export function createBackofficeRoutes(files: Map<string, Buffer>, rules: RulesClientConfig, logger: Logger): RouteHandler {
  return (request, response) => {
    const path = (request.url ?? '/').split('?', 1)[0] ?? '/';
    if (path === '/backoffice') {
      response.writeHead(308, { location: BACKOFFICE_PAGE_PATH });
      response.end();
      return true;
    }
    if (!path.startsWith(BACKOFFICE_PAGE_PATH)) return false;

    if (path === SESSIONS_PATH) {
      if (request.method !== 'POST') sendJson(response, 405, errorBody('BACKOFFICE_ERR_INVALID_REQUEST', 'use POST to sign in'));
      else void proxySignIn(request, response, rules, logger);
      return true;
    }

    if (request.method !== 'GET' && request.method !== 'HEAD') {
      sendJson(response, 405, errorBody('BACKOFFICE_ERR_INVALID_REQUEST', 'method not allowed; use GET'));
      return true;
    }
    const name = path === BACKOFFICE_PAGE_PATH ? 'index.html' : path.slice(BACKOFFICE_PAGE_PATH.length);
    const file = files.get(name);
    if (file === undefined) {
      sendJson(response, 404, errorBody('BACKOFFICE_ERR_NOT_FOUND', `no back office file ${path}`));
      return true;
    }
    response.writeHead(200, { ...PAGE_HEADERS, 'content-type': CONTENT_TYPES[extname(name)] ?? 'application/octet-stream' });
    response.end(request.method === 'HEAD' ? undefined : file);
    return true;
  };
}

async function proxySignIn(request: IncomingMessage, response: ServerResponse, rules: RulesClientConfig, logger: Logger): Promise<void> {
  const contentType = request.headers['content-type'] ?? '';
  if (!contentType.toLowerCase().startsWith('application/json')) {
    request.resume();
    sendJson(response, 415, errorBody('BACKOFFICE_ERR_INVALID_REQUEST', 'send the sign-in as application/json'));
    return;
  }

  let body: Buffer;
  try {
    body = await readBody(request, SIGN_IN_BODY_BYTES_MAX);
  } catch (error) {
    sendJson(response, 413, errorBody('BACKOFFICE_ERR_INVALID_REQUEST', (error as Error).message));
    return;
  }

  const url = `${rules.baseUrl.replace(/\/$/, '')}/staff/sessions`;
  try {
    const upstream = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json',
        'x-forwarded-for': request.socket.remoteAddress ?? '',
      },
      body,
      signal: AbortSignal.timeout(rules.timeoutMs),
    });
    const text = await upstream.text();
    logger.info({ status: upstream.status, address: request.socket.remoteAddress }, 'staff sign-in forwarded to the rules service');
    response.writeHead(upstream.status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    response.end(text);
  } catch (error) {
    const isTimeout = error instanceof DOMException && error.name === 'TimeoutError';
    logger.warn({ err: error }, 'staff sign-in could not reach the rules service');
    sendJson(
      response,
      isTimeout ? 504 : 502,
      errorBody('BACKOFFICE_ERR_RULES_UNAVAILABLE', 'the sign-in service is unavailable; try again shortly'),
    );
  }
}

function readBody(request: IncomingMessage, bytesMax: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    request.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > bytesMax) {
        request.removeAllListeners('data');
        request.resume();
        reject(new Error(`sign-in body is larger than ${bytesMax} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    request.once('end', () => resolve(Buffer.concat(chunks)));
    request.once('error', reject);
  });
}

function errorBody(code: string, message: string): Record<string, unknown> {
  return { error: { code, message } };
}

function sendJson(response: ServerResponse, status: number, body: Record<string, unknown>): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
