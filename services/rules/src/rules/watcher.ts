import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import { compileRuleFile, RuleFileError, type RuleFileProblem, type RuleSet } from './load.js';

/** Status of the loaded rules, as GET /rules returns it. */
export interface RulesStatus {
  file: string;
  /** Null until a valid file has been loaded. */
  version: string | null;
  loadedAt: string | null;
  ruleCount: number;
  ruleIds: string[];
  lastError: { at: string; message: string; problems: RuleFileProblem[] } | null;
}

export interface RulesWatcherOptions {
  file: string;
  brand: string;
  logger: Logger;
  /** Called after each load attempt, for metrics. */
  onLoad?: (result: 'loaded' | 'unchanged' | 'failed', rules: RuleSet | undefined) => void;
  /** Quiet time after a file system event before the file is read, so a burst of events reads once. */
  debounceMs?: number;
}

/**
 * Holds the brand's current rules and reloads them when the file changes,
 * without a restart. It watches the file's directory, not the file, because a
 * Kubernetes ConfigMap volume updates by swapping the `..data` symlink, which
 * a watch on the old file never reports. A file that fails to parse or
 * validate leaves the current rules in force and is reported in `status`.
 */
export class RulesWatcher {
  private current: RuleSet | undefined;
  private lastError: RulesStatus['lastError'] = null;
  /** Content of the last file that failed validation. */
  private failedText: string | undefined;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reloading: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<(rules: RuleSet) => void>();

  constructor(private readonly options: RulesWatcherOptions) {}

  get rules(): RuleSet | undefined {
    return this.current;
  }

  /** Registers a listener called whenever a new valid rule set is loaded. */
  onChange(listener: (rules: RuleSet) => void): void {
    this.listeners.add(listener);
  }

  /** Loads the file once and starts watching its directory. A first load that fails leaves no rules and is reported. */
  async start(): Promise<void> {
    await this.reload('start');
    const directory = path.dirname(path.resolve(this.options.file));
    const fileName = path.basename(this.options.file);
    // Only the rule file and a ConfigMap's `..data` swap matter; a log or any
    // other file written next to it must not trigger reloads.
    this.watcher = watch(directory, { persistent: false }, (_event, changed) => {
      if (changed === null || changed === fileName || changed.startsWith('..')) this.scheduleReload();
    });
    this.watcher.on('error', (error) => {
      this.options.logger.error({ err: error, directory }, 'watching the rules directory failed; reloads stop until restart');
    });
  }

  async stop(): Promise<void> {
    this.watcher?.close();
    this.watcher = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.reloading;
  }

  /** Reads, validates and swaps in the file now. Serialised, so overlapping reloads apply in order. */
  reload(reason: string): Promise<void> {
    this.reloading = this.reloading.then(() => this.load(reason));
    return this.reloading;
  }

  status(): RulesStatus {
    return {
      file: this.options.file,
      version: this.current?.version ?? null,
      loadedAt: this.current?.loadedAt.toISOString() ?? null,
      ruleCount: this.current?.rules.length ?? 0,
      ruleIds: this.current?.rules.map((rule) => rule.id) ?? [],
      lastError: this.lastError,
    };
  }

  private scheduleReload(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.reload('file changed');
    }, this.options.debounceMs ?? 100);
  }

  private async load(reason: string): Promise<void> {
    const { file, brand, logger, onLoad } = this.options;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      // A ConfigMap swap removes and recreates links, so a read can miss the
      // file for a moment; the event that follows the swap reads it again.
      this.fail(reason, `reading ${file} failed: ${(error as Error).message}`, []);
      return;
    }

    // The same invalid content was reported already; saying it again on every event would flood the log.
    if (this.lastError !== null && this.failedText === text) return;
    let rules: RuleSet;
    try {
      rules = compileRuleFile(text, file, brand);
    } catch (error) {
      if (!(error instanceof RuleFileError)) throw error;
      this.failedText = text;
      this.fail(reason, error.message, error.problems);
      return;
    }
    if (this.current?.contentHash === rules.contentHash && this.lastError === null) {
      onLoad?.('unchanged', this.current);
      return;
    }

    const previousVersion = this.current?.version ?? null;
    this.current = rules;
    this.lastError = null;
    logger.info({ reason, version: rules.version, previousVersion, ruleCount: rules.rules.length }, 'rules loaded');
    onLoad?.('loaded', rules);
    for (const listener of this.listeners) listener(rules);
  }

  private fail(reason: string, message: string, problems: RuleFileProblem[]): void {
    this.lastError = { at: new Date().toISOString(), message, problems };
    this.options.logger.error(
      { reason, file: this.options.file, problems, keptVersion: this.current?.version ?? null },
      'rule file is invalid; the previous rules stay in force',
    );
    this.options.onLoad?.('failed', this.current);
  }
}
