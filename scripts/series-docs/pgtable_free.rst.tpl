.. SPDX-License-Identifier: GPL-2.0

.. _admin_guide_pgtable_free:

======================================
Deferred freeing of kernel page tables
======================================

Overview
========

Page tables are themselves pages of memory.  When the kernel no longer needs
a page table of its own address space (``init_mm``, which holds the vmalloc
and ioremap mappings, the module area and the direct map among others), it
frees that page.  Before the page can be reused, every agent that may have
cached its contents must forget them.  The CPU TLB flush takes care of the
CPUs, but not of every agent: an IOMMU that shares the CPU page tables
(Shared Virtual Addressing, SVA) keeps its own paging-structure caches, and
invalidating them takes a mutex and may sleep.

With ``CONFIG_ASYNC_KERNEL_PGTABLE_FREE=y`` the kernel therefore frees such
page tables late.  It puts each page on a global list and queues a work item
on the ``kpgtable_free`` workqueue, on the CPU that freed the table.  When it
runs, the work item takes the whole list, invalidates the caches of every
IOMMU bound to an address space for SVA once
(``iommu_sva_invalidate_kva_range()``), and then frees every page of the
batch.  While no address space is bound for SVA there is nothing to
invalidate, and the batch is freed without it.

The rule, in every mode and context, is: no kernel page table goes back to
the page allocator while an IOMMU may still cache it without an invalidation
issued after it was unlinked, and nothing that may sleep runs in the context
that frees it.  Code that frees a kernel page table must therefore clear the
entry that points to it before it frees it.

Putting a page on the list is safe in any context but interrupt context: it
takes one spinlock and never sleeps.  The workqueue is created with
``WQ_MEM_RECLAIM``, so the work item never waits for a worker thread to be
created when memory is short.  Normally the list holds a handful of pages
until the freeing CPU next schedules, and nothing needs to be configured.
The files described below show what the mechanism does[[MODE|, switch the deferral
off at runtime where that is safe]][[DRAIN|, and wait until the list is empty]].

Page tables of user processes are not affected.  On x86 the option is
selected by ``CONFIG_IOMMU_SVA``: no kernel can bind an address space for
SVA without it.  Without it, kernel page tables are freed at once[[MODE|,
``/sys/kernel/mm/pgtable_free/`` does not exist and the boot parameter has no
effect| and
``/sys/kernel/mm/pgtable_free/`` does not exist]].

When tables are freed
=====================

The kernel frees its own page tables at runtime in a few places.  On x86-64:

- restoring a large mapping after a change of page attributes: when
  ``set_memory_rox()`` finds that the 4 KiB mappings of a split 2 MiB page
  agree again, it collapses them back and frees the PTE table
  (``__cpa_collapse_large_pages()``).  Loading and unloading a module does
  this for the module area whenever module text is allocated from the
  execmem cache of read-only, executable memory, and so do BPF and ftrace
  trampolines and kprobes.  Where the kernel has this collapse, it is the
  most frequent caller: each module load and unload frees a few tables;
- a huge vmap or ioremap mapping replaces a range that had 4 KiB mappings:
  the tables that covered the range are freed (``pmd_free_pte_page()`` and
  ``pud_free_pmd_page()``).  Huge vmalloc allocations, large ``kvmalloc()``
  allocations and ioremap of large device ranges do this;
- memory hot-remove tears down the page tables of the removed range;
- two CPUs race to allocate the same kernel page table (when populating
  vmalloc space, splitting a large page of the direct map, or splitting a
  vmemmap mapping for HugeTLB vmemmap optimization): the loser frees its
  copy, possibly under a spinlock;
- KASAN removes its shadow of a range of device or hot-removed memory.

Only tables marked as kernel page tables when they were allocated are
deferred: PTE tables from ``pte_alloc_one_kernel()``, and PMD, PUD and P4D
tables allocated for ``init_mm`` through the generic page table allocators.
Other kernel page tables are freed at once and are not counted here: the
tables built at boot and by memory hot-add for the direct map and the
vmemmap (which memory hot-remove frees again), tables an architecture
allocates with its own allocator, and tables the kernel never frees.  So a
hot-remove is counted only for the tables that a later split added to the
removed range.

