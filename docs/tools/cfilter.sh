#!/bin/sh
# cfilter.sh - doxygen's input filter for C files and headers.
#
# A file names its module in its @file comment (@ingroup lesson02); this puts
# the file's functions, variables, types and constants into that module too,
# so that a lesson's module page lists everything the lesson adds. It opens
# "@addtogroup MODULE @{" on the line that closes the file's first comment,
# and closes it after the last line: every other line stays where it was.
# The module comes from the folder, like doxyfilter.py's: lessons/NN-*/ is
# lessonNN, the rest common. (A shell and awk, not Python: doxygen starts a
# filter once per file.)
#
# Usage (as doxygen calls it): cfilter.sh FILE
case "$1" in
*/lessons/[0-9][0-9]-*/*)
	rest=${1##*/lessons/}
	group="lesson${rest%%-*}" ;;
*)
	group=common ;;
esac
exec awk -v group="$group" '
	!opened && /\*\// { print $0 " /** @addtogroup " group " */ /** @{ */"; opened = 1; next }
	{ print }
	END { if (opened) print "/** @} */" }' "$1"
