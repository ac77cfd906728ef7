// A process that dials PORT, sends one frame and closes its link, then has
// nothing left to do: it must exit without waiting for the peer to end its
// side (test/wire/tcp.test.ts). Run from source by that test only.

import { overrideTiming } from "../../lib/constants.ts";
import { connectTcp } from "../../lib/wire/tcp.ts";

overrideTiming(process.env.SALTY_TIMING);
const link = await connectTcp("127.0.0.1", Number(process.argv[2]));
link.send(new TextEncoder().encode("last words"));
link.close("done");
