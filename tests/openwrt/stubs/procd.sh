# Test stand-in for OpenWrt's /lib/functions/procd.sh, for busybox ash.
# Instead of sending JSON to procd over ubus it writes one line per call to
# $PROCD_LOG, each argument in [brackets]. Like the real one it runs the
# script's service_triggers (and service_data) when the service is closed.
# It is stricter than the real one, which silently drops what it does not
# know: an unknown param type, jail flag or signal, a call outside its
# service/instance, or a capabilities file that does not exist is logged as
# an ERROR line (and reported on stderr).
# procd_running answers from $PROCD_STATE/<service>.running, which the test
# creates or removes.

PROCD_LOG=${PROCD_LOG:-$IPKG_INSTROOT/tmp/procd.log}
PROCD_STATE=${PROCD_STATE:-$IPKG_INSTROOT/tmp/procd-state}
_procd_state=none
_procd_instances=0

_procd_log() {
	local line=$1 a
	shift
	for a in "$@"; do
		line="$line [$a]"
	done
	echo "$line" >> "$PROCD_LOG"
}

_procd_error() {
	echo "procd stub: $*" >&2
	echo "ERROR $*" >> "$PROCD_LOG"
}

_procd_in() {
	[ "$_procd_state" = "$1" ] || _procd_error "$2 called in state $_procd_state, not $1"
}

procd_open_service() {
	_procd_in none procd_open_service
	_procd_state=service
	_procd_instances=0
	_procd_log open_service "$@"
}

procd_close_service() {
	_procd_in service procd_close_service
	_procd_state=triggers
	service_triggers
	if type service_data >/dev/null 2>&1; then
		service_data
	fi
	_procd_state=none
	_procd_log close_service "${1:-set}"
}

procd_open_instance() {
	_procd_in service procd_open_instance
	_procd_instances=$((_procd_instances + 1))
	_procd_state=instance
	_procd_log open_instance "${1:-instance$_procd_instances}"
}

procd_close_instance() {
	_procd_in instance procd_close_instance
	_procd_state=service
	_procd_log close_instance
}

_procd_check_param() {
	local type=$1
	shift
	case "$type" in
	command | netdev | file | watch | watchdog | env | data | limits | error)
		[ $# -gt 0 ] || _procd_error "param $type without values"
		;;
	respawn)
		[ $# -eq 0 ] || [ $# -eq 3 ] || _procd_error "respawn takes 0 or 3 values, not $#"
		for v in "$@"; do
			case "$v" in '' | *[!0-9]*) _procd_error "respawn value '$v' is not a number" ;; esac
		done
		;;
	stdout | stderr | no_new_privs)
		case "$1" in 0 | 1) ;; *) _procd_error "param $type wants 0 or 1, not '$1'" ;; esac
		;;
	nice | term_timeout)
		case "$1" in '' | *[!0-9-]*) _procd_error "param $type wants a number" ;; esac
		;;
	reload_signal)
		kill -l "$1" >/dev/null 2>&1 || _procd_error "unknown signal '$1'"
		;;
	capabilities | seccomp)
		[ -f "$IPKG_INSTROOT$1" ] || _procd_error "param $type: no file $1"
		;;
	user | group | pidfile | facility | extroot | overlaydir | tmpoverlaysize | vrf)
		[ -n "$1" ] || _procd_error "param $type without a value"
		;;
	*)
		_procd_error "unknown param type '$type'"
		;;
	esac
}

procd_set_param() {
	local type=$1
	_procd_in instance procd_set_param
	_procd_check_param "$@"
	shift
	_procd_log "set_param $type" "$@"
}

procd_append_param() {
	local type=$1
	_procd_in instance procd_append_param
	_procd_check_param "$@"
	shift
	_procd_log "append_param $type" "$@"
}

procd_add_jail() {
	local flag
	_procd_in instance procd_add_jail
	[ -n "$1" ] || _procd_error "procd_add_jail without a name"
	for flag in "$@"; do
		[ "$flag" = "$1" ] && continue
		case "$flag" in
		log | ubus | udebug | procfs | sysfs | ronly | requirejail | netns | userns | cgroupsns) ;;
		*) _procd_error "unknown jail flag '$flag'" ;;
		esac
	done
	_procd_log add_jail "$@"
}

procd_add_jail_mount() {
	_procd_in instance procd_add_jail_mount
	_procd_log add_jail_mount "$@"
}

procd_add_jail_mount_rw() {
	_procd_in instance procd_add_jail_mount_rw
	_procd_log add_jail_mount_rw "$@"
}

# Triggers are only registered from service_triggers, i.e. while the
# service is being closed, as in the real procd.sh.
procd_add_reload_trigger() {
	local name file
	_procd_in triggers procd_add_reload_trigger
	# initscript: set by /etc/rc.common, which sources this file
	# shellcheck disable=SC2154
	name=$(basename "$(readlink "$initscript" 2>/dev/null || echo "$initscript")")
	for file in "$@"; do
		_procd_log trigger config.change "package=$file" "/etc/init.d/$name" reload
	done
}

procd_add_interface_trigger() {
	_procd_in triggers procd_add_interface_trigger
	_procd_log trigger "$@"
}

procd_add_raw_trigger() {
	_procd_in triggers procd_add_raw_trigger
	_procd_log trigger "$@"
}

procd_add_validation() {
	_procd_in triggers procd_add_validation
	_procd_log validation "$@"
}

procd_running() {
	_procd_log running "$@"
	[ -e "$PROCD_STATE/$1.running" ]
}

procd_send_signal() {
	local service=$1 instance=$2 signal=$3
	case "$signal" in
	'') ;;
	[A-Z]*) signal=$(kill -l "$signal" 2>/dev/null) || {
		_procd_error "unknown signal '$3'"
		return 1
	} ;;
	*[!0-9]*) _procd_error "bad signal '$3'" ;;
	esac
	_procd_log send_signal "$service" "${instance:-*}" "${signal:-default}"
}

procd_kill() {
	_procd_log kill "$@"
}
