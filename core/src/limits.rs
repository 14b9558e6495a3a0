//! The capacities core's fixed-size collections share: one place, so the event pipeline and the
//! policy agree on them without importing each other.

/// Most wireless interfaces tracked (the policy's plan, the pipeline's dirty set).
pub const MAX_IFACES: usize = 32;
