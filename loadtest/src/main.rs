//! Synthetic room terminals that measure what one server carries (issue 4, in progress).

#[allow(dead_code)]
mod janus;
#[allow(dead_code)]
mod target;

fn main() {}
