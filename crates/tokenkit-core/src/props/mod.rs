//! Properties of every parser in the core of what a platform sends or a store holds
//! (issue 13, "Parsers under fuzzing"; the inventory is docs/fuzzing.md): arbitrary
//! bytes and structure-aware mutations of valid answers never panic, and whatever is
//! not a valid answer is a typed error.

#[path = "../../tests/fuzz/mod.rs"]
mod fuzz;

mod civil;
mod date;
mod excerpt;
mod file_store;
mod jwt;
mod lenient;
mod response;
mod seal;
