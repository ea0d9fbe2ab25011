//! tokenkit backend for the bo platform (in progress).
