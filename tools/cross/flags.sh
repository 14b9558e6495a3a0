# shellcheck shell=bash
# Source me after env.sh: the router build's size settings, per target, in one place.
#   panic=immediate-abort, no Debug formatting, no panic locations, no unwind tables: a panic
#   aborts (the profile already says panic=abort), so the unwinding and formatting machinery
#   std would carry is dead weight on a router's flash.
#   mips/mipsel: static, non-PIE code (MIPS PIC code is much larger); zig supplies crt objects.
_size="-Zunstable-options -Cpanic=immediate-abort -Zfmt-debug=none -Zlocation-detail=none -Cforce-unwind-tables=no"
#   mips/mipsel: LLVM's inliner at a cost threshold of 10 instead of opt-level z's 25 (a cost
#   model setting, not a code generation change): 1.4 KB less on mipsel (README, router sizes).
export CARGO_TARGET_MIPS_UNKNOWN_LINUX_MUSL_RUSTFLAGS="$_size -Crelocation-model=static -Ctarget-feature=+crt-static -Clink-self-contained=no -Cllvm-args=-inline-threshold=10"
export CARGO_TARGET_MIPSEL_UNKNOWN_LINUX_MUSL_RUSTFLAGS="$_size -Crelocation-model=static -Ctarget-feature=+crt-static -Clink-self-contained=no -Cllvm-args=-inline-threshold=10"
export CARGO_TARGET_ARMV7_UNKNOWN_LINUX_MUSLEABIHF_RUSTFLAGS="$_size -Clink-self-contained=no"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="$_size -Clink-self-contained=no"
# x86_64: not a router target; the same build runs natively and in the VM (memory figures).
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="$_size -Crelocation-model=static -Ctarget-feature=+crt-static -Clink-self-contained=no"
unset _size
# the binutils of each target, for the final strip (used by the scripts that source this file)
# shellcheck disable=SC2034
declare -gA APWATCH_OBJCOPY=(
  [mips-unknown-linux-musl]=mips-linux-gnu-objcopy
  [mipsel-unknown-linux-musl]=mipsel-linux-gnu-objcopy
  [armv7-unknown-linux-musleabihf]=arm-linux-gnueabihf-objcopy
  [aarch64-unknown-linux-musl]=aarch64-linux-gnu-objcopy
  [x86_64-unknown-linux-musl]=objcopy
)
# shellcheck disable=SC2034
declare -gA APWATCH_QEMU=(
  [mips-unknown-linux-musl]=qemu-mips-static
  [mipsel-unknown-linux-musl]=qemu-mipsel-static
  [armv7-unknown-linux-musleabihf]=qemu-arm-static
  [aarch64-unknown-linux-musl]=qemu-aarch64-static
  [x86_64-unknown-linux-musl]=env   # the host runs it itself
)
