# Test stand-in for the packages feed's lang/rust/rust-package.mk: the same
# variables and the same cargo install arguments, echoed instead of run.
RUST_ARCH_DEPENDS:=@(rust-architectures)
RUST_PKG_LOCKED?=1

define Build/Compile/Cargo
	@echo cargo install --profile release \
		$(if $(strip $(RUST_PKG_FEATURES)),--features "$(strip $(RUST_PKG_FEATURES))") \
		--root $(PKG_INSTALL_DIR) \
		--path "$(PKG_BUILD_DIR)/$(if $(strip $(1)),$(strip $(1)),$(strip $(MAKE_PATH)))" \
		$(if $(filter 1,$(strip $(RUST_PKG_LOCKED))),--locked) $(2)
endef

Build/Compile=$(call Build/Compile/Cargo)
