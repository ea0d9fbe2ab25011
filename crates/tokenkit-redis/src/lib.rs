//! tokenkit backend for the redis platform (in progress).
