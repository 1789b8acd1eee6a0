# pgtfree: deferred freeing of kernel page tables on Debian's Linux 7.3 and
# 6.12, its administration tool and its tests.  `make help` lists the targets.

# The kernel bases, each a Debian linux-source-BASE package, with a series
# in patches/BASE/ and a tree in build/BASE/.  BASE=... picks one for every
# target that uses a kernel tree; the default is the newest.  make check
# runs both (see tests/check-plan).
BASES := 7.3 6.12
BASE ?= 7.3
ifeq ($(filter $(BASE),$(BASES)),)
$(error unknown BASE '$(BASE)': the kernel bases are: $(BASES))
endif
ifneq ($(words $(BASE)),1)
$(error BASE must name one base, not '$(BASE)': one of $(BASES))
endif

# The Debian linux-source-BASE versions each series is tested on; the
# 7.3 package comes from trixie-backports (scripts/deps).
LINUX_SOURCE_PIN_6.12 := 6.12.117-1~deb12u1
LINUX_SOURCE_PIN_7.3 := 7.3.4-1~bpo13+1

# The Debian release make debian-system boots with each base's kernel.
DEBIAN_SUITE_7.3 := trixie
DEBIAN_SUITE_6.12 := bookworm

# The scripts derive every path from BASE (scripts/base.sh reads the pins
# and the bases above); the Makefile only passes BASE on.
export BASE

TOP    := $(CURDIR)
KBUILD := $(TOP)/build/$(BASE)
KTREE  := $(KBUILD)/linux
KDBG   := $(KBUILD)/kernel-debug
BIN    := $(TOP)/build/bin
STOUT  := $(KBUILD)/selftests

# A base named on the command line (or in the environment) limits
# patches-check and check to it; without one they cover every base.
ifneq ($(filter command line environment,$(origin BASE)),)
ALL_OR_BASE := $(BASE)
else
ALL_OR_BASE := $(BASES)
endif

.PHONY: help deps kernel-tree export-patches patches-check kernel kernel-debug tool \
	selftests build run shell vm-exec check check-full bench lint series bisect-check deb trace-recipes \
	deb-check pgtfree-deb mutation-check build-matrix real-batches debian-system docs

help:
	@echo 'make run             build what is missing, boot the kernel, show the feature'
	@echo 'make check           every test CI runs, on both bases (tests/check-plan)'
	@echo 'make check-full      make check plus what does not fit CI (debug, notest, base, bisect on 6.12 too)'
	@echo 'make bench           measure the free path, batching, drain latency'
	@echo 'make shell           an interactive shell in the guest'
	@echo 'make vm-exec CMD=..  run CMD in the guest'
	@echo 'make kernel-tree     prepare build/$$BASE/linux (Debian source + patches/$$BASE)'
	@echo 'make export-patches  write patches/$$BASE from build/$$BASE/linux commits'
	@echo 'make patches-check   fail if a tree holds work its patches/ lacks (every base)'
	@echo 'make lint            checkpatch, sparse and W=1 on our code'
	@echo 'make series          a review-ready series in build/series'
	@echo 'make bisect-check    build every step of the series, feature on and off'
	@echo 'make build-matrix    the series on the configurations the kernel test robot tries'
	@echo 'make mutation-check  the tests must fail on kernels with the rule broken'
	@echo 'make docs            the admin guide and ABI of the series, as HTML and man pages (build/BASE/docs)'
	@echo 'make trace-recipes   the admin guide'"'"'s perf and bpftrace recipes, run in a guest'
	@echo 'make real-batches    batches and invalidations of real callers, against the kernel without the series'
	@echo 'make deb             a Debian kernel package for a real machine (hours)'
	@echo 'make deb-check       kernel packages of the guest config, built and checked (every base)'
	@echo 'make pgtfree-deb     a Debian package of pgtfree and its Prometheus timer (build/pgtfree-deb)'
	@echo 'make debian-system   our kernel and pgtfree packages on a Debian system booted with systemd'
	@echo '                     (every base; DEB_CONFIG=small|debian-vm|debian: the kernel package)'
	@echo 'make kernel kernel-debug tool selftests   build one part'
	@echo
	@echo 'BASE=7.3|6.12 picks the kernel base (default $(word 1,$(BASES))); BASE=$(BASE) now'

