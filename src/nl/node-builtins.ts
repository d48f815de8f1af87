/**
 * Node's builtin modules for the modules on a command's start-up path, required rather than
 * imported: the ES-module view of a builtin reads every export once, and fs's lazy ones
 * (ReadStream, promises, ...) then load the file stream modules. Start-up of ovsdp in the
 * test VM took ~50-80 ms less without that.
 */
import { createRequire } from 'node:module';

/**
 * A builtin module (`node:os`), loaded by this call: a module that needs one only on some
 * paths (errors) asks for it there. process.getBuiltinModule (Node 20.16 and later) needs
 * no createRequire, whose file URL of this module the CLI's bundle would otherwise work
 * out at every start (scripts/build-bundle.mjs).
 */
export function builtinModule<T>(id: string): T {
  return (process.getBuiltinModule?.(id) ?? createRequire(import.meta.url)(id)) as T;
}

export const fs = builtinModule<typeof import('node:fs')>('node:fs');
