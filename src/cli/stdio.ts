/**
 * stdout and stderr without Node's streams where those are not needed. process.stdout and
 * process.stderr are made on first use, and making one loads Node's stream modules, and
 * for a pipe or a socket its net module too: in the test VM ~50 ms for a file or
 * /dev/null, ~100-150 ms for a pipe, for a command that writes there one line or nothing
 * (add-flows' summary on stderr, dump-flows to a file, --version). Until a stream is made,
 * its fd is written with write(2), which is what the stream itself does on Linux for a
 * file, a pipe or a terminal (synchronously); once made, the stream is used, so that the
 * text keeps its order after anything the stream still holds.
 */
import { once } from 'node:events';
import { fs } from '../nl/node-builtins.js';

type StdioName = 'stdout' | 'stderr';

const streams: Record<StdioName, NodeJS.WriteStream | undefined> = { stdout: undefined, stderr: undefined };
const whenMadeCalls: Record<StdioName, ((stream: NodeJS.WriteStream) => void)[]> = { stdout: [], stderr: [] };

/** Node's lazy getter of process[name], wrapped once to learn when the stream is made. */
function watch(name: StdioName): void {
  const made = Object.getOwnPropertyDescriptor(process, name);
  const make = made?.get;
  if (!made?.configurable || !make) {
    streams[name] = process[name];
    return;
  }
  Object.defineProperty(process, name, {
    ...made,
    get(): NodeJS.WriteStream {
      Object.defineProperty(process, name, made);
      const stream = make.call(process) as NodeJS.WriteStream;
      streams[name] = stream;
      for (const call of whenMadeCalls[name].splice(0)) call(stream);
      return stream;
    },
  });
}
watch('stdout');
watch('stderr');

const nameOf = (fd: 1 | 2): StdioName => (fd === 1 ? 'stdout' : 'stderr');

/** Runs `call` with process[name] when that is made (now, if it is). */
export function whenMade(name: StdioName, call: (stream: NodeJS.WriteStream) => void): void {
  const stream = streams[name];
  if (stream) call(stream);
  else whenMadeCalls[name].push(call);
}

/**
 * Whether fd 1 or 2 is a terminal, told without making its stream where it cannot be one:
 * only a character device can be a terminal, and /dev/null is none.
 */
export function isTerminal(fd: 1 | 2): boolean {
  const stream = streams[nameOf(fd)];
  if (stream) return stream.isTTY === true;
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isCharacterDevice() || stat.rdev === fs.statSync('/dev/null').rdev) return false;
  } catch {
    return false;
  }
  return process[nameOf(fd)].isTTY === true;
}

/** Whether fd 1 or 2 is a regular file (false when it is closed). */
export function isRegularFile(fd: 1 | 2): boolean {
  try {
    return fs.fstatSync(fd).isFile();
  } catch {
    return false;
  }
}

/**
 * Writes text to fd 1 or 2: through its stream when that is made, else with write(2). A
 * full pipe that another process made non-blocking (EAGAIN) takes the rest through the
 * stream.
 */
export function writeStdio(fd: 1 | 2, text: string, encoding: BufferEncoding = 'utf8'): void {
  const stream = streams[nameOf(fd)];
  if (stream) {
    stream.write(text, encoding);
    return;
  }
  const bytes = Buffer.from(text, encoding);
  let written = 0;
  try {
    while (written < bytes.length) written += fs.writeSync(fd, bytes, written);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    process[nameOf(fd)].write(bytes.subarray(written));
  }
}

/**
 * Text for stdout from a command that may print much (dump-flows to a pipe or a terminal):
 * with write(2) while Node's stream is not made, which a blocking pipe paces by its reader
 * (making the stream costs a pipe ~100-150 ms of start-up in the test VM, /dev/null ~50);
 * through the stream, waiting for 'drain', once it is (a terminal's, or a pipe another
 * process made non-blocking). A reader gone (EPIPE) ends the process quietly, as the
 * stream's error does (context.ts endQuietlyOnClosedStdout).
 */
export async function writeStdout(text: string, encoding: BufferEncoding): Promise<void> {
  const stream = streams.stdout;
  if (stream) {
    if (!stream.write(text, encoding)) await once(stream, 'drain');
    return;
  }
  try {
    writeStdio(1, text, encoding);
  } catch (err) {
    process.exit(stdoutFailure(err as NodeJS.ErrnoException));
  }
}

/** A message on stderr; one that cannot be written (stderr closed) is dropped, as C tools do. */
export function writeStderr(text: string): void {
  try {
    writeStdio(2, text);
  } catch {
    // Nowhere left to say so.
  }
}

/** What a stdout that cannot be written means: exit 0 for a reader gone (EPIPE), else one line and exit 1. */
export function stdoutFailure(err: NodeJS.ErrnoException): number {
  if (err.code === 'EPIPE') return 0;
  writeStderr(`ovsdp: cannot write the output: ${err.message}\n`);
  return 1;
}