deps:
	@DEPS_BASES="$(ALL_OR_BASE)" scripts/deps

kernel-tree:
	@DEPS_BASES=$(BASE) scripts/deps
	@scripts/kpatches tree

export-patches:
	@scripts/kpatches export

patches-check:
	@rc=0; for b in $(ALL_OR_BASE); do BASE=$$b scripts/kpatches check || rc=1; done; exit $$rc

kernel: kernel-tree
	@scripts/build-kernel

# The same kernel with KASAN, kmemleak and DEBUG_PAGEALLOC
kernel-debug: kernel-tree
	@KERNEL_OUT=$(KDBG) scripts/build-kernel configs/vm.config configs/debug.config

tool:
	@DEPS_BASES= scripts/deps
	@$(MAKE) -s -C tools/pgtfree OUTPUT=$(BIN)/ all unit

selftests: kernel-tree
	@mkdir -p $(STOUT)/pgtable_free
	@$(MAKE) -s -C $(KTREE)/tools/testing/selftests/pgtable_free \
		OUTPUT=$(STOUT)/pgtable_free
	@scripts/build-mm-selftests 2>$(KBUILD)/mm-selftests-build.log || \
		{ cat $(KBUILD)/mm-selftests-build.log; exit 1; }

build: kernel tool selftests

run: build
	@scripts/vm-exec --quiet -- scripts/tour

shell: build
	@scripts/vm-exec --interactive

vm-exec: build
	@scripts/vm-exec -- '$(CMD)'

# make check BASE=6.12 (or CHECK_BASES=6.12) runs one base only.
check:
	@DEPS_BASES="$(ALL_OR_BASE)" scripts/deps
	@CHECK_BASES="$${CHECK_BASES:-$(ALL_OR_BASE)}" scripts/check

check-full:
	@DEPS_BASES="$(ALL_OR_BASE)" scripts/deps
	@CHECK_BASES="$${CHECK_BASES:-$(ALL_OR_BASE)}" scripts/check --full

bench: build
	@scripts/bench

lint: kernel
	@scripts/lint --full

series: kernel-tree
	@scripts/series

bisect-check: kernel-tree
	@scripts/bisect-check

# x86_64, i386 and arm64 configurations of configs/matrix (cross compiler
# from Debian)
build-matrix: kernel-tree
	@DEPS_BASES= DEPS_MATRIX=1 scripts/deps
	@scripts/build-matrix

# The kselftests against kernels with a broken invalidation (tests/mutations)
mutation-check: build
	@scripts/mutation-check

trace-recipes: build
	@scripts/trace-recipes

# Batches and invalidations per real workload, on our kernel and on the
# kernel without the series (counts, which compare across boots)
real-batches: build
	@scripts/real-batches

docs: kernel-tree
	@DOCS_OUT=$(KBUILD)/docs scripts/docs-check

deb: kernel-tree
	@scripts/deb

# DEB_CONFIG=small packages of every base (or BASE=...), built and checked
# by tests/kernel-deb/run.sh, from the trees as they are (a missing one is
# made).
deb-check:
	@DEPS_BASES="$(ALL_OR_BASE)" scripts/deps
	@for b in $(ALL_OR_BASE); do [ -d build/$$b/linux/.git ] || $(MAKE) -s kernel-tree BASE=$$b || exit; done
	@KERNEL_DEB_BUILD=1 tests/kernel-deb/run.sh $(ALL_OR_BASE)

pgtfree-deb:
	@DEPS_BASES= scripts/deps
	@scripts/pgtfree-deb

# The kernel package (DEB_CONFIG=small, the default; debian-vm; debian)
# and pgtfree's installed with apt on a Debian system that boots them
# with systemd (trixie for 7.3, bookworm for 6.12), every base or BASE=.
# Documentation/packaging.md.
debian-system:
	@DEPS_BASES="$(ALL_OR_BASE)" scripts/deps
	@for b in $(ALL_OR_BASE); do $(MAKE) -s kernel-tree BASE=$$b || exit; done
	@scripts/debian-system --bases "$(ALL_OR_BASE)"
