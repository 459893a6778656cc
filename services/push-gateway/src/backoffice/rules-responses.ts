import type { ComplianceFlagView, FlagStatus, InterventionAction, InterventionView, Severity } from '@croupier/shared/contracts';
import { BackofficeRequestError } from './errors.js';

/**
 * Checks the rules service's responses and maps them to the back office's
 * views. A flag from `GET /players/:playerId/flags` or `GET /flags` carries
 * the author and note of its latest change. A flag returned by review or
 * resolve carries its whole audit trail, whose last entry gives both.
 */

type Json = Record<string, unknown>;

const SEVERITIES: ReadonlySet<string> = new Set<Severity>(['low', 'medium', 'high']);
const FLAG_STATUSES: ReadonlySet<string> = new Set<FlagStatus>(['open', 'in_review', 'resolved']);
const ACTIONS: ReadonlySet<string> = new Set<InterventionAction>(['prompt', 'email', 'flag']);

function invalid(problem: string): BackofficeRequestError {
  return new BackofficeRequestError('BACKOFFICE_ERR_RULES_UNAVAILABLE', `rules service returned an invalid response: ${problem}`);
}

function asObject(value: unknown, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`${what} is not an object`);
  return value as Json;
}

function readString(object: Json, field: string, what: string): string {
  const value = object[field];
  if (typeof value !== 'string') throw invalid(`${what}.${field} is not a string`);
  return value;
}

function readNullableString(object: Json, field: string, what: string): string | null {
  const value = object[field];
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw invalid(`${what}.${field} is not a string`);
  return value;
}

function readOneOf<T extends string>(object: Json, field: string, allowed: ReadonlySet<string>, what: string): T {
  const value = readString(object, field, what);
  if (!allowed.has(value)) throw invalid(`${what}.${field} ${JSON.stringify(value)} is unknown`);
  return value as T;
}

/** Keeps the numeric entries only: the page shows numbers, and one odd value should not hide the whole player. */
function readNumberRecord(object: Json, field: string, what: string): Record<string, number> {
  const record = asObject(object[field], `${what}.${field}`);
  return Object.fromEntries(Object.entries(record).filter((entry): entry is [string, number] => typeof entry[1] === 'number'));
}

function readList(body: unknown, field: string): unknown[] {
  const list = asObject(body, 'body')[field];
  if (!Array.isArray(list)) throw invalid(`${field} is not an array`);
  return list;
}

/**
 * Reads the actor and note of the latest change: from the audit trail when the
 * flag carries it, else from the `lastActor` and `lastNote` of list entries.
 */
function readLastChange(flag: Json): { changedBy: string | null; note: string | null } {
  const audit = flag.audit;
  if (!Array.isArray(audit) || audit.length === 0) {
    const changedBy = typeof flag.lastActor === 'string' ? flag.lastActor : null;
    const note = typeof flag.lastNote === 'string' ? flag.lastNote : null;
    return { changedBy, note };
  }
  const last = asObject(audit[audit.length - 1], 'flag.audit[]');
  return { changedBy: readNullableString(last, 'actor', 'flag.audit[]'), note: readNullableString(last, 'note', 'flag.audit[]') };
}

export function checkFlag(body: unknown): ComplianceFlagView {
  const flag = asObject(body, 'flag');
  return {
    flagId: readString(flag, 'flagId', 'flag'),
    playerId: readString(flag, 'playerId', 'flag'),
    interventionId: readString(flag, 'interventionId', 'flag'),
    ruleId: readString(flag, 'ruleId', 'flag'),
    severity: readOneOf<Severity>(flag, 'severity', SEVERITIES, 'flag'),
    status: readOneOf<FlagStatus>(flag, 'status', FLAG_STATUSES, 'flag'),
    ...readLastChange(flag),
    updatedAt: readString(flag, 'updatedAt', 'flag'),
  };
}

export function checkFlagList(body: unknown): ComplianceFlagView[] {
  return readList(body, 'flags').map(checkFlag);
}

export function checkIntervention(body: unknown): InterventionView {
  const intervention = asObject(body, 'intervention');
  const actions = intervention.actions;
  if (!Array.isArray(actions) || !actions.every((action) => typeof action === 'string' && ACTIONS.has(action))) {
    throw invalid('intervention.actions is not a list of prompt, email and flag');
  }
  return {
    interventionId: readString(intervention, 'interventionId', 'intervention'),
    playerId: readString(intervention, 'playerId', 'intervention'),
    ruleId: readString(intervention, 'ruleId', 'intervention'),
    ruleKind: readString(intervention, 'ruleKind', 'intervention'),
    severity: readOneOf<Severity>(intervention, 'severity', SEVERITIES, 'intervention'),
    actions: actions as InterventionAction[],
    message: readString(intervention, 'message', 'intervention'),
    flagId: readNullableString(intervention, 'flagId', 'intervention'),
    values: readNumberRecord(intervention, 'values', 'intervention'),
    thresholds: readNumberRecord(intervention, 'thresholds', 'intervention'),
    triggeredAt: readString(intervention, 'createdAt', 'intervention'),
  };
}

export function checkInterventionList(body: unknown): InterventionView[] {
  return readList(body, 'interventions').map(checkIntervention);
}
