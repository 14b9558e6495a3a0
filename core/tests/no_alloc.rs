//! Decoding allocates nothing: a counting global allocator sees zero allocations while a
//! 64-message buffer of real frames is decoded.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use apwatch_core::ByteOrder;

#[path = "../../tests/support/counting_alloc.rs"]
mod counting;
use counting::allocations;

#[test]
fn the_counter_counts() {
    let n = allocations(|| drop(std::hint::black_box(vec![1u8; 16])));
    assert!(n >= 1, "a Vec must be counted, or the other test proves nothing");
}

#[test]
fn decoding_64_messages_allocates_nothing() {
    let buf = common::buffer(common::FRAMES, 64);
    let mut tally = common::Tally::default();
    let allocated = allocations(|| common::decode_all(&buf, ByteOrder::Little, 0x23, &mut tally));
    assert_eq!(tally.messages, 64);
    assert_eq!(tally.errors, 0);
    assert!(tally.start_ap >= 15 && tally.links >= 10, "{tally:?}");
    assert_eq!(allocated, 0, "decoding allocated");
}
