# pgtfree: deferred freeing of kernel page tables on Linux 6.12, its
# administration tool and its tests.  `make help` lists the targets.

# The Debian linux-source-6.12 version the series is tested on.
LINUX_SOURCE_PIN := 6.12.117-1~deb12u1
export LINUX_SOURCE_PIN

TOP    := $(CURDIR)
KTREE  := $(TOP)/build/linux
KOUT   := $(TOP)/build/kernel
KDBG   := $(TOP)/build/kernel-debug
BIN    := $(TOP)/build/bin
STOUT  := $(TOP)/build/selftests
export KERNEL_TREE := $(KTREE)
export KERNEL_OUT  := $(KOUT)

.PHONY: help deps kernel-tree export-patches patches-check kernel kernel-debug tool \
	selftests build run shell vm-exec check bench lint series bisect-check deb

help:
	@echo 'make run             build what is missing, boot the kernel, show the feature'
	@echo 'make check           every test: host tests, then the guest suites'
	@echo 'make bench           measure the free path, batching, drain latency'
	@echo 'make shell           an interactive shell in the guest'
	@echo 'make vm-exec CMD=..  run CMD in the guest'
	@echo 'make kernel-tree     prepare build/linux (Debian source + patches/)'
	@echo 'make export-patches  write patches/ from build/linux commits'
	@echo 'make patches-check   fail if build/linux holds work patches/ lacks'
	@echo 'make lint            checkpatch, sparse and W=1 on our code'
	@echo 'make series          a review-ready series in build/series'
	@echo 'make bisect-check    build every step of the series, feature on and off'
	@echo 'make deb             a Debian kernel package for a real machine (hours)'
	@echo 'make kernel tool selftests   build one part'

deps:
	@scripts/deps

kernel-tree: deps
	@scripts/kpatches tree

export-patches:
	@scripts/kpatches export

patches-check:
	@scripts/kpatches check

kernel: kernel-tree
	@scripts/build-kernel

# The same kernel with KASAN, kmemleak and DEBUG_PAGEALLOC
kernel-debug: kernel-tree
	@KERNEL_OUT=$(KDBG) scripts/build-kernel configs/vm.config configs/debug.config

tool: deps
	@$(MAKE) -s -C tools/pgtfree OUTPUT=$(BIN)/

selftests: kernel-tree
	@mkdir -p $(STOUT)/pgtable_free
	@$(MAKE) -s -C $(KTREE)/tools/testing/selftests/pgtable_free \
		OUTPUT=$(STOUT)/pgtable_free
	@scripts/build-mm-selftests 2>$(TOP)/build/mm-selftests-build.log || \
		{ cat $(TOP)/build/mm-selftests-build.log; exit 1; }

build: kernel tool selftests

run: build
	@scripts/vm-exec --quiet -- scripts/tour

shell: build
	@scripts/vm-exec --interactive

vm-exec: build
	@scripts/vm-exec -- '$(CMD)'

check: deps
	@scripts/check

bench: build
	@scripts/bench

lint: kernel
	@scripts/lint --full

series: kernel-tree
	@scripts/series

bisect-check: kernel-tree
	@scripts/bisect-check

deb: kernel-tree
	@scripts/deb
