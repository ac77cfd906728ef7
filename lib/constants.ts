// Every limit, timeout and interval of salty in one place. Daemons read
// overrides from $SALTY_TIMING (JSON, e.g. {"pingIntervalMs":200}) at start-up
// so that tests can shorten them without touching the code.

export const limits = {
  /** Largest frame after the handshake (file chunks are well below it). */
  maxFrame: 32 * 1024 * 1024,
  /** Largest frame before the peer is authenticated: handshake messages are tiny. */
  maxHandshakeFrame: 1024,
  /** Handshakes in progress at once, in all and per source address. */
  maxPendingHandshakes: 256,
  maxPendingPerAddress: 32,
  /**
   * Connections waiting for a handshake slot (a reconnect storm's): nothing of theirs is read meanwhile; past it, the
   * oldest is dropped. Room for a 10,000-agent fleet's restart: with 4,096, a full line dropped its oldest, the next to
   * be served, for each newcomer (21,000 drops and 28–30 s to get 10,000 back, against 18–23 s here). About 2 KB of the
   * master's memory each (12,000 measured: +23 MB), so at most ~32 MB.
   */
  maxWaitingHandshakes: 16_384,
  /** Handshakes one source address may start at once; then one per timing.handshakeRefillMs. */
  handshakeBurst: 32,
  /** Bytes queued for a peer that does not read before its connection is dropped (bulk senders await drained()). */
  maxSendBuffer: 256 * 1024 * 1024,
  /** Largest request, notification or error reply the master accepts from an agent or client (lib/wire/inbound.ts): far below a frame. */
  maxControlMessage: 1024 * 1024,
  /** Values (results, strings, numbers…) in one role report the master accepts: decoding work and memory per frame stay bounded. */
  maxReportValues: 1_000_000,
  /** Deepest nesting msgpack decoding accepts. */
  maxDepth: 64,
  /** Bytes of a file sent inline in one reply; larger files are pulled in chunks. */
  inlineFileBytes: 4 * 1024 * 1024,
  /** Size of one chunk of a large file transfer. */
  chunkBytes: 4 * 1024 * 1024,
  /** Output of one shell command kept in its Result; the rest is dropped (and said so). */
  shellOutputBytes: 1024 * 1024,
  /** A probe's stdout (a package list, a unit table) kept for its parser; past it the probe fails. */
  probeOutputBytes: 16 * 1024 * 1024,
  /** The agent collects garbage after writing this much received content (lib/sys/runtime.ts). */
  gcEveryReceivedBytes: 32 * 1024 * 1024,
  /** What print() keeps of one role run; the rest is dropped (and said so). */
  printOutputBytes: 1024 * 1024,
  /** Outputs and diffs of one role's results together (characters); past it they are cut (a frame is 32 MiB). */
  roleOutputChars: 8 * 1024 * 1024,
  /** An agent's facts (they travel in every other host's role context). */
  maxFactsBytes: 256 * 1024,
  /** New pending keys one source address may make at once (then one per timing.pendingKeyRefillMs). */
  pendingKeysBurst: 20,
  /** New keys waiting for `salty keys accept`, per kind: past it new ones are refused and not written. */
  maxPendingKeys: 1000,
  /** Output, diffs and prints of one apply report together (characters); past it the longest are cut (a frame is 32 MiB). */
  reportOutputChars: 8 * 1024 * 1024,
  /** Text files larger than this get "diff not shown" instead of a unified diff. */
  diffMaxBytes: 1024 * 1024,
  /** Paths whose hashes the master sends with one role request (the sources its last run fetched). */
  maxHashBatch: 10_000,
  /** Small files read in one file.readMany request (their bytes together stay under chunkBytes). */
  maxReadBatch: 1_000,
  /** Live results (role.result) the master forwards per host and apply; past it they are dropped (the report still has them all). */
  maxLiveResults: 10_000,
  /** `salty run`: output bytes of one host sent at most (past it: cut, and said so). */
  runOutputBytes: 1024 * 1024,
  /** `salty run`: bytes in one cmd.output notification; the master refuses larger ones. */
  runChunkBytes: 16 * 1024,
  /** `salty run`: how long the agent gathers output before sending it. */
  runFlushMs: 20,
  /** `salty run`: cmd.output notifications the master accepts per run and second; past it they are dropped and the output marked cut. */
  runChunksPerSecond: 200,
  /** Bytes of small syncdir files requested from the master at once (pipelined reads). */
  syncInFlightBytes: 8 * 1024 * 1024,
};

