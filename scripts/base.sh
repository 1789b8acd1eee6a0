# Sourced by the scripts (after they set $top): which kernel base they work
# on and where its files are.  The Makefile is the one place that names the
# bases, the default and the pinned Debian versions; a script run by hand
# reads them from there, so that
#   BASE=6.12 scripts/kpatches tree
# works as `make kernel-tree BASE=6.12` does.  Each path can still be set
# alone (KERNEL_TREE, KERNEL_OUT, PATCHES_DIR, LINUX_SOURCE_TARBALL,
# LINUX_SOURCE_PIN), as the harness's own tests do.
# shellcheck shell=bash
: "${top:?scripts/base.sh needs top, the project directory}"

# mk_var NAME: the value of "NAME := value" (or ?=) in the Makefile
mk_var() {
	sed -n -E "s/^${1//./\\.}[[:space:]]*[:?]?=[[:space:]]*//p" "$top/Makefile" | tail -n 1
}

PGTFREE_BASES=$(mk_var BASES)
BASE=${BASE:-$(mk_var BASE)}
case " $PGTFREE_BASES " in
*" $BASE "*) ;;
*)
	echo "$(basename "$0"): unknown BASE '$BASE': the kernel bases are: $PGTFREE_BASES (BASES in the Makefile)" >&2
	exit 2
	;;
esac
LINUX_SOURCE_PKG=linux-source-$BASE
: "${LINUX_SOURCE_PIN:=$(mk_var "LINUX_SOURCE_PIN_$BASE")}"
: "${LINUX_SOURCE_TARBALL:=/usr/src/linux-source-$BASE.tar.xz}"
: "${BASE_BUILD:=$top/build/$BASE}"
: "${KERNEL_TREE:=$BASE_BUILD/linux}"
: "${KERNEL_OUT:=$BASE_BUILD/kernel}"
: "${PATCHES_DIR:=$top/patches/$BASE}"
export BASE LINUX_SOURCE_PKG LINUX_SOURCE_PIN LINUX_SOURCE_TARBALL BASE_BUILD \
	KERNEL_TREE KERNEL_OUT PATCHES_DIR

# rel PATH: PATH relative to the project, for messages
rel() { echo "${1#"$top"/}"; }
