#!/bin/sh
# The demo, run inside the VM by `npm run demo`: each step says what it shows.
set -e
cd "$(dirname "$0")/.."
ovsdp() { node bin/ovsdp "$@"; }

step() { printf '\n== %s ==\n' "$*"; }

step "The Open vSwitch generic netlink families this kernel offers (ovsdp families)"
ovsdp families
