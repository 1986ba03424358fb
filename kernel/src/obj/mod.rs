//! Kernel objects: domains (address space, handles, security context) and
//! threads, and endpoints, where IPC requests wait.

pub mod domain;
pub mod endpoint;
pub mod thread;
