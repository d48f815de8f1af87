/**
 * node:fs for the modules on a command's start-up path, required rather than imported:
 * the ES-module view of a builtin reads every export once, and fs's lazy ones
 * (ReadStream, promises, ...) then load the file stream modules. Start-up of ovsdp in the
 * test VM took ~50-80 ms less without that.
 */
import { createRequire } from 'node:module';

export const fs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');
