import { createHmac } from 'node:crypto';
import { PLAYER_TOKEN_AUDIENCE, PLAYER_TOKEN_ISSUER } from '@croupier/shared';

export interface TokenFields {
  secret: string;
  playerId: string;
  brand: string;
  /** Negative for a token that has already expired. */
  expiresInSeconds?: number;
}

/**
 * Builds an HS256 player token with the claims the wallet signs. Written out
 * here instead of calling signPlayerToken so tests can also build tokens that
 * are already expired.
 */
export function buildPlayerToken(fields: TokenFields): string {
  const nowSeconds = Math.floor(Date.now() / 1000);
  const header = { alg: 'HS256', typ: 'JWT' };
  const payload = {
    sub: fields.playerId,
    brand: fields.brand,
    iss: PLAYER_TOKEN_ISSUER,
    aud: PLAYER_TOKEN_AUDIENCE,
    iat: nowSeconds - 120,
    exp: nowSeconds + (fields.expiresInSeconds ?? 300),
  };
  const signingInput = `${encode(header)}.${encode(payload)}`;
  const signature = createHmac('sha256', fields.secret).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}

/** Changes one character of the payload, so the signature no longer matches. */
export function tamperToken(token: string): string {
  const [header, payload, signature] = token.split('.');
  const index = Math.floor((payload?.length ?? 0) / 2);
  const original = payload?.[index] ?? 'A';
  const replacement = original === 'A' ? 'B' : 'A';
  return `${header}.${payload?.slice(0, index)}${replacement}${payload?.slice(index + 1)}.${signature}`;
}

function encode(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
