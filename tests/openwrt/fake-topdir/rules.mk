# Test stand-in for an OpenWrt buildroot's rules.mk: just what a package
# Makefile's install recipe uses. Not a build system.
INCLUDE_DIR:=$(TOPDIR)/include
INSTALL_DIR:=install -d -m0755
INSTALL_BIN:=install -m0755
INSTALL_DATA:=install -m0644
INSTALL_CONF:=install -m0600
