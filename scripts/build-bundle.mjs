#!/usr/bin/env node
// `npm run build` after tsc: the CLI as one script, dist/bundle/cli.js, plus V8 code
// caches for it, dist/bundle/cli.js[.bulk|.dump|.single][.threads].cache. bin/ovsdp runs these when
// they are at least as new as the tsc output (dist/.tsbuildinfo), else
// dist/src/cli/main.js as before.
//
// Why: start-up is most of a single command's time. Node resolves, reads and compiles
// every ES module on its own (~75 of them on some commands' paths), which under the test
// VM's emulation costs as much as the command's work; one script compiled from a code
// cache costs a fraction of that. The commands stay lazy: esbuild turns each dynamic
// import() into a function that runs its module on first call, and V8 compiles a
// function only when called (or takes it ready-made from the cache).
//
// The script is a function expression, (exports, require, module, __filename, __dirname)
// => ..., so that bin/ovsdp can compile it with vm.Script, which takes and makes code
// caches (Node 20 has no module compile cache). Its input is dist/src (the JavaScript tsc
// wrote), so the bundle and the ES modules are the same code.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const outDir = path.join(root, 'dist/bundle');
const bundle = path.join(outDir, 'cli.js');

mkdirSync(outDir, { recursive: true });
// A cache must never outlive the script it was made from (V8 checks only its length;
// bin/ovsdp also takes none older than the script).
for (const name of readdirSync(outDir)) if (name.endsWith('.cache')) rmSync(path.join(outDir, name), { force: true });

/**
 * commander requires node:child_process when loaded, for subcommands that are programs of
 * their own (ovsdp has none), and with it Node's net, dgram and stream modules: ~40 of
 * Node's own modules to compile, ~0.1 s in the test VM. In the bundle it gets
 * child_process on first use instead.
 */
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(b) {
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      /node_modules\/commander\//.test(args.importer) ? { path: 'lazy-child-process', namespace: 'lazy-child-process' } : undefined);
    b.onLoad({ filter: /.*/, namespace: 'lazy-child-process' }, () => ({
      loader: 'js',
      contents: `module.exports = new Proxy({}, { get: (_, name) => require('node:child_process')[name] });`,
    }));
  },
};

/**
 * main.ts and node-builtins.ts load CommonJS synchronously with createRequire(import.meta.url),
 * which esbuild cannot follow; inside the bundle they get a createRequire whose require
 * takes commander from the bundle and anything else from Node.
 */
const bundledRequire = {
  name: 'bundled-require',
  setup(b) {
    b.onResolve({ filter: /^node:module$/ }, (args) =>
      /dist\/src\/(cli\/main|nl\/node-builtins)\.js$/.test(args.importer) ? { path: 'bundled-require', namespace: 'bundled-require' } : undefined);
    b.onLoad({ filter: /.*/, namespace: 'bundled-require' }, () => ({
      resolveDir: root,
      loader: 'js',
      contents: `
        const bundled = { commander: () => require('commander') };
        export function createRequire() {
          return (id) => (Object.hasOwn(bundled, id) ? bundled[id]() : require(id));
        }`,
    }));
  },
};

/**
 * The netlink package finds its native binding through node-gyp-build: in the test VM
 * ~40 ms of every command that opens a socket (compiling it, reading package.json, listing
 * directories). In the bundle, netlink's raw.js (then bundled, code cache included) loads
 * the prebuilt binding of this platform itself when that is the one node-gyp-build would
 * pick (no local build, no variable that steers it), and asks node-gyp-build otherwise.
 * When the build finds netlink in this package's own node_modules, the bundle looks there
 * first, as Node's resolution would (dist/ has no node_modules), without resolving
 * netlink/package.json. It loads the file with process.dlopen, as require does in the end:
 * require would first resolve the path (a realpath of each directory) and the bundle
 * checked that the file exists, each a round trip to the host's files in the test VM
 * (~10-20 ms in all); a binding that is not there fails dlopen, and node-gyp-build is asked.
 * Native code loads only through this (which scripts/bundle-cache.cjs stands in for).
 */
