// Who is at the other end of a Unix socket: the peer's uid, from the kernel
// (SO_PEERCRED on Linux, getpeereid() on macOS), through libc (bun:ffi): Node's
// net module has no binding for either. The master's control socket serves
// only root and its own user with it, whatever the socket file's mode.
// `undefined` means "cannot tell here" (no fd, no libc: a musl system), and the
// caller says so; it never means "allowed".

import { dlopen, FFIType, ptr } from "bun:ffi";

type PeerUid = (fd: number) => number | undefined;

const SOL_SOCKET = 1;
const SO_PEERCRED = 17;

let loaded: { uid: PeerUid } | { why: string } | undefined;

function load(): { uid: PeerUid } | { why: string } {
  try {
    if (process.platform === "linux") {
      const libc = dlopen("libc.so.6", {
        getsockopt: {
          args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr],
          returns: FFIType.i32,
        },
      });
      return {
        uid: (fd) => {
          const cred = new Int32Array(3); // struct ucred { pid_t pid; uid_t uid; gid_t gid; }
          const len = new Uint32Array([12]);
          return libc.symbols.getsockopt(fd, SOL_SOCKET, SO_PEERCRED, ptr(cred), ptr(len)) === 0
            ? cred[1]! >>> 0
            : undefined;
        },
      };
    }
    if (process.platform === "darwin") {
      const libc = dlopen("libSystem.B.dylib", {
        getpeereid: { args: [FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
      });
      return {
        uid: (fd) => {
          const uid = new Uint32Array(1);
          const gid = new Uint32Array(1);
          return libc.symbols.getpeereid(fd, ptr(uid), ptr(gid)) === 0 ? uid[0] : undefined;
        },
      };
    }
    return { why: `no peer credentials on ${process.platform}` };
  } catch (err) {
    return { why: `libc cannot be opened (${(err as Error).message})` };
  }
}

/** The uid of the process connected on `fd`, or why it cannot be known here. */
export function peerUid(fd: number | undefined): { uid: number } | { why: string } {
  loaded ??= load();
  if ("why" in loaded) return loaded;
  if (typeof fd !== "number" || fd < 0)
    return { why: "the runtime does not expose the socket's descriptor" };
  const uid = loaded.uid(fd);
  return uid === undefined ? { why: "getsockopt(SO_PEERCRED) failed" } : { uid };
}
