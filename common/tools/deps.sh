#!/bin/sh
# deps.sh - find, report and install the Debian packages the kit needs.
#
#   deps.sh install               install everything (make deps)
#   deps.sh ensure GROUP...       make sure these groups are usable:
#                                 build, test, qemu, bochs, docs, debug,
#                                 browser (Chromium, for the book's test),
#                                 sandbox (bubblewrap, for make grade)
#   deps.sh ensure --soft GROUP.. the same, but only warn when something is
#                                 missing and cannot be installed
#
# When something is missing: as root it is installed at once; otherwise, on a
# terminal with sudo, sudo is asked to install it; otherwise the exact
# command is printed and the make target stops (or, with --soft, goes on).
set -eu

ALL="make gcc binutils nasm python3 python3-pytest python3-pytest-xdist
     qemu-system-x86 bochs bochs-term bochsbios vgabios doxygen graphviz
     gdb chromium bubblewrap util-linux"

# missing GROUP: print the packages of GROUP whose tool is missing.
missing() {
	case "$1" in
	build)
		command -v make >/dev/null || echo make
		command -v gcc >/dev/null || echo gcc
		command -v ld >/dev/null && command -v objcopy >/dev/null || echo binutils
		command -v nasm >/dev/null || echo nasm
		[ -x /usr/bin/python3 ] || echo python3 ;;
	test)
		/usr/bin/python3 -c 'import pytest' 2>/dev/null || echo python3-pytest
		/usr/bin/python3 -c 'import xdist' 2>/dev/null || echo python3-pytest-xdist ;;
	qemu)
		command -v qemu-system-x86_64 >/dev/null || echo qemu-system-x86 ;;
	bochs)
		command -v bochs >/dev/null || echo bochs
		ls /usr/lib/*/bochs/plugins/libbx_term_gui* >/dev/null 2>&1 || echo bochs-term
		[ -e /usr/share/bochs/BIOS-bochs-latest ] || echo bochsbios
		[ -e /usr/share/vgabios/vgabios.bin ] || echo vgabios ;;
	docs)
		command -v doxygen >/dev/null || echo doxygen
		command -v dot >/dev/null || echo graphviz ;;
	debug)
		command -v gdb >/dev/null || echo gdb ;;
	browser)
		command -v chromium >/dev/null || echo chromium ;;
	sandbox)
		command -v bwrap >/dev/null || echo bubblewrap
		command -v setpriv >/dev/null && command -v prlimit >/dev/null \
			|| echo util-linux ;;
	*)
		echo "deps.sh: unknown group '$1'" >&2; exit 2 ;;
	esac
}

apt_install() {
	echo "deps: installing $*" >&2
	runner=""
	if [ "$(id -u)" != 0 ]; then
		runner="sudo"
	fi
	$runner sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq "$@" >/dev/null' \
		deps "$@"
}

can_install() {
	command -v apt-get >/dev/null || return 1
	[ "$(id -u)" = 0 ] && return 0
	command -v sudo >/dev/null && [ -t 0 ]
}

case "${1:-}" in
install)
	# shellcheck disable=SC2086
	apt_install $ALL ;;
ensure)
	shift
	soft=0
	if [ "${1:-}" = --soft ]; then soft=1; shift; fi
	need=""
	for group in "$@"; do
		need="$need $(missing "$group" | tr '\n' ' ')"
	done
	need=$(echo $need)
	[ -z "$need" ] && exit 0
	if can_install; then
		# shellcheck disable=SC2086
		apt_install $need && exit 0
	fi
	if [ "$soft" = 1 ]; then
		echo "deps: not installed: $need (their tests will be skipped)." \
		     "Install with: sudo make deps" >&2
		exit 0
	fi
	echo "deps: missing Debian packages: $need" >&2
	echo "deps: install them with: sudo apt-get install $need" \
	     "  (or everything: sudo make deps)" >&2
	exit 1 ;;
*)
	echo "usage: deps.sh install | ensure [--soft] GROUP..." >&2
	exit 2 ;;
esac
