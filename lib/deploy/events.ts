// Each deploy's event log, kept in memory on the master: numbered events
// (bundle-received, release-live, apply-start, host-result, apply-end, error)
// that any number of readers follow from any point (`Last-Event-ID`), so a
// client that lost its connection resumes where it was. The last 200
// deploys are kept.

export interface DeployEvent {
  id: number;
  event: string;
  data: unknown;
}

export class DeployLog {
  readonly events: DeployEvent[] = [];
  done = false;
  private wake = new Set<() => void>();

  constructor(
    readonly id: string,
    readonly project: string,
    readonly deployment: string,
  ) {}

  emit(event: string, data: unknown): void {
    if (this.done) return;
    this.events.push({ id: this.events.length + 1, event, data });
    this.notify();
  }

  end(): void {
    this.done = true;
    this.notify();
  }

  private notify(): void {
    const w = [...this.wake];
    this.wake.clear();
    for (const f of w) f();
  }

  /** Events after `after`, then each new one as it comes, until the deploy ends. */
  async *from(after: number): AsyncGenerator<DeployEvent> {
    let next = Math.max(0, after);
    for (;;) {
      while (next < this.events.length) yield this.events[next++]!;
      if (this.done) return;
      await new Promise<void>((resolve) => this.wake.add(resolve));
    }
  }

  /** Resolves when the deploy has ended. */
  finished(): Promise<void> {
    return this.done
      ? Promise.resolve()
      : new Promise((resolve) =>
          this.wake.add(() => (this.done ? resolve() : void this.finished().then(resolve))),
        );
  }
}

export class DeployLogs {
  private logs = new Map<string, DeployLog>();

  create(id: string, project: string, deployment: string): DeployLog {
    const log = new DeployLog(id, project, deployment);
    this.logs.set(id, log);
    while (this.logs.size > 200) this.logs.delete(this.logs.keys().next().value!);
    return log;
  }

  get(id: string): DeployLog | undefined {
    return this.logs.get(id);
  }
}

/** One event in the Server-Sent Events format. */
export function sse(e: DeployEvent): string {
  return `id: ${e.id}\nevent: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;
}
