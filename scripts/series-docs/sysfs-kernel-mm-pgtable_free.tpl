What:		/sys/kernel/mm/pgtable_free/
Date:		November 2026
Contact:	Linux memory management mailing list <linux-mm@kvack.org>
Description:
		Statistics[[MODE| and control]] of the deferred freeing of kernel page
		tables: pages that served as page tables of the kernel's own
		address space (vmalloc and ioremap mappings, among others) are
		put on a list and freed in batches by a work item, so that one
		invalidation of the IOMMUs that share the CPU page tables (SVA)
		covers a whole batch.

		The directory exists only with
		CONFIG_ASYNC_KERNEL_PGTABLE_FREE=y. It contains:

@@ MODE
			- mode
@@ end
@@ DRAIN
			- drain
@@ end
			- stats/, a subdirectory of read-only counters

		See Documentation/admin-guide/mm/pgtable_free.rst for details.

@@ MODE
What:		/sys/kernel/mm/pgtable_free/mode
Date:		November 2026
Contact:	Linux memory management mailing list <linux-mm@kvack.org>
Description:
		(RW) How kernel page tables are freed. Reading shows both
		modes with the active one in brackets::

			[async] sync

		async (the default):
			kernel page tables are put on the deferred list and
			freed in batches by a work item.

		sync:
			while no address space is bound for SVA, each kernel
			page table is freed at once, in the context of the
			caller, as without the deferral; such frees are
			counted in stats/freed_sync. While one is bound, the
			table goes on the list as in async mode, because the
			invalidation that must precede the free may sleep.

		Writing "async" or "sync" (root only), with or without a
		trailing newline, selects a mode. Any other value, including
		one with leading or trailing spaces, different case or an
		embedded NUL byte, fails with -EINVAL and changes nothing. A
		write of "sync" leaves the pages already pending to the work
		item and returns without waiting for them.

		The mode at boot is async unless the boot parameter
		pgtable_free.mode= sets it. A mode written here lasts until
		the next boot.

@@ end
@@ DRAIN
What:		/sys/kernel/mm/pgtable_free/drain
Date:		November 2026
Contact:	Linux memory management mailing list <linux-mm@kvack.org>
Description:
		(WO, root only) Writing "1" (a trailing newline is allowed)
		queues the work item and waits until every page that was
		pending when the write began has been freed, with one IOMMU
		invalidation per batch if an address space is bound for SVA.
		The wait is killable: a fatal signal makes the write fail
		with -EINTR, and the pages are freed by the work item later.
		Any other value fails with -EINVAL.

@@ end
What:		/sys/kernel/mm/pgtable_free/stats/queued
Date:		November 2026
Contact:	Linux memory management mailing list <linux-mm@kvack.org>
Description:
		(RO) Number of pages put on the deferred list since boot, as
		a decimal number followed by a newline. Like every file in
		stats/, it is readable by everyone and cannot be reset.

		queued, freed, pending and pending_max are exact, and::

			queued == freed + pending

		The other counters in stats/ are kept per CPU and summed when
		read, so they are exact only when no free is in progress.

What:		/sys/kernel/mm/pgtable_free/stats/freed
Date:		November 2026
Contact:	Linux memory management mailing list <linux-mm@kvack.org>
Description:
		(RO) Number of pages freed from the deferred list since boot,
		by the work item[[OOMFREE| and by the out-of-memory notifier]].
@@ MODE
		Pages freed at once in sync mode are not included; see
		freed_sync.
@@ end

What:		/sys/kernel/mm/pgtable_free/stats/pending
Date:		November 2026
Contact:	Linux memory management mailing list <linux-mm@kvack.org>
Description:
		(RO) Number of pages queued and not yet freed: on the deferred
		list, or in a batch being freed. This value is exact. It is
		normally a handful of pages or zero; a value that stays high
		or keeps growing means the work item does not run.

What:		/sys/kernel/mm/pgtable_free/stats/pending_max
Date:		November 2026
Contact:	Linux memory management mailing list <linux-mm@kvack.org>
Description:
		(RO) Highest value of pending since boot. This value is exact.

What:		/sys/kernel/mm/pgtable_free/stats/batches
Date:		November 2026
Contact:	Linux memory management mailing list <linux-mm@kvack.org>
Description:
		(RO) Number of times the deferred list was taken and at least
		one page freed, by the work item[[OOMFREE| or the out-of-memory
		notifier]]. freed / batches is the average number of pages per
		batch.

What:		/sys/kernel/mm/pgtable_free/stats/invalidations
Date:		November 2026
Contact:	Linux memory management mailing list <linux-mm@kvack.org>
Description:
		(RO) Number of batches before which the IOMMUs bound to an
		address space for SVA were invalidated
		(iommu_sva_invalidate_kva_range() covered at least one). It
		does not grow while no address space is bound.
		freed / invalidations is the number of pages freed per
		invalidation.

What:		/sys/kernel/mm/pgtable_free/stats/invalidated_mms
Date:		November 2026
Contact:	Linux memory management mailing list <linux-mm@kvack.org>
Description:
		(RO) Number of address spaces bound for SVA that those
		invalidations covered, summed over all of them.
@@ MODE

What:		/sys/kernel/mm/pgtable_free/stats/freed_sync
Date:		November 2026
Contact:	Linux memory management mailing list <linux-mm@kvack.org>
Description:
		(RO) Number of pages freed at once because mode was sync and
		no address space was bound for SVA. It grows only in sync
		mode.
@@ end
@@ OOMFREE

What:		/sys/kernel/mm/pgtable_free/stats/oom_freed
Date:		November 2026
Contact:	Linux memory management mailing list <linux-mm@kvack.org>
Description:
		(RO) Number of pending pages freed by the out-of-memory
		notifier when the system ran out of memory. These pages are
		also counted in freed.

What:		/sys/kernel/mm/pgtable_free/stats/oom_events
Date:		November 2026
Contact:	Linux memory management mailing list <linux-mm@kvack.org>
Description:
		(RO) Number of times the out-of-memory notifier freed pending
		pages. Each such event is also counted in batches.
@@ end
