//! The crate's hot paths, each beside a baseline measured in the same run:
//! `cargo bench` prints both, and the ratio is the figure (see the README's
//! "Performance" section). Never a timed assertion: the numbers are read.

use criterion::{criterion_group, criterion_main};

mod layer;
mod signatures;
mod stores;
mod totp;

criterion_group!(
    hot_paths,
    layer::bench,
    signatures::bench,
    totp::bench,
    stores::bench
);
criterion_main!(hot_paths);
