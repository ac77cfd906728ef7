// What guards the master's local side: the keyroot (keys, crypto.pass and the
// control socket, which serves every client command without a key) must be
// the master's own directory, closed to other users; and each connection to
// the control socket must come from root or the master's own user, checked
// with the kernel's peer credentials (sys/peer-cred.ts) whatever the socket
// file's mode. Where the credentials cannot be read, the 0700 keyroot and the
// 0600 socket made in a fresh 0700 directory (wire/tcp.ts) are the guard, and
// the log says so once.

import { chmodSync, statSync } from "node:fs";
import { SaltyError } from "../errors.ts";
import { log } from "../log.ts";
import { peerUid } from "../sys/peer-cred.ts";

/** Refuse a keyroot others can write or that another user owns; close one others can read. */
export function guardKeyroot(keyroot: string): void {
  const st = statSync(keyroot);
  if (!st.isDirectory())
    throw new SaltyError(`the keyroot ${keyroot} is not a directory`, "E_KEYROOT");
  const me = process.getuid?.() ?? 0;
  if (st.uid !== me && st.uid !== 0)
    throw new SaltyError(
      `the keyroot ${keyroot} belongs to uid ${st.uid}, not to this user (uid ${me}) or root: refusing to keep keys there`,
      "E_KEYROOT",
    );
  const mode = st.mode & 0o777;
  if (mode & 0o022) {
    throw new SaltyError(
      `the keyroot ${keyroot} is writable by group or others (mode 0${mode.toString(8)}): check what is in it, then chmod 700 ${keyroot}`,
      "E_KEYROOT",
    );
  }
  if (mode & 0o077) {
    chmodSync(keyroot, 0o700);
    log("master.keyroot_mode_fixed", { keyroot, was: `0${mode.toString(8)}`, now: "0700" });
  }
}

/** The control socket's admission: root and the master's own uid; anyone else is refused with a reason. */
export function controlPeers(): (fd: number | undefined) => string | undefined {
  const me = process.getuid?.() ?? 0;
  let warned = false;
  return (fd) => {
    const peer = peerUid(fd);
    if ("uid" in peer)
      return peer.uid === 0 || peer.uid === me
        ? undefined
        : `control socket: uid ${peer.uid} refused (it serves root and uid ${me} only)`;
    if (!warned) {
      warned = true;
      log("master.peer_check_unavailable", {
        reason: peer.why,
        guard: "the keyroot's mode 0700 and the socket's 0600",
      });
    }
    return undefined;
  };
}
