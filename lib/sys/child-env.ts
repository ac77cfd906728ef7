// The environment every child process of salty starts from: the daemon's own,
// less what only salty itself may read (the crypto password). A role's shell,
// a serverShell or a probe never sees it, whatever the role prints.

/** Variables that are never passed to a child process. */
export const PRIVATE_ENV: readonly string[] = ["PASSWORD", "SALTY_PASSWORD"];

/** process.env without PRIVATE_ENV, plus `extra` (a role may pass such a name on purpose). */
export function childEnv(extra?: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !PRIVATE_ENV.includes(k)) env[k] = v;
  return extra ? Object.assign(env, extra) : env;
}
