//! Console tests.
