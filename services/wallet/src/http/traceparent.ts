import { randomBytes } from 'node:crypto';

const TRACEPARENT_PATTERN = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/**
 * Returns the W3C traceparent for work done by this request: the caller's
 * trace id with a new span id, or a new trace when the header is missing or
 * invalid.
 */
export function childTraceparent(header: string | string[] | undefined): string {
  const spanId = randomBytes(8).toString('hex');
  const match = typeof header === 'string' ? TRACEPARENT_PATTERN.exec(header.trim().toLowerCase()) : null;
  if (match !== null && match[1] !== 'ff' && match[2] !== ZERO_TRACE_ID && match[3] !== ZERO_SPAN_ID) {
    return `00-${match[2]}-${spanId}-${match[4]}`;
  }
  return `00-${randomBytes(16).toString('hex')}-${spanId}-01`;
}
