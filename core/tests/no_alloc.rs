//! Decoding allocates nothing: a counting global allocator sees zero allocations while a
//! 64-message buffer of real frames is decoded.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use apwatch_core::ByteOrder;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn decoding_64_messages_allocates_nothing() {
    let buf = common::buffer(common::FRAMES, 64);
    let mut tally = common::Tally::default();
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    common::decode_all(&buf, ByteOrder::Little, 0x23, &mut tally);
    let after = ALLOCATIONS.load(Ordering::SeqCst);
    assert_eq!(tally.messages, 64);
    assert_eq!(tally.errors, 0);
    assert!(tally.start_ap >= 15 && tally.links >= 10, "{tally:?}");
    assert_eq!(after - before, 0, "decoding allocated");
}
