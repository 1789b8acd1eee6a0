#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The kernel packages of `make deb` in its small configuration
# (DEB_CONFIG=small scripts/deb: the guest kernel's config, tinyconfig +
# configs/vm.config + configs/BASE.config, built with make bindeb-pkg), for
# each base: what linux-image-REL and linux-headers-REL hold (kernel,
# System.map, config with the feature, modules, our LOCALVERSION in REL;
# headers that build an external module), and that they install into a
# throwaway root with dpkg --root, run their maintainer scripts there and
# purge leaving nothing, while the machine's dpkg database, /boot,
# /lib/modules, /usr/src and /etc/kernel stay as they were.
#
# The maintainer scripts run chrooted into the throwaway root (dpkg
# --root's default), not with --force-script-chrootless as
# tests/pgtfree-deb does: bindeb-pkg's linux-image scripts ignore
# DPKG_ROOT, they run-parts /etc/kernel/<script>.d (and
# /usr/share/kernel/<script>.d) with the arguments REL and
# /boot/vmlinuz-REL, so chrootless they would run the machine's own hooks
# (initramfs-tools' update-initramfs, update-grub) for a kernel the machine
# does not have.  The root gets a static busybox as /bin/sh and run-parts
# and a hook in each /etc/kernel/*.d that records how it was called: the
# test checks what a real machine's hooks would receive.
#
# usage: tests/kernel-deb/run.sh [BASE...]      (default: every base)
# env:   KERNEL_DEB_BUILD=1  build the packages first (scripts/deb), even
#                            when build/BASE/deb-small has them; without it
#                            only a base without packages is built
#        KERNEL_DEB_DIR=DIR  the packages of the one BASE given, from DIR
#        JOBS=N              passed on to scripts/deb
# Needs root (dpkg --root, chroot).
#
# TAP, one line per check, then "# Totals: ..." (kselftest); exit 1 on
# failure.
set -u
export LC_ALL=C
umask 022

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mk_var() { sed -n -E "s/^${1//./\\.}[[:space:]]*[:?]?=[[:space:]]*//p" "$top/Makefile" | tail -n 1; }
n=0 npass=0 nfail=0 nskip=0

echo "TAP version 13"
totals()
{
	echo "1..$n"
	echo "# Totals: pass:$npass fail:$nfail xfail:0 xpass:0 skip:$nskip error:0"
}
ok() { n=$((n + 1)) npass=$((npass + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)) nfail=$((nfail + 1)); echo "not ok $n - $1"; }
diag() { sed 's/^/# /'; }
showlog() { [ -s "$log" ] && head -n "${1:-30}" "$log" | cut -c1-200 | diag; : >"$log"; }
# t DESCRIPTION COMMAND...: one check of the current base; a failing one
# shows $log
t()
{
	local desc="$base: $1"

	shift
	: >"$log"
	if "$@"; then
		ok "$desc"
	else
		notok "$desc"
		showlog
	fi
	: >"$log"
}
# fatal DESCRIPTION: a failed step the rest of this base depends on
fatal() { notok "$base: $1"; showlog 40; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kernel-deb-test.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
chmod 0755 "$tmp"
log=$tmp/log
: >"$log"

all_bases=$(mk_var BASES)
bases=${*:-$all_bases}
for base in $bases; do
	case " $all_bases " in
	*" $base "*) ;;
	*) echo "kernel-deb: unknown base '$base': the kernel bases are: $all_bases" >&2; exit 2 ;;
	esac
done
if [ -n "${KERNEL_DEB_DIR:-}" ] && [ "$(wc -w <<<"$bases")" -ne 1 ]; then
	echo "kernel-deb: KERNEL_DEB_DIR needs one BASE" >&2
	exit 2
fi
base=all
for tool in dpkg dpkg-deb dpkg-query modinfo modprobe make gcc chroot; do
	command -v $tool >/dev/null || { echo "$tool not found: run make deps (as root)" >"$log"; fatal "$tool is installed"; totals; exit 1; }
done
busybox=$(command -v busybox)
if [ -z "$busybox" ] || ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked'; then
	echo "a static busybox (busybox-static) is the throwaway root's /bin/sh: run make deps (as root)" >"$log"
	fatal "busybox-static is installed"; totals; exit 1
