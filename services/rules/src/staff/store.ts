import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { StaffRole } from '@croupier/shared';
import type { StaffSeedEntry } from '../config.js';
import { hashPassword } from './passwords.js';

export interface StaffAccount {
  staffId: string;
  username: string;
  passwordHash: string;
  role: StaffRole;
  disabled: boolean;
}

interface StaffRow {
  staff_id: string;
  username: string;
  password_hash: string;
  role: StaffRole;
  disabled: boolean;
}

const toAccount = (row: StaffRow): StaffAccount => ({
  staffId: row.staff_id,
  username: row.username,
  passwordHash: row.password_hash,
  role: row.role,
  disabled: row.disabled,
});

export async function findStaffByUsername(pool: pg.Pool, username: string): Promise<StaffAccount | undefined> {
  const { rows } = await pool.query<StaffRow>('SELECT * FROM rules.staff WHERE username = $1', [username]);
  return rows[0] === undefined ? undefined : toAccount(rows[0]);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Returns the account, or undefined when none has this id (including an id that is not a UUID). */
export async function findStaffById(pool: pg.Pool, staffId: string): Promise<StaffAccount | undefined> {
  // A validly signed token can still carry any subject; it must not reach the uuid column as such.
  if (!UUID.test(staffId)) return undefined;
  const { rows } = await pool.query<StaffRow>('SELECT * FROM rules.staff WHERE staff_id = $1', [staffId]);
  return rows[0] === undefined ? undefined : toAccount(rows[0]);
}

/** Creates a staff account; returns false when the username is taken, leaving that account unchanged. */
export async function createStaff(pool: pg.Pool, username: string, password: string, role: StaffRole): Promise<boolean> {
  const passwordHash = await hashPassword(password);
  const result = await pool.query(
    `INSERT INTO rules.staff (staff_id, username, password_hash, role) VALUES ($1, $2, $3, $4)
     ON CONFLICT (username) DO NOTHING`,
    [randomUUID(), username, passwordHash, role],
  );
  return result.rowCount === 1;
}

/** Adds the seed accounts that do not exist yet; an existing account keeps its password and role. */
export async function seedStaff(pool: pg.Pool, seed: readonly StaffSeedEntry[], logger: Logger): Promise<void> {
  for (const entry of seed) {
    const created = await createStaff(pool, entry.username, entry.password, entry.role);
    if (created) logger.info({ username: entry.username, role: entry.role }, 'seeded a staff account');
  }
}
