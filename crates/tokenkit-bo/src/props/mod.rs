//! Properties of every bo parser of what the platform sends (issue 13, "Parsers under
//! fuzzing"; the inventory is docs/fuzzing.md): arbitrary bytes and structure-aware
//! mutations of the seed's answers never panic, and whatever is not a valid answer is a
//! typed error.

#[path = "../../../tokenkit-core/tests/fuzz/mod.rs"]
mod fuzz;

mod rejection;
mod response;