Sysfs interface
===============

The files are in ``/sys/kernel/mm/pgtable_free/``:

=========== ===== =============================================================
File        Mode  Use
=========== ===== =============================================================
@@ MODE
mode        0644  anyone reads the mode, root sets it; default ``async``
@@ end
@@ DRAIN
drain       0200  root writes ``1`` to wait until every pending page is freed
@@ end
stats/\*    0444  anyone reads them: one counter per file, see `Statistics`_
=========== ===== =============================================================

@@ MODE
mode
----

How kernel page tables are freed.  Reading shows both modes, the active one
in brackets::

	$ cat /sys/kernel/mm/pgtable_free/mode
	[async] sync

async
	Tables go on the list and the work item frees them in batches.

sync
	While no address space is bound for SVA, each kernel page table is
	freed at once, in the context of the code that frees it, as it would be
	without the deferral: the code that freed it has unlinked it, so no
	IOMMU that binds later can reach it, and there is nothing to
	invalidate.  These frees are counted in ``stats/freed_sync``, not in
	``queued``, ``freed`` or ``batches``.  While an address space is bound,
	a table cannot be freed before an invalidation, which may sleep, so it
	goes on the list as in ``async`` mode and is counted as such.

Default: ``async``, or what the boot parameter ``pgtable_free.mode=`` sets.

To switch, as root::

	# echo sync > /sys/kernel/mm/pgtable_free/mode
	# cat /sys/kernel/mm/pgtable_free/mode
	async [sync]
	# echo async > /sys/kernel/mm/pgtable_free/mode

Only ``async`` and ``sync`` are accepted, with or without one trailing
newline.  Anything else (another case, spaces, an embedded NUL byte) fails
with ``EINVAL`` and changes nothing::

	# echo Sync > /sys/kernel/mm/pgtable_free/mode
	bash: echo: write error: Invalid argument

A switch to ``sync`` takes effect at once for new frees; the pages already
pending are left to the work item, and the write returns without waiting
for it.[[DRAIN|  Write ``drain`` to wait until they are freed.]]
A free that races with the switch and still lands on the list is freed
by the work item: no page is lost or freed twice.

A mode written to the file lasts until the next boot.  To keep it, set the
boot parameter (see `Boot parameter`_), or have the write done at every boot,
for example by the distribution's service for sysfs settings.

Reasons to force ``sync``:

- to rule the deferral out while investigating a problem, such as a
  suspected leak of page-table pages;
- to stop pages from piling up while no address space is bound for SVA,
  when ``stats/pending`` grows because the work item does not run (see
  `Reading the statistics`_).

What it costs: nothing while no address space is bound, and the frees then
need no invalidation.  While one is bound, ``sync`` behaves as ``async``: an
SVA user pays the same invalidations in both modes.

@@ end
@@ DRAIN
drain
-----

Write-only, for root; there is nothing to read.  Writing ``1`` (with or
without a trailing newline) queues the work item and waits until every page
that was pending when the write began has been freed, by the work item[[OOMFREE| or
the OOM notifier]], with one invalidation per batch if an address space is
bound for SVA.[[TESTMOD|  A drain frees pages even while the ``hold`` hook of the test
module holds the list.]]  Any other value fails with ``EINVAL``::

	# cat /sys/kernel/mm/pgtable_free/stats/pending
	3
	# echo 1 > /sys/kernel/mm/pgtable_free/drain
	# cat /sys/kernel/mm/pgtable_free/stats/pending
	0

``pending`` may be non-zero again at once if new tables were freed meanwhile.
The wait can be interrupted by a fatal signal: the write then fails with
``EINTR``, and the work item frees the pages later.  The writer never waits
for the IOMMU itself: while the work item waits for the lock the
invalidation takes, which an SVA bind holds while it allocates memory, the
writer still answers a fatal signal.

@@ end
Statistics
==========

