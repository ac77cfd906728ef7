// Starting a file's writeback early, so that the fsyncs of a batch of new
// files find their data already on its way to the disk and cost one journal
// commit rather than one each. This is dpkg's recipe for unpacking packages:
// sync_file_range(SYNC_FILE_RANGE_WRITE) right after writing each file, then
// fsync each, then rename each. It never replaces the fsync: it only makes
// it cheaper.
//
// Linux only, through libc (bun:ffi): syscalls that Node's fs has no binding
// for. Anywhere else, or when libc cannot be opened (a musl system), it does
// nothing and the fsyncs simply cost what they cost.

import { dlopen, FFIType } from "bun:ffi";

type StartWriteback = (fd: number) => void;

/** sync_file_range's flag: start writing the dirty pages of the range, do not wait. */
const SYNC_FILE_RANGE_WRITE = 2;

let loaded: StartWriteback | undefined;

function load(): StartWriteback {
  if (process.platform !== "linux") return () => {};
  try {
    // Opened on first use: the FFI stub is compiled then, and most commands never write a file.
    const libc = dlopen("libc.so.6", {
      sync_file_range: {
        args: [FFIType.i32, FFIType.i64, FFIType.i64, FFIType.u32],
        returns: FFIType.i32,
      },
    });
    // Offset 0, length 0: the whole file. A failure (EINVAL on some filesystems) is harmless: the fsync still runs.
    return (fd) => void libc.symbols.sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
  } catch {
    return () => {};
  }
}

/** Ask the kernel to start writing `fd`'s dirty pages now, without waiting for them. */
export function startWriteback(fd: number): void {
  loaded ??= load();
  loaded(fd);
}