export const timing = {
  handshakeTimeoutMs: 10_000,
  /** At the cap of handshakes in progress, a peer that has said nothing for this long gives its slot to one waiting. */
  handshakeHelloGraceMs: 2_000,
  /** …and one that said hello but has not proved its key for this long (its signature is spent: evicted last). */
  handshakeProofGraceMs: 3_000,
  /** One more handshake per source address after this long (limits.handshakeBurst at once): 20 a second. */
  handshakeRefillMs: 50,
  /** A TCP connect that has not completed after this fails. */
  connectTimeoutMs: 10_000,
  /** A closed socket gets this long to flush what was sent before it is destroyed. */
  closeLingerMs: 2_000,
  /** A call with no reply after this is rejected (long calls pass their own). */
  callTimeoutMs: 60_000,
  pingIntervalMs: 10_000,
  /** No frame from the peer for this long: it is dead. */
  peerTimeoutMs: 30_000,
  factsRefreshMs: 60_000,
  /** The agent's first reconnect comes this soon (with jitter), doubling to backoffMaxMs: a restarted master sees its agents back at once. */
  backoffMinMs: 200,
  backoffMaxMs: 30_000,
  roleTimeoutMs: 15 * 60_000,
  /** `salty run`: a command still running after this is killed (--timeout overrides). */
  runTimeoutMs: 5 * 60_000,
  /** `salty ping`: an agent that has not answered after this is reported "no response" (--timeout overrides). */
  pingTimeoutMs: 2_000,
  /** An apply within this long of the master's start first waits (as long as the window lasts) for the accepted agents to reconnect. */
  startupWaitMs: 5_000,
  /** A file whose ctime is this close to when its hash was cached is hashed again (racy stat). */
  statRacyMs: 2_000,
  /** After a shell command exits, how long to wait for background children to close its output. */
  shellDrainMs: 200,
  /** The longest a read-only probe (dpkg-query, systemctl is-active, ...) may take while an operator plans. */
  probeTimeoutMs: 30_000,
  /** The longest a watched tree (the master's syncdir sources, the agent's destinations) is trusted before it is walked again (lib/sys/watched-trees.ts). */
  scanCacheMs: 60_000,
  /** How long the master trusts the fileroot's resolved real path (a deploy may move a symlink). */
  filerootRecheckMs: 1_000,
  /** How often the agent looks whether /etc/passwd or /etc/group changed (its own changes are seen at once). */
  usersRecheckMs: 1_000,
  /** The agent collects garbage once it has had no role to run for this long (its heaps shrink back), the master once no job has ended for this long (master/idle-gc.ts). */
  idleGcMs: 2_000,
  /** The agent stops its role worker (and drops the worker's caches) after this long without a role. */
  workerIdleMs: 5 * 60_000,
  /** One more new pending key per source address after this long (limits.pendingKeysBurst at once). */
  pendingKeyRefillMs: 3_000,
  /** How often the master re-checks that every live session's key is still accepted (file events do it at once: master/key-watch.ts). */
  keysRecheckMs: 10_000,
  /** A command run to gather facts (sw_vers, ifconfig on macOS) that takes longer is killed. */
  factsCommandTimeoutMs: 5_000,
  /** A job record waits this long for others before the history writes them in one transaction (lib/history/recorder.ts). */
  historyFlushMs: 100,
  /** While the history's database is down or full, how often the spooled records are offered to it again. */
  historyRetryMs: 5_000,
  /** A PostgreSQL history that has not answered a statement after this long is treated as down (its records are spooled). */
  historyTimeoutMs: 10_000,
  /** The least time between two scheduled applies the master accepts from one agent (`salty agent --apply-every`): an agent asking more often is refused. */
  scheduledMinGapMs: 60_000,
  /** Several masters on one database: how often each says which agents it holds (lib/master/presence.ts); a row 3 beats old is stale. */
  presenceHeartbeatMs: 10_000,
  /** A rollout's gate= that failed is tried again after this long (gate_retries times). */
  gateRetryMs: 2_000,
};

export type Timing = typeof timing;

/** Apply overrides from a JSON object string; unknown keys are a usage error. */
export function overrideTiming(json: string | undefined): void {
  if (!json) return;
  const parsed = JSON.parse(json) as Record<string, unknown>;
  for (const [k, v] of Object.entries(parsed)) {
    if (!(k in timing) || typeof v !== "number")
      throw new Error(`SALTY_TIMING: unknown or non-numeric key ${k}`);
    (timing as Record<string, number>)[k] = v;
  }
}
