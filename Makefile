# Writ: `make run` boots Writ under QEMU; `make test` runs every test.
# Both install what they need first (scripts/setup.sh).

KERNEL_TARGET := x86_64-unknown-none
KERNEL := target/$(KERNEL_TARGET)/release/writ-kernel
CARGO ?= cargo

.PHONY: all setup kernel rootfs run test check fmt clippy unit integration bench clean

all: kernel

setup:
	@scripts/setup.sh

kernel: setup
	$(CARGO) build --release -p writ-kernel --target $(KERNEL_TARGET)

# The Alpine 3.23 root filesystem as a newc cpio under ~/.cache/writ (qemu/src/rootfs.rs,
# qemu/rootfs-overlay/). Cached by wheel and overlay hash: a no-op when up to date.
rootfs: setup
	$(CARGO) run --release -q -p writ-qemu --bin writ-rootfs

# Boots Writ with Alpine's root filesystem: its /init (busybox init) starts a root
# shell on this terminal. Ctrl-A X quits. RUN_ARGS go to writ-run (see --help).
# The capability debug console (COM2, docs/DEBUG-CONSOLE.md) listens on CONSOLE_SOCKET.
CONSOLE_SOCKET ?= $(abspath target)/writ-console.sock
run: kernel rootfs
	@echo "Debug console: in another terminal run 'cargo run --release -q -p writ-qemu --bin writ-run -- console $(CONSOLE_SOCKET)' (Ctrl-] detaches)"
	$(CARGO) run --release -q -p writ-qemu --bin writ-run -- \
	  --initrd "$$($(CARGO) run --release -q -p writ-qemu --bin writ-rootfs -- --print-path)" \
	  --memory 1G --console-socket $(CONSOLE_SOCKET) $(RUN_ARGS)

fmt: setup
	$(CARGO) fmt --all -- --check

clippy: setup
	$(CARGO) clippy --workspace --exclude writ-kernel --exclude writ-boot --all-targets -- -D warnings
	$(CARGO) clippy -p writ-kernel -p writ-boot --target $(KERNEL_TARGET) -- -D warnings

# Host tests of the safe crates (no QEMU needed).
unit: setup
	$(CARGO) test --release --workspace --exclude writ-kernel --exclude writ-boot --exclude writ-qemu

# writ-qemu's own tests boot the kernel under QEMU.
integration: kernel
	WRIT_KERNEL=$(abspath $(KERNEL)) $(CARGO) test --release -p writ-qemu

check: fmt clippy

test: fmt clippy kernel rootfs unit integration

bench: kernel
	$(CARGO) bench

clean:
	$(CARGO) clean
