# Test stand-in for OpenWrt's /lib/functions.sh, for busybox ash.
# The UCI helpers behave as OpenWrt's do for what init scripts use
# (config_load, config_get, config_get_bool, config_foreach, list values);
# config_load reads the file itself, the way `uci export` output is
# evaluated on a router, and refuses names UCI would refuse.
# default_postinst / default_prerm do what OpenWrt's do for a package's
# init scripts (enable + start, stop + disable) and log what they ran.

UCI_CONFIG_DIR=${UCI_CONFIG_DIR:-$IPKG_INSTROOT/etc/config}
PKG_LOG=${PKG_LOG:-$IPKG_INSTROOT/tmp/pkg.log}

_uci_name_ok() {
	case "$1" in
	'' | *[!A-Za-z0-9_]*) return 1 ;;
	esac
}

config() {
	CONFIG_NUM_SECTIONS=$((CONFIG_NUM_SECTIONS + 1))
	CONFIG_SECTION=${2:-cfg$CONFIG_NUM_SECTIONS}
	if ! _uci_name_ok "$1" || ! _uci_name_ok "$CONFIG_SECTION"; then
		echo "uci: bad section '$1' '$CONFIG_SECTION'" >&2
		CONFIG_LOAD_ERROR=1
		return 1
	fi
	CONFIG_SECTIONS="${CONFIG_SECTIONS:+$CONFIG_SECTIONS }$CONFIG_SECTION"
	eval "CONFIG_${CONFIG_SECTION}_TYPE=\$1"
}

option() {
	_uci_name_ok "$1" && [ -n "$CONFIG_SECTION" ] || {
		echo "uci: bad option '$1'" >&2
		CONFIG_LOAD_ERROR=1
		return 1
	}
	local name=$1
	shift
	eval "CONFIG_${CONFIG_SECTION}_${name}=\$*"
}

list() {
	_uci_name_ok "$1" && [ -n "$CONFIG_SECTION" ] || {
		echo "uci: bad list '$1'" >&2
		CONFIG_LOAD_ERROR=1
		return 1
	}
	local name=$1 len
	shift
	eval "len=\${CONFIG_${CONFIG_SECTION}_${name}_LENGTH:-0}"
	len=$((len + 1))
	eval "CONFIG_${CONFIG_SECTION}_${name}_ITEM$len=\$*"
	eval "CONFIG_${CONFIG_SECTION}_${name}_LENGTH=$len"
	eval "CONFIG_${CONFIG_SECTION}_${name}=\"\${CONFIG_${CONFIG_SECTION}_${name}:+\$CONFIG_${CONFIG_SECTION}_${name} }\$*\""
}

package() { :; }

config_load() {
	local section
	for section in $CONFIG_SECTIONS; do
		unset "CONFIG_${section}_TYPE"
	done
	CONFIG_SECTIONS='' CONFIG_SECTION='' CONFIG_NUM_SECTIONS=0 CONFIG_LOAD_ERROR=''
	echo "config_load $1" >> "$PKG_LOG"
	[ -f "$UCI_CONFIG_DIR/$1" ] || return 1
	# shellcheck source=/dev/null
	. "$UCI_CONFIG_DIR/$1"
	CONFIG_SECTION=
	[ -z "$CONFIG_LOAD_ERROR" ]
}

# config_get VAR SECTION OPTION [DEFAULT]
config_get() {
	_uci_name_ok "$2" && _uci_name_ok "$3" || return 1
	eval "$1=\${CONFIG_$2_$3:-\$4}"
}

get_bool() {
	case "$1" in
	1 | on | true | yes | enabled) echo 1 ;;
	0 | off | false | no | disabled) echo 0 ;;
	*) echo "$2" ;;
	esac
}

# config_get_bool VAR SECTION OPTION [DEFAULT]
config_get_bool() {
	local _b
	config_get _b "$2" "$3" "$4"
	eval "$1=\$(get_bool \"\$_b\" \"\$4\")"
}

config_foreach() {
	local fn=$1 type=$2 section t
	shift 2
	for section in $CONFIG_SECTIONS; do
		eval "t=\$CONFIG_${section}_TYPE"
		[ -z "$type" ] || [ "$t" = "$type" ] || continue
		"$fn" "$section" "$@"
	done
}

config_list_foreach() {
	local section=$1 name=$2 fn=$3 len i=1 v
	shift 3
	eval "len=\${CONFIG_${section}_${name}_LENGTH:-0}"
	while [ "$i" -le "$len" ]; do
		eval "v=\$CONFIG_${section}_${name}_ITEM$i"
		"$fn" "$v" "$@"
		i=$((i + 1))
	done
}

# What the package scripts run, as OpenWrt's do it: act on every
# /etc/init.d/ script of the package's file list: opkg's
# info/<pkg>.list, else apk's /lib/apk/packages/<pkg>.list. apk scripts
# name the package in $pkgname; opkg's pass their own path as $1.
_pkg_init_scripts() {
	# The apk scripts export pkgname before they call in here.
	# shellcheck disable=SC2154
	local root=$IPKG_INSTROOT pkg=$pkgname list
	[ -n "$pkg" ] || pkg=$(basename "${1%.*}")
	list=$root/usr/lib/opkg/info/$pkg.list
	[ -f "$list" ] || list=$root/lib/apk/packages/$pkg.list
	grep -s '^/etc/init.d/' "$list"
}

# OpenWrt's creates the users and groups of /lib/apk/packages/<pkg>.rusers
# (apwatch has none).
add_group_and_user() {
	echo "add_group_and_user ${pkgname:-$1}" >> "$PKG_LOG"
	[ ! -s "$IPKG_INSTROOT/lib/apk/packages/${pkgname:-$1}.rusers" ] || {
		echo "add_group_and_user: rusers are not stubbed" >&2
		return 1
	}
}

default_postinst() {
	local i
	echo "default_postinst $*" >> "$PKG_LOG"
	for i in $(_pkg_init_scripts "$1"); do
		[ "$PKG_UPGRADE" = 1 ] || "$i" enable
		"$i" start
	done
}

default_prerm() {
	local i
	echo "default_prerm $*" >> "$PKG_LOG"
	for i in $(_pkg_init_scripts "$1"); do
		[ "$PKG_UPGRADE" = 1 ] || "$i" disable
		"$i" stop
	done
}