const netlinkBinding = {
  name: 'netlink-binding',
  setup(b) {
    b.onLoad({ filter: /node_modules\/netlink\/dist\/raw\.js$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      const call = "require('node-gyp-build')(__dirname + '/..')";
      if (!text.includes(call)) throw new Error(`${args.path}: no ${call} to replace`);
      const own = path.join(root, 'node_modules/netlink');
      const ownPackage = existsSync(own) && realpathSync(own) === realpathSync(path.dirname(path.dirname(args.path)));
      return {
        loader: 'js',
        contents: `${text.replace(call, 'loadNetlinkBinding()')}
function loadNetlinkBinding() {
  const path = require('node:path');
  const fs = require('node:fs');
  const env = process.env;
  const own = ${ownPackage ? `path.join(__dirname, ${JSON.stringify(path.relative(outDir, own))})` : 'undefined'};
  if (own !== undefined && !env.NETLINK_PREBUILD && !env.npm_config_arch && !env.npm_config_platform && !fs.existsSync(path.join(own, 'build'))) {
    const binding = { exports: {} };
    try {
      process.dlopen(binding, path.join(own, 'prebuilds', process.platform + '-' + process.arch, 'node.napi.node'));
      return binding.exports;
    } catch {
      // Not there (netlink installed elsewhere), or not loadable: node-gyp-build says which.
    }
  }
  return require('node-gyp-build')(path.dirname(require.resolve('netlink/package.json')));
}
`,
      };
    });
  },
};
const { outputFiles } = await build({
  entryPoints: [path.join(root, 'dist/src/cli/main.js')],
  outfile: bundle,
  // Written below, whole: a bin/ovsdp starting meanwhile never reads half a bundle.
  write: false,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // Native bindings (and the JavaScript that finds them) load from node_modules; netlink's
  // raw.js is the exception (netlinkBinding above).
  external: ['netlink/dist/rt/*', 'netlink/package.json', 'node-gyp-build', 'koffi'],
  // import() of those (and of node: modules) as require(): no ES module loader at all.
  supported: { 'dynamic-import': false },
  plugins: [bundledRequire, lazyChildProcess, netlinkBinding],
  // import.meta.url: the module the bundle stands for, for paths relative to it; worked out
  // when first asked for (--version, commander), not at every start (node:url, ~10 ms in
  // the test VM).
  define: { 'import.meta.url': '__ovsdpMain.url' },
  banner: { js: '(function (exports, require, module, __filename, __dirname) {"use strict";\nconst __ovsdpMain = { get url() { return require("node:url").pathToFileURL(require("node:path").join(__dirname, "../src/cli/main.js")).href; } };' },
  footer: { js: '})' },
  legalComments: 'none',
  logLevel: 'warning',
  charset: 'ascii',
  // Whitespace and syntax minified (names kept, for profiles and stacks): the script is read
  // and turned into a string at every start, ~2/3 of its bytes (in the test VM ~0.1 ms per
  // 2 KB of them).
  minifyWhitespace: true,
  minifySyntax: true,
});
// bin/ovsdp reads the script as latin1, which copies its bytes as they are (UTF-8 has each
// checked first: host ~1.5 -> ~0.7 ms for the 0.7 MB, ~10 ms less in the test VM); the
// same text only while every byte is ASCII, as esbuild writes it (charset: ascii escapes
// the rest).
const nonAscii = outputFiles[0].contents.findIndex((byte) => byte > 0x7f);
if (nonAscii >= 0) throw new Error(`build-bundle: the bundle has a byte that is not ASCII at offset ${nonAscii}`);
writeFileSync(`${bundle}.tmp`, outputFiles[0].contents);
renameSync(`${bundle}.tmp`, bundle);

// The caches, made by running the script as bin/ovsdp would through commands, so that the
// functions they call come compiled: one per kind of flow command (bulk, dump, single: run
// against a stand-in kernel, bundle-cache.cjs), which bin/ovsdp takes for those, and one by
// commands that need no kernel, for the rest. Each holds only what its commands compiled: a cache costs each
// start-up that takes it its reading (host ~0.3 ms per 100 KB, ~20 times that in the test
// VM). V8 takes a cache only under the node flags it was made with: each is made for
// the flags of bin/ovsdp's #! line and for `node bin/ovsdp`.
const binFlags = readFileSync(path.join(root, 'bin/ovsdp'), 'utf8').split('\n', 1)[0].split(/\s+/).slice(3);
for (const [flags, threads] of [[binFlags, ''], [[], '.threads']]) {
  for (const commands of ['general', 'bulk', 'dump', 'single']) {
    const name = commands === 'general' ? '' : `.${commands}`;
    const file = `${bundle}${name}${threads}.cache`;
    // Its commands' stderr (add-flows' summaries) is shown only when something failed.
    const made = spawnSync(process.execPath, [...flags, path.join(root, 'scripts/bundle-cache.cjs'), bundle, file, commands], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    if (made.status === 0) continue;
    console.error(`${made.stderr}build-bundle: making the code cache ${path.basename(file)} failed`);
    // Without theirs, the flow commands take the general cache (slower to start, the same
    // results); test/unit/cli/bin.test.ts fails on the missing cache.
    if (commands === 'general') process.exit(1);
  }
}
