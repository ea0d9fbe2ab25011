//! tokenkit backend for the ac platform (in progress).
