//! Integration tests of aiokit, run on every executor.
