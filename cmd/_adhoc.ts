// What ping, run and targets share: the master's error without the RPC
// method's name in front (`no host matched ...`, not `agents.ping: no host ...`).

import { SaltyError, UsageError } from "../lib/errors.ts";

export function withoutMethod(method: string): (err: unknown) => never {
  return (err) => {
    if (!(err instanceof SaltyError) || !err.message.startsWith(`${method}: `)) throw err;
    const message = err.message.slice(method.length + 2);
    throw err.code === "E_USAGE" ? new UsageError(message) : new SaltyError(message, err.code);
  };
}
