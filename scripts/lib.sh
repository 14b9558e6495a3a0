# shellcheck shell=bash
# Shared by scripts/test-all and scripts/demo: the host prerequisites, installed idempotently.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export REPO

# Debian packages the host side needs (the VM and cross recipes install their own).
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
    DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=600 \
      -o APT::Install-Recommends=false install "${missing[@]}" >/dev/null
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
