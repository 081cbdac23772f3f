#!/usr/bin/env bash
# Installs what `make run` and `make test` need on a fresh machine, and nothing more.
# Idempotent and quiet when everything is already there.
set -euo pipefail

need_pkgs=()
command -v qemu-system-x86_64 >/dev/null || need_pkgs+=(qemu-system-x86)
command -v qemu-img >/dev/null || need_pkgs+=(qemu-utils)
command -v musl-gcc >/dev/null || need_pkgs+=(musl-tools)
command -v debugfs >/dev/null || need_pkgs+=(e2fsprogs)
command -v cpio >/dev/null || need_pkgs+=(cpio)
[ -x /bin/busybox ] || need_pkgs+=(busybox-static)
command -v ip >/dev/null || need_pkgs+=(iproute2)
# The test network of `writ-run --net tap` (qemu/src/testnet.rs): DHCP and DNS.
command -v dnsmasq >/dev/null || need_pkgs+=(dnsmasq-base)

if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup: installing ${need_pkgs[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  else
    echo "setup: missing packages; run: sudo apt-get install -y ${need_pkgs[*]}" >&2
    exit 1
  fi
fi

if ! rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-none; then
  echo "setup: adding Rust target x86_64-unknown-none" >&2
  rustup target add x86_64-unknown-none >/dev/null
fi
for comp in rustfmt clippy; do
  rustup component list --installed 2>/dev/null | grep -q "^$comp" || rustup component add "$comp" >/dev/null
done