fi
[ "$(id -u)" -eq 0 ] || { echo "dpkg --root and chroot need root" >"$log"; fatal "running as root"; totals; exit 1; }

# Our LOCALVERSION, as the guest's config sets it
localversion=$(sed -n -E 's/^CONFIG_LOCALVERSION="(.*)"$/\1/p' "$top/configs/vm.config")

# The machine's package and kernel state, compared at the end
host_state()
{
	{
		cat /var/lib/dpkg/status
		ls -l --time-style=+%s /var/lib/dpkg/info /var/lib/dpkg/updates
		ls -lR --time-style=+%s /boot /lib/modules /usr/src /etc/kernel 2>&1
	} | md5sum
}
host_before=$(host_state)

# tree_version TREE: VERSION.PATCHLEVEL.SUBLEVEL[EXTRAVERSION] of its Makefile
tree_version()
{
	awk -F' *= *' '$1 == "VERSION" { v = $2 } $1 == "PATCHLEVEL" { p = $2 }
		$1 == "SUBLEVEL" { s = $2 } $1 == "EXTRAVERSION" { e = $2 }
		$1 == "NAME" { exit } END { print v "." p "." s e }' "$1/Makefile"
}

# bzimage_version FILE: the version string in a bzImage's setup header
# (kernel_version at 0x20e points to it, less 0x200), "" if not a bzImage
bzimage_version()
{
	local off

	[ "$(dd if="$1" bs=1 skip=$((0x202)) count=4 2>/dev/null)" = HdrS ] || return 0
	off=$(od -An -tu2 -j $((0x20e)) -N2 "$1" | tr -d ' ')
	dd if="$1" bs=1 skip=$((off + 0x200)) count=200 2>/dev/null | tr '\0' '\n' | head -n 1
}

# ---------------------------------------------------------------- each base

