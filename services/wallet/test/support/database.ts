import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Creates an empty database `wallet_<random>` for one test file; drop() removes it. */
export async function createTestDatabase(pgUrl: string): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = `wallet_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }

  const url = new URL(pgUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const client = new pg.Client({ connectionString: pgUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
