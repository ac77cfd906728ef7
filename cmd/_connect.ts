// How every client command reaches the master (kept out of _cli.ts, which
// every command loads: only the commands that connect load the wire).

import { connectControl } from "../lib/client/connect.ts";
import type { Handlers, Rpc } from "../lib/wire/rpc.ts";
import type { ClientApi, ControlApi } from "../lib/wire/api.ts";
import { clientKeyroot } from "./_cli.ts";
import { useRunOnceJitPolicy } from "../lib/jit-policy.ts";

/** The local socket of the keyroot found as clientKeyroot says (naming every place looked at when it is not there), or --master. */
export function connectClient(
  args: { keyroot?: string; master?: string },
  handlers: Handlers<ClientApi>,
): Promise<Rpc<ClientApi, ControlApi>> {
  useRunOnceJitPolicy(); // a request and its reply: no code here runs often enough to pay for its JIT
  const { dir, searched } = clientKeyroot(args.keyroot);
  return connectControl(
    { keyroot: dir, searched, ...(args.master ? { master: args.master } : {}) },
    handlers,
  );
}
