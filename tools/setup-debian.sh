#!/bin/sh
# Installs the Debian packages nlpipe builds and tests with (only those missing),
# so the README's commands work on a fresh Debian 12 machine. Idempotent.
#   --with-python  also the packages of the fixture generators and model recipes
#                  (python3-torch, python3-numpy, python3-sentencepiece; Debian's
#                  /usr/bin/python3); never needed to build or test.
set -eu
pkgs="gcc libc6-dev pkg-config ninja-build libglib2.0-dev libjson-c-dev libblis-dev libcunit1-dev"
[ "${1:-}" = "--with-python" ] && pkgs="$pkgs python3-torch python3-numpy python3-sentencepiece"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "setup: installing$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# The package lists of a fresh machine may be stale or absent.
$SUDO apt-get update -q >/dev/null || true
$SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
