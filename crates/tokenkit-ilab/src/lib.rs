//! tokenkit backend for the ilab platform (in progress).
