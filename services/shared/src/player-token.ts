import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';

/**
 * Short-lived player session tokens for the push gateway. The wallet signs
 * them for the licensee's backend and the gateway of the same brand verifies
 * them at the socket.io handshake. HS256 with a per-brand secret that both
 * services receive in their configuration.
 */
export const PLAYER_TOKEN_ISSUER = 'croupier-wallet';
export const PLAYER_TOKEN_AUDIENCE = 'croupier-push-gateway';
export const MAX_PLAYER_TOKEN_TTL_SECONDS = 3600;

export interface PlayerTokenClaims {
  playerId: string;
  brand: string;
  expiresAt: Date;
}

export type PlayerTokenErrorCode = 'TOKEN_INVALID' | 'TOKEN_EXPIRED' | 'BRAND_MISMATCH';

export class PlayerTokenError extends Error {
  constructor(
    readonly code: PlayerTokenErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PlayerTokenError';
  }
}

function secretKey(secret: string): Uint8Array {
  if (Buffer.byteLength(secret) < 32) {
    throw new RangeError('player token secret must be at least 32 bytes');
  }
  return new TextEncoder().encode(secret);
}

export async function signPlayerToken(
  secret: string,
  claims: { playerId: string; brand: string; ttlSeconds: number },
): Promise<{ token: string; expiresAt: Date }> {
  if (!Number.isInteger(claims.ttlSeconds) || claims.ttlSeconds < 1 || claims.ttlSeconds > MAX_PLAYER_TOKEN_TTL_SECONDS) {
    throw new RangeError(`token ttlSeconds must be an integer from 1 to ${MAX_PLAYER_TOKEN_TTL_SECONDS}`);
  }
  const issuedAtSeconds = Math.floor(Date.now() / 1000);
  const expiresAtSeconds = issuedAtSeconds + claims.ttlSeconds;
  const token = await new SignJWT({ brand: claims.brand })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.playerId)
    .setIssuer(PLAYER_TOKEN_ISSUER)
    .setAudience(PLAYER_TOKEN_AUDIENCE)
    .setIssuedAt(issuedAtSeconds)
    .setExpirationTime(expiresAtSeconds)
    .sign(secretKey(secret));
  return { token, expiresAt: new Date(expiresAtSeconds * 1000) };
}

/**
 * Verifies signature, issuer, audience and expiry, then that the token was
 * issued for `expectedBrand`. Throws PlayerTokenError with a code the
 * gateway maps to its handshake error codes.
 */
export async function verifyPlayerToken(secret: string, token: string, expectedBrand: string): Promise<PlayerTokenClaims> {
  let payload;
  try {
    ({ payload } = await jwtVerify(token, secretKey(secret), {
      issuer: PLAYER_TOKEN_ISSUER,
      audience: PLAYER_TOKEN_AUDIENCE,
      algorithms: ['HS256'],
      requiredClaims: ['sub', 'exp', 'brand'],
    }));
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) {
      throw new PlayerTokenError('TOKEN_EXPIRED', 'player token has expired; request a new one');
    }
    throw new PlayerTokenError('TOKEN_INVALID', `player token is invalid: ${(error as Error).message}`);
  }

  if (payload.brand !== expectedBrand) {
    throw new PlayerTokenError(
      'BRAND_MISMATCH',
      `player token was issued for brand ${JSON.stringify(payload.brand)}, this gateway serves ${JSON.stringify(expectedBrand)}`,
    );
  }
  return { playerId: payload.sub as string, brand: expectedBrand, expiresAt: new Date((payload.exp as number) * 1000) };
}
