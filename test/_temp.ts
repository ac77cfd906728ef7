// Temporary directories for tests, the one way to make them (test/README.md):
// - tempDirs(prefix): per test, each call a new directory, removed after each test;
// - tempDirForFile(prefix): one directory for the whole test file, removed after all its tests;
// - tempDir(prefix): one directory removed when its scope ends (`using`), or by
//   whoever owns it (a world, a harness) calling its [Symbol.dispose]().

import { afterAll, afterEach } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TempDir extends Disposable {
  readonly path: string;
}

/** A new directory under the system's temp dir, removed (with all it holds) on dispose. */
export function tempDir(prefix: string): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, [Symbol.dispose]: () => rmSync(path, { recursive: true, force: true }) };
}

/** Call at the top of a test file; each call of the function it returns makes a new directory. */
export function tempDirs(prefix: string): () => string {
  const dirs: TempDir[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) d[Symbol.dispose]();
  });
  return () => {
    const d = tempDir(prefix);
    dirs.push(d);
    return d.path;
  };
}

/** Call at the top of a test file (or in beforeAll): one directory, removed after all its tests. */
export function tempDirForFile(prefix: string): string {
  const d = tempDir(prefix);
  afterAll(() => d[Symbol.dispose]());
  return d.path;
}
