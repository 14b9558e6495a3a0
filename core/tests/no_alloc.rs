//! Decoding allocates nothing: a counting global allocator sees zero allocations while a
//! 64-message buffer of real frames is decoded.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use apwatch_core::ByteOrder;

struct Counting;

// Counted per thread: the test harness allocates on its own threads (output, timers) meanwhile,
// which says nothing about the decoder.
thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    let on = COUNTING.try_with(Cell::get).unwrap_or(false);
    if on {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    }
}

// SAFETY: forwards to the system allocator, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn the_counter_counts() {
    COUNTING.with(|c| c.set(true));
    let v = std::hint::black_box(vec![1u8; 16]);
    COUNTING.with(|c| c.set(false));
    drop(v);
    assert!(ALLOCATIONS.with(Cell::get) >= 1, "a Vec must be counted, or the other test proves nothing");
}

#[test]
fn decoding_64_messages_allocates_nothing() {
    let buf = common::buffer(common::FRAMES, 64);
    let mut tally = common::Tally::default();
    COUNTING.with(|c| c.set(true));
    common::decode_all(&buf, ByteOrder::Little, 0x23, &mut tally);
    COUNTING.with(|c| c.set(false));
    let allocated = ALLOCATIONS.with(Cell::get);
    assert_eq!(tally.messages, 64);
    assert_eq!(tally.errors, 0);
    assert!(tally.start_ap >= 15 && tally.links >= 10, "{tally:?}");
    assert_eq!(allocated, 0, "decoding allocated");
}
