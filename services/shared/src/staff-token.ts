import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';

/**
 * Session tokens of licensee staff for the back office. The rules service
 * signs one when a staff member signs in; the push gateway of the same brand
 * verifies it at the `/backoffice` handshake, and the rules service on every
 * API call. HS256 with a per-brand secret both services receive.
 */
export const STAFF_TOKEN_ISSUER = 'croupier-rules';
export const STAFF_TOKEN_AUDIENCE = 'croupier-backoffice';
export const MAX_STAFF_TOKEN_TTL_SECONDS = 12 * 3600;

export const STAFF_ROLES = ['agent', 'compliance_officer'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

export interface StaffTokenClaims {
  staffId: string;
  username: string;
  brand: string;
  role: StaffRole;
  expiresAt: Date;
}

export type StaffTokenErrorCode = 'TOKEN_INVALID' | 'TOKEN_EXPIRED' | 'BRAND_MISMATCH';

export class StaffTokenError extends Error {
  constructor(
    readonly code: StaffTokenErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StaffTokenError';
  }
}

function secretKey(secret: string): Uint8Array {
  if (Buffer.byteLength(secret) < 32) throw new RangeError('staff token secret must be at least 32 bytes');
  return new TextEncoder().encode(secret);
}

export function isStaffRole(value: unknown): value is StaffRole {
  return typeof value === 'string' && (STAFF_ROLES as readonly string[]).includes(value);
}

export async function signStaffToken(
  secret: string,
  claims: { staffId: string; username: string; brand: string; role: StaffRole; ttlSeconds: number },
): Promise<{ token: string; expiresAt: Date }> {
  if (!Number.isInteger(claims.ttlSeconds) || claims.ttlSeconds < 1 || claims.ttlSeconds > MAX_STAFF_TOKEN_TTL_SECONDS) {
    throw new RangeError(`token ttlSeconds must be an integer from 1 to ${MAX_STAFF_TOKEN_TTL_SECONDS}`);
  }
  const issuedAtSeconds = Math.floor(Date.now() / 1000);
  const expiresAtSeconds = issuedAtSeconds + claims.ttlSeconds;
  const token = await new SignJWT({ brand: claims.brand, role: claims.role, username: claims.username })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.staffId)
    .setIssuer(STAFF_TOKEN_ISSUER)
    .setAudience(STAFF_TOKEN_AUDIENCE)
    .setIssuedAt(issuedAtSeconds)
    .setExpirationTime(expiresAtSeconds)
    .sign(secretKey(secret));
  return { token, expiresAt: new Date(expiresAtSeconds * 1000) };
}

/**
 * Verifies signature, issuer, audience, expiry and role, then that the token
 * was issued for `expectedBrand`. Throws StaffTokenError with a code callers
 * map to their own error codes.
 */
export async function verifyStaffToken(secret: string, token: string, expectedBrand: string): Promise<StaffTokenClaims> {
  let payload;
  try {
    ({ payload } = await jwtVerify(token, secretKey(secret), {
      issuer: STAFF_TOKEN_ISSUER,
      audience: STAFF_TOKEN_AUDIENCE,
      algorithms: ['HS256'],
      requiredClaims: ['sub', 'exp', 'brand', 'role', 'username'],
    }));
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw new StaffTokenError('TOKEN_EXPIRED', 'staff token has expired; sign in again');
    throw new StaffTokenError('TOKEN_INVALID', `staff token is invalid: ${(error as Error).message}`);
  }
  if (!isStaffRole(payload.role) || typeof payload.username !== 'string') {
    throw new StaffTokenError('TOKEN_INVALID', `staff token has an unknown role: ${String(payload.role)}`);
  }
  if (payload.brand !== expectedBrand) {
    throw new StaffTokenError('BRAND_MISMATCH', `staff token is for brand ${String(payload.brand)}, not ${expectedBrand}`);
  }
  return {
    staffId: payload.sub as string,
    username: payload.username,
    brand: expectedBrand,
    role: payload.role,
    expiresAt: new Date((payload.exp as number) * 1000),
  };
}
