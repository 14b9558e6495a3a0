# Test stand-in for OpenWrt's include/package.mk. BuildPackage evaluates
# Package/<name> (as the real one does, to get SECTION, DEPENDS, ...) and
# adds targets the test runs instead of building:
#   make print-VAR        the value of VAR
#   make install-test DESTDIR=DIR PKG_INSTALL_DIR=DIR
#                         runs Package/<name>/install into DESTDIR
#   make conffiles-test   prints Package/<name>/conffiles
#   make compile-test     prints what Build/Compile would run
PKG_BUILD_DIR?=$(TOPDIR)/build_dir/$(PKG_NAME)-$(PKG_VERSION)
PKG_INSTALL_DIR?=$(PKG_BUILD_DIR)/ipkg-install

define BuildPackage
$$(eval $$(Package/$(1)))
print-%:
	@echo '$$($$*)'
install-test:
	$$(call Package/$(1)/install,$$(DESTDIR))
conffiles-test:
	@echo '$$(strip $$(Package/$(1)/conffiles))'
compile-test:
	$$(call Build/Compile)
endef
