//! Memory advice for large output columns.

/// Bytes from which a column is advised onto transparent huge pages (numpy's threshold).
const HUGE_FROM: usize = 4 << 20;

/// Ask the kernel to back `v`'s buffer with transparent huge pages (Linux, `madvise`), for a
/// buffer of at least 4 MiB that nobody has written yet (e.g. fresh from `vec![0; n]`).
///
/// A fresh zeroed buffer is mapped but not yet faulted in: every 4 KiB page costs a trap on its
/// first write, and with both cores writing an output column those traps and the kernel's page
/// accounting took as long as the alignment itself (≈ 5,000 traps for 1 M rows). With huge
/// pages the first write of each 2 MiB costs one trap. numpy advises its own large arrays the
/// same way. The advice is a hint: where the kernel declines (THP off, no 2 MiB-aligned range
/// inside the buffer, another OS) nothing changes.
pub(crate) fn advise_huge_pages<T>(v: &[T]) {
    let bytes = std::mem::size_of_val(v);
    if bytes < HUGE_FROM {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        const PAGE: usize = 4096;
        let start = v.as_ptr() as usize;
        let lo = start.next_multiple_of(PAGE);
        let hi = (start + bytes) & !(PAGE - 1);
        if hi > lo {
            // SAFETY: `lo..hi` lies inside `v`'s live allocation; MADV_HUGEPAGE changes no
            // contents, only how later faults are served, and an error is ignored (a hint).
            unsafe {
                libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_HUGEPAGE);
            }
        }
    }
}