check_base()
{
	local dir=${KERNEL_DEB_DIR:-$top/build/$base/deb-small}
	local tree=$top/build/$base/linux
	local w=$tmp/$base t0 img hdr libc rel pkgs

	t0=$(date +%s)
	mkdir -p "$w"
	if [ "${KERNEL_DEB_BUILD:-}" = 1 ] || ! compgen -G "$dir/linux-image-*.deb" >/dev/null; then
		if [ -n "${KERNEL_DEB_DIR:-}" ]; then
			echo "no linux-image-*.deb in $KERNEL_DEB_DIR" >"$log"
			fatal "the packages are in KERNEL_DEB_DIR"; return
		fi
		if ! BASE=$base DEB_CONFIG=small "$top/scripts/deb" >"$log" 2>&1; then
			fatal "scripts/deb builds the small configuration's packages"; return
		fi
		grep '^deb: ' "$log" | diag
		ok "$base: scripts/deb builds the small configuration's packages"
		: >"$log"
	fi

	# ------------------------------------------------ the packages
	local f all=() imgs=() hdrs=() libcs=()
	for f in "$dir"/*.deb; do
		[ -e "$f" ] || continue
		all+=("$f")
		case ${f##*/} in
		linux-image-*-dbg_*) ;;
		linux-image-*) imgs+=("$f") ;;
		linux-headers-*) hdrs+=("$f") ;;
		linux-libc-dev_*) libcs+=("$f") ;;
		esac
	done
	img=${imgs[0]:-} hdr=${hdrs[0]:-} libc=${libcs[0]:-}
	packages()
	{
		printf '%s\n' "${all[@]##*/}" >"$log"
		[ ${#imgs[@]} = 1 ] && [ ${#hdrs[@]} = 1 ] && [ ${#libcs[@]} = 1 ] && [ ${#all[@]} = 3 ]
	}
	if ! packages; then
		fatal "one linux-image, one linux-headers, linux-libc-dev and no other package (no -dbg: no debug info)"; return
	fi
	ok "$base: one linux-image, one linux-headers, linux-libc-dev and no other package (no -dbg: no debug info)"
	: >"$log"
	rel=$(dpkg-deb -f "$img" Package) && rel=${rel#linux-image-}
	echo "# $base: $(basename "$img"), release $rel"

	release_ok()
	{
		local kv

		kv=$(tree_version "$tree")
		echo "release '$rel'; the tree is $kv, our LOCALVERSION '$localversion' (configs/vm.config)" >"$log"
		[ -n "$localversion" ] && [[ "$rel" =~ ^${kv//./\\.}${localversion}\+?$ ]] &&
			[ "$(dpkg-deb -f "$hdr" Package)" = "linux-headers-$rel" ] &&
			[ "$(dpkg-deb -f "$img" Architecture)" = amd64 ]
	}
	t "the release is the tree's version and our LOCALVERSION (+ for a tree not at a tag)" release_ok

	dpkg-deb -c "$img" | awk '{ sub(/^\.\//, "", $6); print $6 }' | sort >"$w/img.list"
	dpkg-deb -c "$hdr" | awk '{ sub(/^\.\//, "", $6); print $6 }' | sort >"$w/hdr.list"
	dpkg-deb -x "$img" "$w/img"
	dpkg-deb -x "$hdr" "$w/hdr"
	dpkg-deb -e "$img" "$w/img.ctl"

	has() # has LIST FILE...: each FILE is in the package's list
	{
		local list=$1 f rc=0

		shift
		for f in "$@"; do
			grep -qxF "$f" "$list" || { echo "missing: /$f" >>"$log"; rc=1; }
		done
		return $rc
	}
	local mods=lib/modules/$rel
	t "linux-image holds /boot/vmlinuz, config and System.map of $rel, and its module tree" \
		has "$w/img.list" "boot/vmlinuz-$rel" "boot/config-$rel" "boot/System.map-$rel" \
		"$mods/modules.order" "$mods/modules.dep" "$mods/modules.builtin"

	kernel_ok()
	{
		local v

		v=$(bzimage_version "$w/img/boot/vmlinuz-$rel")
		echo "vmlinuz-$rel: version string '${v:-none: not a bzImage}'" >"$log"
		[ "${v%% *}" = "$rel" ] || return 1
		grep -E ' (pagetable_free_kernel|kernel_pgtable_work_func)$' "$w/img/boot/System.map-$rel" >"$log"
		[ "$(wc -l <"$log")" = 2 ] || { echo "System.map lacks the deferral (pagetable_free_kernel, kernel_pgtable_work_func)" >>"$log"; return 1; }
	}
	t "vmlinuz is a bzImage of $rel; System.map has the deferral (pagetable_free_kernel, its work function)" kernel_ok

	config_ok()
	{
		local c=$w/img/boot/config-$rel want rc=0

		for want in CONFIG_ASYNC_KERNEL_PGTABLE_FREE=y CONFIG_IOMMU_SVA=y CONFIG_MODULES=y \
			    CONFIG_TEST_VMALLOC=m "CONFIG_LOCALVERSION=\"$localversion\""; do
			grep -qxF "$want" "$c" || { echo "not in config-$rel: $want" >>"$log"; rc=1; }
		done
		return $rc
	}
	t "config-$rel: ASYNC_KERNEL_PGTABLE_FREE=y, IOMMU_SVA=y, modules, TEST_VMALLOC=m, our LOCALVERSION" config_ok

	# modules_install writes modules.order with the installed paths
	modules_ok()
	{
		local m rc=0 nmod=0 vm

		while read -r m; do
			nmod=$((nmod + 1))
			has "$w/img.list" "$mods/$m" || rc=1
		done <"$w/img/$mods/modules.order"
		[ $nmod -gt 0 ] || { echo "modules.order is empty" >>"$log"; rc=1; }
		grep -qx 'kernel/lib/test_vmalloc.ko' "$w/img/$mods/modules.order" ||
			{ echo "test_vmalloc is not in modules.order" >>"$log"; rc=1; }
		vm=$(modinfo -F vermagic "$w/img/$mods/kernel/lib/test_vmalloc.ko" 2>>"$log")
		[ "${vm%% *}" = "$rel" ] || { echo "test_vmalloc.ko: vermagic '$vm'" >>"$log"; rc=1; }
		echo "# $base: $nmod modules: $(tr '\n' ' ' <"$w/img/$mods/modules.order")"
		return $rc
	}
	t "every module of modules.order is in linux-image (test_vmalloc.ko among them, vermagic $rel)" modules_ok

	scripts_ok()
	{
		local s rc=0

		for s in preinst postinst prerm postrm; do
			[ -x "$w/img.ctl/$s" ] || { echo "no $s" >>"$log"; rc=1; continue; }
			grep -q "run-parts --arg=\"$rel\" --arg=\"/boot/vmlinuz-$rel\"" "$w/img.ctl/$s" ||
				{ echo "$s does not run the /etc/kernel/$s.d hooks for $rel" >>"$log"; rc=1; }
		done
		return $rc
	}
	t "linux-image's maintainer scripts run the /etc/kernel hooks with $rel and /boot/vmlinuz-$rel" scripts_ok

	local hd=usr/src/linux-headers-$rel
	headers_ok()
	{
		local rc=0 f

		has "$w/hdr.list" "$hd/Makefile" "$hd/Module.symvers" "$hd/include/config/auto.conf" \
			"$hd/include/config/kernel.release" "$hd/scripts/basic/fixdep" "$hd/scripts/mod/modpost" \
			"$hd/include/generated/autoconf.h" "$hd/include/generated/utsrelease.h" || rc=1
		[ "$(readlink "$w/hdr/$mods/build")" = "/$hd" ] ||
			{ echo "/$mods/build: '$(readlink "$w/hdr/$mods/build")', not /$hd" >>"$log"; rc=1; }
		f=$w/hdr/$hd/include/config/auto.conf
		grep -qx CONFIG_ASYNC_KERNEL_PGTABLE_FREE=y "$f" 2>/dev/null ||
			{ echo "auto.conf lacks CONFIG_ASYNC_KERNEL_PGTABLE_FREE=y" >>"$log"; rc=1; }
		[ "$(cat "$w/hdr/$hd/include/config/kernel.release" 2>/dev/null)" = "$rel" ] ||
			{ echo "kernel.release is not $rel" >>"$log"; rc=1; }
		return $rc
	}
	t "linux-headers: Makefile, Module.symvers, the config (auto.conf) with the feature, host tools, /$mods/build" headers_ok

	# ------------------------------------------------ install
	local root=$w/root s
	mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers" \
		"$root/bin" "$root/tmp"
	: >"$root/var/lib/dpkg/status"
	cp "$busybox" "$root/bin/busybox"
	ln -s busybox "$root/bin/sh"
	ln -s busybox "$root/bin/run-parts"
	for s in preinst postinst prerm postrm; do
		mkdir -p "$root/etc/kernel/$s.d"
		# shellcheck disable=SC2016 # the hook's own variables
		printf '#!/bin/sh\necho "%s.d $* maint=$DEB_MAINT_PARAMS initrd=$INITRD" >>/hooks.log\n' "$s" \
			>"$root/etc/kernel/$s.d/zz-record"
		chmod 0755 "$root/etc/kernel/$s.d/zz-record"
	done
	(cd "$root" && find . | sort) >"$w/root.before"
	pkgdpkg() { dpkg --root="$root" --log="$w/dpkg.log" "$@"; }
	pkgs="linux-image-$rel linux-headers-$rel linux-libc-dev"

	if ! pkgdpkg -i "$img" "$hdr" "$libc" >"$log" 2>&1; then
		fatal "dpkg --root installs linux-image, linux-headers and linux-libc-dev"; return
	fi
	ok "$base: dpkg --root installs linux-image, linux-headers and linux-libc-dev"
	: >"$log"

	installed()
	{
		local p f rc=0

		for p in $pkgs; do
			[ "$(dpkg-query --root="$root" -W -f='${db:Status-Abbrev}' "$p" 2>>"$log")" = "ii " ] ||
				{ echo "$p is not ii in the throwaway root" >>"$log"; rc=1; }
		done
		while read -r f; do
			[ -e "$root/$f" ] || [ -L "$root/$f" ] || { echo "missing: /$f" >>"$log"; rc=1; }
		done < <(cat "$w/img.list" "$w/hdr.list")
		return $rc
	}
	t "installed: the three packages ii, every file of linux-image and linux-headers in place" installed

	hooks_installed()
	{
		printf '%s\n' "preinst.d $rel /boot/vmlinuz-$rel maint=install initrd=Yes" \
			"postinst.d $rel /boot/vmlinuz-$rel maint=configure  initrd=Yes" >"$w/hooks.want"
		diff -u "$w/hooks.want" "$root/hooks.log" >"$log" 2>&1
	}
	t "the maintainer scripts ran in the root: its preinst.d and postinst.d hooks got $rel, /boot/vmlinuz-$rel, INITRD=Yes" hooks_installed

	modprobe_ok()
	{
		local ko

		modprobe -d "$root" -S "$rel" -n -v test_vmalloc >"$log" 2>&1 || return 1
		ko=$(sed -n "s|^insmod \(.*/lib/modules/$rel/kernel/lib/test_vmalloc\.ko\) *\$|\1|p" "$log")
		if [ -z "$ko" ] || [ ! -f "$ko" ]; then
			echo "not a module file: '$ko'" >>"$log"
			return 1
		fi
	}
	t "modprobe finds test_vmalloc in the installed module tree" modprobe_ok

	extmod_ok()
	{
		local m=$w/extmod v

		mkdir -p "$m"
		printf '%s\n' '#include <linux/module.h>' \
			'static int __init hello_init(void) { return 0; }' \
			'static void __exit hello_exit(void) { }' \
			'module_init(hello_init);' 'module_exit(hello_exit);' \
			'MODULE_LICENSE("GPL");' 'MODULE_DESCRIPTION("kernel-deb test module");' >"$m/hello.c"
		echo 'obj-m := hello.o' >"$m/Kbuild"
		make -C "$root/$hd" M="$m" -j"${JOBS:-$(nproc)}" modules >"$log" 2>&1 || return 1
		v=$(modinfo -F vermagic "$m/hello.ko" 2>>"$log")
		echo "hello.ko: vermagic '$v'" >>"$log"
		[ "${v%% *}" = "$rel" ]
	}
	t "an external module builds against the installed headers, vermagic $rel" extmod_ok

	# ------------------------------------------------ purge
	: >"$root/hooks.log"
	# shellcheck disable=SC2086 # $pkgs is a list
	if ! pkgdpkg --purge $pkgs >"$log" 2>&1; then
		fatal "dpkg --root --purge removes them"; return
	fi
	ok "$base: dpkg --root --purge removes them"
	: >"$log"

	hooks_purged()
	{
		printf '%s\n' "prerm.d $rel /boot/vmlinuz-$rel maint=remove initrd=Yes" \
			"postrm.d $rel /boot/vmlinuz-$rel maint=remove initrd=Yes" \
			"postrm.d $rel /boot/vmlinuz-$rel maint=purge initrd=Yes" >"$w/hooks.want"
		diff -u "$w/hooks.want" "$root/hooks.log" >"$log" 2>&1
	}
	t "purging ran the prerm.d and postrm.d hooks (remove, purge)" hooks_purged

	purged()
	{
		local p

		for p in $pkgs; do
			[ -z "$(dpkg-query --root="$root" -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null)" ] ||
				{ echo "$p is still known to the root's dpkg" >>"$log"; return 1; }
		done
		(cd "$root" && find . | sort | grep -v -e '^\./var/lib/dpkg/' -e '^\./hooks\.log$') >"$w/root.after"
		grep -v '^\./var/lib/dpkg/' "$w/root.before" | diff -u - "$w/root.after" >>"$log"
	}
	t "purged: nothing of the packages left in the root" purged

	echo "# $base: $(($(date +%s) - t0)) s"
}

for base in $bases; do
	check_base
	: >"$log"
done

base=all
host_unchanged()
{
	echo "the machine's dpkg database, /boot, /lib/modules, /usr/src or /etc/kernel changed" >"$log"
	[ "$(host_state)" = "$host_before" ]
}
t "the machine's dpkg database, /boot, /lib/modules, /usr/src and /etc/kernel are unchanged" host_unchanged

totals
[ $nfail -eq 0 ]
