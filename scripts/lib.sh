# shellcheck shell=bash
# Shared by scripts/test-all and scripts/demo: the host prerequisites, installed idempotently.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export REPO

# Debian packages the host side needs (the VM and cross recipes install their own).
# The Debian suite every setup script installs from (tests/vm/setup: qemu-system-x86 and the VM
# kernel from $DEBIAN_SUITE-backports, named versions).
DEBIAN_SUITE=bookworm
export DEBIAN_SUITE
HOST_PKGS=(build-essential pkg-config python3 python3-venv iproute2 util-linux valgrind busybox-static)

need_root() {
  [ "$(id -u)" -eq 0 ] || { echo "$0: run as root (apt-get, network namespaces, QEMU)" >&2; exit 1; }
}

install_host_pkgs() {
  local missing=() p status
  status=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' "${HOST_PKGS[@]}" 2>/dev/null || true)
  for p in "${HOST_PKGS[@]}"; do
    grep -q "^ii  *$p\$" <<<"$status" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=600 update >/dev/null
    # the suite is named: a machine with backports enabled still gets bookworm's packages
    DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=600 \
      -o APT::Install-Recommends=false install -t "$DEBIAN_SUITE" "${missing[@]}" >/dev/null
  fi
}

# A Rust toolchain: rustup's when there is one (stable for builds, nightly for cargo-fuzz);
# otherwise Debian's (tools/cross/setup installs it) with RUSTC_BOOTSTRAP for the -Z flags.
ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    "$REPO/tools/cross/setup" >/dev/null
    export PATH="/usr/bin:$PATH"
  fi
  if command -v rustup >/dev/null 2>&1; then
    rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal >/dev/null
  fi
}

fuzz_cargo() {
  if command -v rustup >/dev/null 2>&1; then
    cargo +nightly "$@"
  else
    RUSTC_BOOTSTRAP=1 cargo "$@"
  fi
}

ensure_cargo_fuzz() {
  command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked --version 0.13.2 >/dev/null
}

# One line per tool the tests depend on, as found now: a failure on another machine can be
# compared with a passing run line by line.
print_versions() {
  local p v
  echo "versions: $(. /etc/os-release && echo "$PRETTY_NAME"), host kernel $(uname -r), $(nproc) cores"
  for p in rustc cargo; do echo "versions: $p: $($p --version 2>/dev/null || echo missing)"; done
  if command -v rustup >/dev/null 2>&1; then
    echo "versions: rustc nightly: $(rustc +nightly --version 2>/dev/null || echo missing)"
  fi
  echo "versions: Debian rustc (build-std): $(/usr/bin/rustc --version 2>/dev/null || echo missing)"
  for p in qemu-user-static qemu-system-x86 hostapd dnsmasq-base wpasupplicant iw busybox-static valgrind \
    gcc-mips-linux-gnu gcc-mipsel-linux-gnu gcc-arm-linux-gnueabihf gcc-aarch64-linux-gnu rustc-web; do
    v=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null) || v=
    echo "versions: deb $p: ${v:-not installed}"
  done
  local cross=${OPENWRT_CROSS_PREFIX:-/opt/openwrt-cross}
  echo "versions: zig: $("$cross/bin/zig" version 2>/dev/null || echo not installed)"
  echo "versions: cargo-zigbuild: $("$cross/bin/cargo-zigbuild" --version 2>/dev/null || echo not installed)"
  echo "versions: cargo-fuzz: $(cargo-fuzz --version 2>/dev/null || echo not installed)"
  local c
  for c in /var/cache/vm-run /var/cache/vm-run-6.1; do
    v=$(find "$c" -mindepth 1 -maxdepth 1 -type d -printf '%f ' 2>/dev/null)
    echo "versions: VM kernel(s) in $c: ${v:-not prepared}"
  done
}
