/**
 * Checks rule files the way the rules service loads them, without starting
 * it: `npm run check-rules -w services/rules -- FILE... [--brand BRAND]`.
 * Prints each file's rules or its problems with their paths, and exits 1
 * when any file is invalid.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { compileRuleFile, RuleFileError } from '../src/rules/load.js';

const { values, positionals } = parseArgs({ options: { brand: { type: 'string' } }, allowPositionals: true });
if (positionals.length === 0) {
  console.error('usage: npm run check-rules -w services/rules -- FILE... [--brand BRAND]');
  process.exit(2);
}

let invalid = 0;
for (const file of positionals) {
  const absolute = path.resolve(process.env.INIT_CWD ?? process.cwd(), file);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    console.error(`${file}: cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    invalid += 1;
    continue;
  }
  // Without --brand the file's own brand field, if any, is taken as right.
  const brand = values.brand ?? (/^brand:\s*([a-z0-9-]+)\s*$/m.exec(text)?.[1] ?? 'any-brand');
  try {
    const rules = compileRuleFile(text, file, brand);
    console.log(`${file}: valid, ${rules.rules.length} rules (${rules.rules.map((rule) => rule.id).join(', ')}), version ${rules.version}`);
  } catch (error) {
    if (!(error instanceof RuleFileError)) throw error;
    invalid += 1;
    console.error(`${file}: invalid`);
    for (const problem of error.problems) console.error(`  ${problem.path}: ${problem.message}`);
  }
}
process.exit(invalid === 0 ? 0 : 1);
