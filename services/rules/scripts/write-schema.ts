import { writeFile } from 'node:fs/promises';
import { ruleFileJsonSchema } from '../src/rules/schema.js';

/** Writes schema/rules.schema.json from the TypeBox definitions in src/rules/schema.ts. */
const target = new URL('../schema/rules.schema.json', import.meta.url);
await writeFile(target, ruleFileJsonSchema());
process.stdout.write(`wrote ${target.pathname}\n`);
