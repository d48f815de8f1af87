/**
 * The few libc calls the netlink binding does not offer (setsockopt, recvmmsg, a send made
 * on the spot), through
 * koffi (a C FFI with prebuilt binaries), loaded on first use: most commands never need it.
 */
export interface Libc {
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
  /** send(2) of `len` bytes of `buf`: to the kernel, for a netlink socket bound to no peer. */
  send(fd: number, buf: Buffer, len: number, flags: number): number;
  /** recvmmsg(2); `msgvec` is koffi memory (alloc), `timeout` null. */
  recvmmsg(fd: number, msgvec: unknown, vlen: number, flags: number, timeout: null): number;
  /** errno of the last call that failed. */
  errno(): number;
  /** Memory outside V8's heap, never moved: `size` bytes, zero, pages made as touched. */
  alloc(size: number): { pointer: unknown; address: bigint; bytes: Buffer };
  free(pointer: unknown): void;
}

let loaded: Promise<Libc> | undefined;

async function load(): Promise<Libc> {
  const { default: koffi } = await import('koffi');
  const lib = koffi.load('libc.so.6');
  const setsockopt = lib.func('int setsockopt(int fd, int level, int name, const void *value, uint32_t len)') as Libc['setsockopt'];
  const send = lib.func('long send(int fd, const void *buf, size_t len, int flags)') as Libc['send'];
  const recvmmsg = lib.func('int recvmmsg(int fd, void *msgvec, unsigned int vlen, int flags, void *timeout)') as Libc['recvmmsg'];
  return {
    setsockopt,
    send,
    recvmmsg,
    errno: () => koffi.errno(),
    alloc: (size) => {
      const pointer: unknown = koffi.alloc('uint8_t', size);
      return { pointer, address: koffi.address(pointer), bytes: Buffer.from(koffi.view(pointer, size)) };
    },
    free: (pointer) => koffi.free(pointer),
  };
}

export function libc(): Promise<Libc> {
  loaded ??= load();
  return loaded;
}
