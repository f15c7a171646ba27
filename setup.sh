#!/bin/sh
# Installs every build and test dependency from Debian's archive (Debian 12).
# Idempotent; needs root (or sudo). Usage: ./setup.sh [--bench]
set -eu
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
PKGS="build-essential autoconf automake libtool pkg-config
 libsystemd-dev libwslay-dev libhttp-parser-dev libprotobuf-c-dev protobuf-c-compiler
 libssl-dev libsodium-dev libjson-c-dev libyaml-dev check
 clang libclang-rt-14-dev valgrind systemd systemd-container python3 python3-pytest procps util-linux
 libpam0g-dev libpam-modules libpam-wrapper libpamtest0-dev libnss-wrapper libuid-wrapper pamtester sudo"
[ "${1:-}" = "--bench" ] && PKGS="$PKGS openssh-server openssh-client"
missing=
for p in $PKGS; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi
