/**
 * docs/benchmarks.md is written by more than one benchmark. Each writes its
 * own section between `<!-- section:NAME -->` and `<!-- /section:NAME -->`
 * markers and keeps every other section as it found it.
 */

const SECTION = /<!-- section:([a-z0-9-]+) -->[\s\S]*?<!-- \/section:\1 -->\n?/g;

function wrap(name: string, body: string): string {
  return `<!-- section:${name} -->\n${body.trimEnd()}\n<!-- /section:${name} -->\n`;
}

/** Returns the marked sections of a document, in order. */
export function markedSections(markdown: string): string[] {
  return [...markdown.matchAll(SECTION)].map((match) => match[0].endsWith('\n') ? match[0] : `${match[0]}\n`);
}

/** `rendered` followed by the marked sections of `existing`, for a benchmark that rewrites the rest of the file. */
export function keepMarkedSections(existing: string, rendered: string): string {
  const sections = markedSections(existing);
  return sections.length === 0 ? rendered : `${rendered.trimEnd()}\n\n${sections.join('\n')}`;
}

/** Replaces the section `name` in `existing`, or appends it when missing. */
export function upsertMarkedSection(existing: string, name: string, body: string): string {
  const pattern = new RegExp(`<!-- section:${name} -->[\\s\\S]*?<!-- /section:${name} -->\\n?`);
  if (pattern.test(existing)) return existing.replace(pattern, wrap(name, body));
  return `${existing.trimEnd()}\n\n${wrap(name, body)}`;
}
