// The port both backends implement: statements with $1, $2… placeholders (the
// SQLite adapter rewrites them), run one at a time or in a transaction. The
// store (store.ts) and the migrations (schema.ts) speak only this.

export type Row = Record<string, unknown>;

export interface Sql {
  run(text: string, params?: unknown[]): Promise<void>;
  all(text: string, params?: unknown[]): Promise<Row[]>;
}

export interface Db extends Sql {
  /** "sqlite" or "postgres": what the log and the tests show. */
  readonly kind: string;
  /** A statement that, run first in a transaction, keeps other masters out of the migrations until it ends (SQLite's BEGIN IMMEDIATE already does). */
  readonly migrationLock?: string;
  /** Statements that all happen or none do. */
  transaction(fn: (tx: Sql) => Promise<void>): Promise<void>;
  /** Work done after a prune so the storage does not grow (SQLite gives freed pages back). */
  compact(): Promise<void>;
  close(): Promise<void>;
}
