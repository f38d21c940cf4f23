//! What a run shows and leaves behind: the terminal (the only module that prints) and the
//! results file.

pub mod results;
pub mod terminal;
