import { CroupierError } from '@croupier/shared';

type Details = Record<string, unknown>;

interface RulesErrorDefinition {
  statusCode: number;
  /** When the error is returned; the README error table repeats these words. */
  when: string;
  message: (details: Details) => string;
}

const text = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

/** Error codes of the back office API. The code is the stable contract; messages may change. */
export const RULES_ERRORS = {
  RULES_ERR_VALIDATION: {
    statusCode: 400,
    when: 'the body, path or query does not match the route schema',
    message: (d) => `request is invalid: ${text(d.reason)}`,
  },
  RULES_ERR_MALFORMED_JSON: {
    statusCode: 400,
    when: 'the body is not valid JSON',
    message: (d) => `request body is not valid JSON: ${text(d.reason)}`,
  },
  RULES_ERR_UNAUTHENTICATED: {
    statusCode: 401,
    when: 'the Authorization header is missing or is not "Bearer <token>"',
    message: () => 'Authorization header is missing; send "Authorization: Bearer <staff token>" from POST /staff/sessions',
  },
  RULES_ERR_TOKEN_INVALID: {
    statusCode: 401,
    when: 'the staff token fails verification (signature, issuer, audience, claims)',
    // The reason comes from verifyStaffToken and already states that the token is invalid.
    message: (d) => `${text(d.reason)}; sign in again`,
  },
  RULES_ERR_TOKEN_EXPIRED: {
    statusCode: 401,
    when: 'the staff token has expired',
    message: () => 'staff token has expired; sign in again',
  },
  RULES_ERR_TOKEN_BRAND_MISMATCH: {
    statusCode: 403,
    when: "the staff token was issued for another brand's back office",
    message: (d) => `staff token is for brand ${text(d.tokenBrand)}, not ${text(d.brand)}`,
  },
  RULES_ERR_STAFF_DISABLED: {
    statusCode: 401,
    when: 'the staff account of the token no longer exists or is disabled',
    message: () => 'staff account is disabled or removed; ask an administrator',
  },
  RULES_ERR_CREDENTIALS_INVALID: {
    statusCode: 401,
    when: 'the username does not exist or the password is wrong (the response does not say which)',
    message: () => 'username or password is wrong',
  },
  RULES_ERR_FORBIDDEN_ROLE: {
    statusCode: 403,
    when: 'the staff role may not use the route (only compliance_officer may review or resolve flags)',
    message: (d) => `role ${text(d.role)} may not ${text(d.operation)}; it needs role ${text(d.requiredRole)}`,
  },
  RULES_ERR_FLAG_NOT_FOUND: {
    statusCode: 404,
    when: 'no flag has the id',
    message: (d) => `flag ${text(d.flagId)} was not found`,
  },
  RULES_ERR_FLAG_TRANSITION_INVALID: {
    statusCode: 409,
    when: 'the flag status does not allow the change (review needs open, resolve needs in_review)',
    message: (d) => `flag ${text(d.flagId)} is ${text(d.status)}; ${text(d.operation)} needs status ${text(d.requiredStatus)}`,
  },
  RULES_ERR_ROUTE_NOT_FOUND: {
    statusCode: 404,
    when: 'no route matches the method and path',
    message: (d) => `no route for ${text(d.method)} ${text(d.url)}`,
  },
  RULES_ERR_UNAVAILABLE: {
    statusCode: 503,
    when: 'the database cannot be reached',
    message: () => 'the rules database is unavailable; retry shortly',
  },
  RULES_ERR_INTERNAL: {
    statusCode: 500,
    when: 'an unexpected error occurred; the log has the details',
    message: () => 'internal error; the service log has the details',
  },
} satisfies Record<string, RulesErrorDefinition>;

export type RulesErrorCode = keyof typeof RULES_ERRORS;

/** Builds the error of `code` with its details, which the response body repeats next to code and message. */
export function rulesError(code: RulesErrorCode, details: Details = {}): CroupierError {
  const definition: RulesErrorDefinition = RULES_ERRORS[code];
  return new CroupierError(code, definition.statusCode, definition.message(details), details);
}

export function errorResponseBody(error: CroupierError): { error: Record<string, unknown> } {
  return { error: { code: error.code, message: error.message, ...(error.details ?? {}) } };
}
