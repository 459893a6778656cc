import { parseArgs } from 'node:util';
import { createLogger } from '@croupier/shared';
import { staffEntryProblem } from '../src/config.js';
import { createPool } from '../src/db/pool.js';
import { createStaff } from '../src/staff/store.js';

const usage = `Usage: DATABASE_URL=postgres://... npm run add-staff -w services/rules -- --username NAME --role agent|compliance_officer

Adds a back office staff account to the rules schema of the brand database.
The password is read from the RULES_STAFF_PASSWORD environment variable, so
it stays out of the shell history and the process list. Exits 1 when the
username is taken or an input is invalid.`;

const { values } = parseArgs({ options: { username: { type: 'string' }, role: { type: 'string' }, help: { type: 'boolean' } } });
if (values.help === true) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
const databaseUrl = process.env.DATABASE_URL;
const password = process.env.RULES_STAFF_PASSWORD;
const problem =
  databaseUrl === undefined || databaseUrl === ''
    ? 'DATABASE_URL is missing'
    : staffEntryProblem(values.username, password, values.role);
if (problem !== undefined) {
  console.error(`invalid input: ${problem}\n\n${usage}`);
  process.exit(1);
}

const logger = createLogger({ service: 'rules-add-staff' });
const pool = createPool(databaseUrl as string, 1, logger, 'rules-add-staff');
try {
  const created = await createStaff(pool, values.username as string, password as string, values.role as 'agent' | 'compliance_officer');
  if (!created) {
    console.error(`username ${values.username} is taken; choose another`);
    process.exitCode = 1;
  } else {
    process.stdout.write(`added ${values.role} ${values.username}\n`);
  }
} finally {
  await pool.end();
}
