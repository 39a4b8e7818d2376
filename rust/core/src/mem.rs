//! Large, short-lived buffers on transparent huge pages.
//!
//! A fresh multi-megabyte buffer is mapped but not faulted in: every 4 KiB page costs a trap
//! (and the kernel zeroing it) on its first write. Measured on the 2-core development VM, 21 MiB
//! written into fresh 4 KiB pages took 11.8 ms (5,379 traps); the same bytes on 2 MiB-aligned
//! huge pages took 2.3-2.8 ms. The alignment matters: glibc's large allocations start 16 bytes
//! into a page, so without it the first and last partial 2 MiB of every buffer still fault 4 KiB
//! at a time, and a column of a few MiB gets no huge page at all. Freed buffers go back to the
//! kernel (glibc trims or unmaps them), so a call that allocates its outputs afresh pays these
//! faults every time; numpy advises its own large arrays onto huge pages for the same reason.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ptr::NonNull;

/// Bytes from which a buffer goes onto transparent huge pages (numpy's threshold).
const HUGE_FROM: usize = 4 << 20;
/// The x86-64 / aarch64 transparent huge page size.
const HUGE_PAGE: usize = 2 << 20;

/// An uninitialised byte buffer: 64-byte aligned; from 4 MiB on, 2 MiB aligned, its size
/// rounded up to whole 2 MiB pages and advised onto transparent huge pages (Linux `madvise`;
/// a hint: where the kernel declines, nothing changes but the page size).
#[derive(Debug)]
pub struct Block {
    ptr: NonNull<u8>,
    layout: Layout,
}

// SAFETY: a `Block` owns its allocation exclusively, like a `Box<[u8]>`.
unsafe impl Send for Block {}
// SAFETY: shared references only read through `as_ptr`; writes need `&mut`.
unsafe impl Sync for Block {}

impl Block {
    /// At least `bytes` bytes (one byte when `bytes` is 0), uninitialised.
    ///
    /// # Panics
    /// When the size overflows `isize`; allocation failure aborts (as `Vec`'s does).
    pub fn new(bytes: usize) -> Block {
        let huge = bytes >= HUGE_FROM;
        let (size, align) = if huge {
            (bytes.next_multiple_of(HUGE_PAGE), HUGE_PAGE)
        } else {
            (bytes.max(1), 64)
        };
        let layout = Layout::from_size_align(size, align).expect("buffer size overflows isize");
        // SAFETY: `layout` has a non-zero size.
        let Some(ptr) = NonNull::new(unsafe { alloc(layout) }) else {
            handle_alloc_error(layout)
        };
        #[cfg(target_os = "linux")]
        if huge {
            // SAFETY: the range is this live allocation, page aligned; MADV_HUGEPAGE changes no
            // contents, only how later faults are served, and an error is ignored (a hint).
            unsafe {
                libc::madvise(ptr.as_ptr().cast(), size, libc::MADV_HUGEPAGE);
            }
        }
        Block { ptr, layout }
    }

    /// The first byte.
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

/// A fixed-capacity vector of `Copy` values in a [`Block`]: filled once by pushes or through
/// its spare capacity, then read as a slice.
#[derive(Debug)]
pub struct BlockVec<T: Copy> {
    block: Block,
    cap: usize,
    len: usize,
    _t: PhantomData<T>,
}

impl<T: Copy> BlockVec<T> {
    /// An empty vector with room for `cap` values.
    ///
    /// # Panics
    /// As [`Block::new`]; also for a `T` aligned to more than 64 bytes.
    pub fn with_capacity(cap: usize) -> Self {
        assert!(std::mem::align_of::<T>() <= 64, "alignment above 64 bytes");
        let bytes = cap
            .checked_mul(std::mem::size_of::<T>())
            .expect("buffer size overflows usize");
        BlockVec {
            block: Block::new(bytes),
            cap,
            len: 0,
            _t: PhantomData,
        }
    }

    /// Append `v`.
    ///
    /// # Panics
    /// When the vector is full.
    #[inline]
    pub fn push(&mut self, v: T) {
        assert!(self.len < self.cap, "BlockVec is full");
        // SAFETY: `len < cap`, so the slot lies inside the block and is aligned for `T`.
        unsafe { self.block.as_ptr().cast::<T>().add(self.len).write(v) };
        self.len += 1;
    }

    /// The unwritten capacity.
    pub fn spare_capacity_mut(&mut self) -> &mut [MaybeUninit<T>] {
        // SAFETY: slots `len..cap` lie inside the block, aligned, exclusively borrowed.
        unsafe {
            std::slice::from_raw_parts_mut(
                self.block.as_ptr().cast::<MaybeUninit<T>>().add(self.len),
                self.cap - self.len,
            )
        }
    }

    /// Declare the first `len` values written.
    ///
    /// # Safety
    /// `len <= cap` and slots `0..len` are initialised.
    pub unsafe fn set_len(&mut self, len: usize) {
        debug_assert!(len <= self.cap);
        self.len = len;
    }
}

impl<T: Copy> std::ops::Deref for BlockVec<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: slots `0..len` are initialised (`push`, `set_len`).
        unsafe { std::slice::from_raw_parts(self.block.as_ptr().cast::<T>(), self.len) }
    }
}

impl<T: Copy> FromIterator<T> for BlockVec<T> {
    /// Collect an iterator into a vector of its `size_hint` upper bound's capacity.
    ///
    /// # Panics
    /// When the iterator has no upper bound or yields more than it.
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut it = iter.into_iter();
        let cap = it
            .size_hint()
            .1
            .expect("BlockVec::from_iter needs a bounded iterator");
        let mut v = BlockVec::with_capacity(cap);
        let mut n = 0;
        for (slot, x) in v.spare_capacity_mut().iter_mut().zip(&mut it) {
            slot.write(x);
            n += 1;
        }
        assert!(it.next().is_none(), "iterator longer than its size hint");
        // SAFETY: the first `n` slots were written above.
        unsafe { v.set_len(n) };
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_vecs_small_and_huge() {
        for n in [0usize, 1, 1000, 3 << 20] {
            let v: BlockVec<u32> = (0..n as u32).collect();
            assert_eq!(v.len(), n);
            assert!(v.iter().enumerate().all(|(i, &x)| x as usize == i));
            if n * 4 >= HUGE_FROM {
                assert_eq!(v.as_ptr() as usize % HUGE_PAGE, 0);
            }
        }
        let mut v = BlockVec::<u8>::with_capacity(3);
        v.spare_capacity_mut()[..2].fill(MaybeUninit::new(7));
        // SAFETY: two slots written above.
        unsafe { v.set_len(2) };
        assert_eq!(&v[..], &[7, 7]);
    }
}