``/sys/kernel/mm/pgtable_free/stats/`` holds one read-only file per counter,
readable by everyone, each containing one decimal number and a newline.  The
counters start from 0 at boot and cannot be reset.  All but ``batches``,
``invalidations``[[OOMFREE|,|]] [[!OOMFREE|and ]]``invalidated_mms``[[OOMFREE| and ``oom_events``]] count pages (4 KiB
on x86-64, where a kernel page table is one page).

=============== ==============================================================
File            Meaning
=============== ==============================================================
queued          pages put on the deferred list
@@ OOMFREE
freed           pages freed from the list, by the work item or the OOM
                notifier
@@ end
@@ !OOMFREE
freed           pages freed from the list by the work item
@@ end
pending         pages queued and not yet freed: on the list, or in a batch
                being freed
pending_max     highest value of ``pending`` since boot
batches         times the list was taken and at least one page freed
invalidations   batches before which the IOMMUs bound for SVA were
                invalidated: the expensive operation the deferral shares
invalidated_mms address spaces those invalidations covered, summed; one
                invalidation covers every bound address space
@@ MODE
freed_sync      pages freed at once because the mode was ``sync`` and no
                address space was bound for SVA
@@ end
@@ OOMFREE
oom_freed       pages freed by the OOM notifier (also counted in ``freed``)
oom_events      times the OOM notifier freed pages (also counted in
                ``batches``)
@@ end
=============== ==============================================================

