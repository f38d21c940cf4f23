//! Judging a case: its verdict against the suite's budgets, and its scores against the
//! committed baseline.

pub mod baseline;
pub mod verdict;

pub use baseline::Scores;
pub use verdict::Breach;
