//! Kernel objects: domains (address space, handles, security context) and
//! threads. Endpoints and memory objects join them with inter-domain IPC.

pub mod domain;
pub mod thread;