All of them at once::

	$ grep . /sys/kernel/mm/pgtable_free/stats/*
	/sys/kernel/mm/pgtable_free/stats/batches:41
	/sys/kernel/mm/pgtable_free/stats/freed:187
@@ MODE
	/sys/kernel/mm/pgtable_free/stats/freed_sync:0
@@ end
	/sys/kernel/mm/pgtable_free/stats/invalidated_mms:0
	/sys/kernel/mm/pgtable_free/stats/invalidations:0
@@ OOMFREE
	/sys/kernel/mm/pgtable_free/stats/oom_events:0
	/sys/kernel/mm/pgtable_free/stats/oom_freed:0
@@ end
	/sys/kernel/mm/pgtable_free/stats/pending:0
	/sys/kernel/mm/pgtable_free/stats/pending_max:24
	/sys/kernel/mm/pgtable_free/stats/queued:187

``queued``, ``freed``, ``pending`` and ``pending_max`` are always exact.  The
other counters are kept per CPU and summed when read, so they are exact only
at rest, when no free is in progress.

Reading the statistics
======================

- At rest, ``queued == freed + pending``.[[MODE|  ``freed_sync`` is not part of this
  sum: those pages never went on the list.]]
- ``pending`` is what the deferral holds back now, ``pending_max`` the most it
  has ever held back.  Multiplied by the page size they give the memory: the
  24 pages above are 96 kB.  ``pending`` is normally 0 or a few pages.  A large
  ``pending_max`` with ``pending`` back near 0 is normal after a burst, such
  as huge vmap or ioremap mappings replacing many small ones.
- If ``pending`` stays non-zero or grows while ``freed`` does not move between
  reads a second apart, the work item is not running: the workqueue is
  stalled (look for workqueue lockup reports in the kernel log)[[TESTMOD|, the work item
  waits for the lock of the IOMMU invalidation, or the ``hold`` hook of the
  test module is set| or the work item
  waits for the lock of the IOMMU invalidation]].[[MODE|  While no address space is bound for SVA, switching to
  ``sync`` keeps new tables off the list.]]
- ``freed / batches`` is the average number of pages per batch since boot.
  Above, 187 / 41 is about 4.6 pages per batch.
- ``invalidations`` is the number of IOMMU invalidations issued: with an
  address space bound for SVA, ``freed / invalidations`` pages were freed per
  invalidation.  It stays 0 while nothing is bound, and
  ``invalidated_mms / invalidations`` is the number of bound address spaces.
- In short, normal is ``pending`` at 0 or a few pages, and
  ``invalidations`` at 0 while nothing is bound for SVA and otherwise no more
  than ``batches``.  Act when ``pending`` stays while ``freed`` does not move:
  see above.
@@ MODE
- ``freed_sync`` grows only while the mode is ``sync``.
@@ end
@@ OOMFREE
- Non-zero ``oom_freed`` and ``oom_events`` mean that pages were still pending
  when the system ran out of memory, and the OOM notifier freed them.
@@ end

@@ MODE
Boot parameter
==============

``pgtable_free.mode=async|sync`` sets the mode at boot, for example::

	pgtable_free.mode=sync

An invalid value leaves the mode unchanged and prints one warning::

	pgtable_free: invalid mode 'fast', keeping 'async'

The mode can still be changed at runtime through ``mode``.  The parameter is
also listed in Documentation/admin-guide/kernel-parameters.rst.

@@ end
@@ OOMDUMP
Out of memory
=============

When the whole system runs out of memory (not a memory cgroup: the OOM
notifiers do not run for a memcg OOM), the OOM killer first calls its
notifiers.  If pages are pending, this one logs, at most a few times in a
few seconds, what became of them, so that the OOM report says how much
memory the deferral held.

@@ !OOMFREE
It logs how many are pending::

	pgtable_free: out of memory: 12 kernel page table pages (48 kB) pending

The first number counts pages, the second is their size.  It frees nothing
itself: the notifier runs in the task that failed to allocate, which may be
one binding an address space for SVA with the lock the invalidation takes.

@@ end
@@ OOMFREE
The notifier runs in the task that failed to allocate, which may be one
binding an address space for SVA with the lock the invalidation takes, so it
never invalidates and never waits for a batch.  It takes the list and then
looks whether an address space is bound for SVA.  If none is, no IOMMU can
cache the tables it took: it frees them[[TESTMOD|, even while the list is held by the
``hold`` hook of the test module]], and logs::

	pgtable_free: out of memory: freed 12 pending kernel page table pages (48 kB)

The first number counts pages, the second is their size.  The pages are
counted in ``oom_freed`` and ``freed``, the event in ``oom_events`` and
``batches``.  The notifier reports the pages as freed, so the OOM killer
stands down and the allocation is retried: no task is killed and no OOM
report follows, unless memory runs out again.  An OOM triggered with SysRq-f
kills a task regardless.

Pages it cannot free (an address space is bound, or the work item is freeing
a batch at that moment) are put back and left to the work item, which it
queues at once, and it logs::

	pgtable_free: out of memory: 12 kernel page table pages (48 kB) left to the work item

Those pages are not reported as freed to the OOM killer.

There is deliberately no shrinker: the list is global, not per node or per
memory cgroup; the work item runs on a ``WQ_MEM_RECLAIM`` workqueue and frees
the whole list in one run, allocating nothing; and the notifier covers the
last-chance case.

@@ end
@@ end
@@ TRACE
Tracepoints
===========

The counters say how many tables are freed and how they are batched; [[MODE|three|two]]
trace events in the ``pgtable_free`` group (with ``CONFIG_TRACING``) say who
frees them, when, and what each batch cost:

pgtable_free_queue
	A table went on the list: ``caller``, the function that freed it;
	``nr_pages``; ``pending``, the pages pending after it.

@@ MODE
pgtable_free_sync
	A table was freed at once in ``sync`` mode: ``caller`` and
	``nr_pages``.
@@ end

pgtable_free_batch
	A batch was freed: ``nr_pages``; ``reason``, ``work`` (the work item)[[DRAIN|,
	``drain`` (the work item, for a drain)]][[OOMFREE| or ``oom``]]; ``mms``, the bound
	address spaces the invalidation before it covered, 0 when none was
	issued; and ``invalidate_ns``, how long that invalidation took.

The events cost nothing while they are off.  Recipes, as root::

	# how many tables were queued, [[MODE|freed at once, ]]and batched in 10 seconds
	perf stat -e 'pgtable_free:*' -a -- sleep 10
	# the events of 10 seconds, each queued table with its caller
	perf record -e 'pgtable_free:*' -a -- sleep 10; perf script
	# who frees kernel page tables, with call chains
	perf record -e pgtable_free:pgtable_free_queue -a -g -- sleep 10
	perf report --stdio
	# batch sizes and invalidation times as histograms, until interrupted
	bpftrace -e 'tracepoint:pgtable_free:pgtable_free_batch {
		@pages = hist(args->nr_pages); @ns = hist(args->invalidate_ns); }'
	# without other tools, in an instance of its own
	mkdir /sys/kernel/tracing/instances/pgt
	echo 1 > /sys/kernel/tracing/instances/pgt/events/pgtable_free/enable
	cat /sys/kernel/tracing/instances/pgt/trace_pipe

@@ end
Debugging interfaces
====================

These files are in debugfs and are not a stable ABI.

``/sys/kernel/debug/pgtable_free/stats`` (root only) shows [[MODE|the mode and ]]every
counter in one read, for bug reports::

	# cat /sys/kernel/debug/pgtable_free/stats
@@ MODE
	mode             async
@@ end
	queued           187
	freed            187
	pending          0
	pending_max      24
	batches          41
	invalidations    0
	invalidated_mms  0
@@ MODE
	freed_sync       0
@@ end
@@ OOMFREE
	oom_freed        0
	oom_events       0
@@ end

@@ CHECK
Checking the rule
-----------------

With ``CONFIG_DEBUG_KERNEL_PGTABLE_FREE=y`` the kernel checks the rule of
`Overview`_ as it goes, at a cost that only a test kernel should pay: every
kernel page table handed to the deferral must no longer be reachable from
``init_mm`` (a walk of the kernel's upper page-table levels), every batch
must still be unreachable after its invalidation, and every free without an
invalidation (``sync`` mode, the OOM notifier, a batch while nothing is
bound) must not have had an address space bound for SVA all along since
before it decided.  A violation is reported once with a warning and a stack
trace, and counted.  ``/sys/kernel/debug/pgtable_free/check`` (root only)
shows the tables and batches checked and the violations::

	# cat /sys/kernel/debug/pgtable_free/check
	tables           187
	batches          41
	violations       0

Races are rare; to make them likely, tests write a number of microseconds,
at most 10000, to ``/sys/kernel/debug/pgtable_free/check_delay_us``: the OOM
notifier then sleeps that long before it takes the list, so that a bind
racing it lands in that window often.  0, the default, adds no wait.

@@ end
@@ TESTMOD
The test module
---------------

``CONFIG_TEST_PGTABLE_FREE=m`` builds ``pgtable_free_test.ko``, for testing
only, never for production.  While it is loaded, root-only files in
``/sys/kernel/debug/pgtable_free/test/`` free kernel page tables on demand
and stand in for an SVA device, for what no workload of a test machine
reaches; the kselftests in ``tools/testing/selftests/pgtable_free`` load it:

alloc_free
	Write N (at most 1000000): allocate and free N kernel page tables, of
	each level the architecture has (PTE, PMD, PUD) in turn, every other
	one under a spinlock.  Read: the number the last write freed.

hold
	``0`` or ``1``: while ``1``, the work item leaves the list alone, so pages
	stay pending until a drain, the OOM notifier, or writing ``0``.
	Unloading the module writes ``0``.

sva_bind
	Write N (at most 4): bind N fake address spaces for SVA, 0 unbinds them;
	read: how many are bound.  A fake binding is an address space on the
	IOMMU layer's list of bound address spaces, with an MMU notifier in place
	of an IOMMU driver, so that the real invalidation runs without an SVA
	device.  Present only with ``CONFIG_IOMMU_SVA``.  Unloading the module
	unbinds them all.

sva_calls, sva_errors
	Read: the invalidations the fake address spaces received, and those
	that came from atomic context, for another range than the kernel's,
	or after a table of the batch being invalidated was freed.

sva_stall
	``0`` or ``1``: while ``1``, every invalidation of a fake address space
	waits until it is ``0`` again, at most a minute, as a real invalidation
	may wait behind a bind that holds the lock it takes.  Unloading the
	module writes ``0``.
@@ end
