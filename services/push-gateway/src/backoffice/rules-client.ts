import type { BackofficeErrorCode, ComplianceFlagView, InterventionView } from '@croupier/shared/contracts';
import type { RulesClientConfig } from '../config.js';
import { BackofficeRequestError } from './errors.js';
import { checkFlag, checkFlagList, checkInterventionList } from './rules-responses.js';

/** Maximum `limit` that the rules service's `GET /flags` accepts. NOTE: a longer queue shows its oldest 500 flags only. */
const QUEUE_FLAGS_MAX = 500;

/** Error code of a 404, by whether the call's path names a player or a flag. */
type NotFoundCode = Extract<BackofficeErrorCode, 'BACKOFFICE_ERR_PLAYER_NOT_FOUND' | 'BACKOFFICE_ERR_FLAG_NOT_FOUND'>;

/**
 * Calls the rules service's back office API with the staff member's own
 * bearer token, so the rules service authorises and audits each call as that
 * person. Each call is one attempt with a timeout: resolving a flag is not
 * idempotent, and the page lets the staff member retry the rest.
 */
export class RulesClient {
  constructor(private readonly config: RulesClientConfig) {}

  async listInterventions(token: string, playerId: string, limit: number, signal: AbortSignal): Promise<InterventionView[]> {
    const path = `/players/${encodeURIComponent(playerId)}/interventions?limit=${limit}`;
    return checkInterventionList(await this.request('GET', path, token, signal, 'BACKOFFICE_ERR_PLAYER_NOT_FOUND'));
  }

  async listPlayerFlags(token: string, playerId: string, signal: AbortSignal): Promise<ComplianceFlagView[]> {
    const path = `/players/${encodeURIComponent(playerId)}/flags`;
    return checkFlagList(await this.request('GET', path, token, signal, 'BACKOFFICE_ERR_PLAYER_NOT_FOUND'));
  }

  /**
   * Reads the open and in-review flags of the brand, oldest first. The rules
   * service returns at most QUEUE_FLAGS_MAX of them.
   */
  async listQueue(token: string, signal: AbortSignal): Promise<ComplianceFlagView[]> {
    // Without a status filter the rules service returns open and in-review flags.
    return checkFlagList(await this.request('GET', `/flags?limit=${QUEUE_FLAGS_MAX}`, token, signal, 'BACKOFFICE_ERR_FLAG_NOT_FOUND'));
  }

  /** Moves an open flag to in_review; the rules service allows compliance officers only. */
  async reviewFlag(token: string, flagId: string, signal: AbortSignal): Promise<ComplianceFlagView> {
    const path = `/flags/${encodeURIComponent(flagId)}/review`;
    return checkFlag(await this.request('POST', path, token, signal, 'BACKOFFICE_ERR_FLAG_NOT_FOUND', {}));
  }

  /** Resolves an in-review flag with a note; the rules service allows compliance officers only and audits the change. */
  async resolveFlag(token: string, flagId: string, note: string, signal: AbortSignal): Promise<ComplianceFlagView> {
    const path = `/flags/${encodeURIComponent(flagId)}/resolve`;
    return checkFlag(await this.request('POST', path, token, signal, 'BACKOFFICE_ERR_FLAG_NOT_FOUND', { note }));
  }

  private async request(
    method: 'GET' | 'POST',
    path: string,
    token: string,
    signal: AbortSignal,
    notFoundCode: NotFoundCode,
    body?: object,
  ): Promise<unknown> {
    const url = `${this.config.baseUrl.replace(/\/$/, '')}${path}`;
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';

    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.any([signal, AbortSignal.timeout(this.config.timeoutMs)]),
      });
    } catch (error) {
      if (signal.aborted) throw new BackofficeRequestError('BACKOFFICE_ERR_CLOSING', 'the gateway is shutting down; reconnect');
      throw new BackofficeRequestError('BACKOFFICE_ERR_RULES_UNAVAILABLE', `rules service request ${method} ${path} failed: ${describe(error, this.config.timeoutMs)}`);
    }

    const text = await response.text();
    if (response.ok) {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new BackofficeRequestError('BACKOFFICE_ERR_RULES_UNAVAILABLE', `rules service returned a body that is not JSON for ${method} ${path}`);
      }
    }
    throw new BackofficeRequestError(codeForStatus(response.status, notFoundCode), rulesErrorMessage(response.status, text, method, path));
  }
}

function codeForStatus(status: number, notFoundCode: NotFoundCode): BackofficeErrorCode {
  if (status === 401) return 'BACKOFFICE_ERR_SESSION_EXPIRED';
  if (status === 403) return 'BACKOFFICE_ERR_FORBIDDEN';
  if (status === 404) return notFoundCode;
  if (status === 409) return 'BACKOFFICE_ERR_CONFLICT';
  if (status === 400 || status === 422) return 'BACKOFFICE_ERR_INVALID_REQUEST';
  return 'BACKOFFICE_ERR_RULES_UNAVAILABLE';
}

/** Uses the rules service's own error message when its body has one (`{ error: { message } }`). */
function rulesErrorMessage(status: number, text: string, method: string, path: string): string {
  let message: string | undefined;
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    if (typeof body.error === 'object' && typeof body.error.message === 'string') message = body.error.message;
    else if (typeof body.message === 'string') message = body.message;
    else if (typeof body.error === 'string') message = body.error;
  } catch {
    // Not JSON: report the status alone.
  }
  return message === undefined ? `rules service returned HTTP ${status} for ${method} ${path}` : message;
}

function describe(error: unknown, timeoutMs: number): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') return `timed out after ${timeoutMs} ms`;
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: { code?: string } }).cause;
    return cause?.code === undefined ? error.message : `${error.message} (${cause.code})`;
  }
  return String(error);
}
