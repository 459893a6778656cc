import { BackofficeRequestError } from './errors.js';

/** Maximum player id length the wallet accepts. */
const PLAYER_ID_LENGTH_MAX = 128;
const FLAG_ID_LENGTH_MAX = 128;
/** Maximum resolution note length of the ComplianceFlagChanged contract. */
export const NOTE_LENGTH_MAX = 4000;

function invalid(message: string): BackofficeRequestError {
  return new BackofficeRequestError('BACKOFFICE_ERR_INVALID_REQUEST', message);
}

function readObject(request: unknown, example: string): Record<string, unknown> {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw invalid(`the request must be an object such as ${example}`);
  }
  return request as Record<string, unknown>;
}

function readId(object: Record<string, unknown>, field: string, lengthMax: number): string {
  const value = object[field];
  if (typeof value !== 'string' || value.trim() === '' || value.length > lengthMax) {
    throw invalid(`${field} must be a non-empty string of at most ${lengthMax} characters`);
  }
  return value.trim();
}

export function parsePlayerRequest(request: unknown): { playerId: string } {
  const object = readObject(request, '{ "playerId": "player-1" }');
  return { playerId: readId(object, 'playerId', PLAYER_ID_LENGTH_MAX) };
}

export function parseFlagRequest(request: unknown): { flagId: string } {
  const object = readObject(request, '{ "flagId": "…" }');
  return { flagId: readId(object, 'flagId', FLAG_ID_LENGTH_MAX) };
}

export function parseResolveRequest(request: unknown): { flagId: string; note: string } {
  const object = readObject(request, '{ "flagId": "…", "note": "…" }');
  const flagId = readId(object, 'flagId', FLAG_ID_LENGTH_MAX);
  const note = object.note;
  if (typeof note !== 'string' || note.trim() === '') throw invalid('note is missing; say why the flag is resolved');
  if (note.length > NOTE_LENGTH_MAX) throw invalid(`note must be at most ${NOTE_LENGTH_MAX} characters`);
  return { flagId, note: note.trim() };
}
