//! `abi::task`: the calling domain and its threads.

use crate::arch::trap::TrapFrame;
use crate::obj::domain::{Domain, End, MAX_THREADS};
use crate::obj::thread::Thread;
use crate::percpu;
use crate::sched;
use crate::syscall::Reply;
use abi::{Error, MSG_WORDS, task as t};
use core::sync::atomic::Ordering;

pub fn call(caller: &Domain, method: u16, w: [u64; MSG_WORDS]) -> Result<Reply, Error> {
    match method {
        t::EXIT => {
            let me = sched::current();
            if let Some(d) = me.domain.clone() {
                sched::kill_domain(&d, End::Exit(w[0] as i64));
            }
            Ok(Reply::empty())
        }
        t::YIELD => {
            sched::yield_now();
            Ok(Reply::empty())
        }
        t::THREAD_CREATE => thread_create(caller, w[0], w[1], w[2], w[3]),
        t::THREAD_EXIT => {
            sched::current().kill.store(true, Ordering::Release);
            Ok(Reply::empty())
        }
        t::INFO => {
            let me = sched::current();
            Ok(Reply {
                tag: 0,
                badge: None,
                words: [
                    percpu::this().index as u64,
                    caller.id,
                    me.id,
                    percpu::online() as u64,
                ],
            })
        }
        t::CHANNEL => channel(caller, w[0], w[1]),
        t::LABEL => label(w[0]),
        t::START => {
            let mut buf = [0u8; t::CHANNEL_NAME_MAX as usize];
            let name = user_name(caller, w[0], w[1], &mut buf)?;
            let (id, instance) = crate::loader::start_on_demand(caller, name)?;
            Ok(Reply {
                tag: 0,
                badge: None,
                words: [id, instance as u64, 0, 0],
            })
        }
        t::STOP => {
            crate::loader::stop(caller, w[0])?;
            Ok(Reply::empty())
        }
        t::LIST => {
            let d = crate::loader::next_domain(w[0]).ok_or(Error::NotFound)?;
            let memory = d.space.lock().charged();
            let threads = d.threads.lock().len() as u64;
            Ok(Reply {
                tag: 0,
                badge: None,
                words: [
                    d.id,
                    memory,
                    threads,
                    d.program as u64 | (d.instance as u64) << 16 | (d.priority as u64) << 32,
                ],
            })
        }
        _ => Err(Error::BadMethod),
    }
}

/// `LABEL(domain)`: the label of the live domain `domain`, packed in the
/// reply words (`NotFound` once it has ended).
fn label(domain: u64) -> Result<Reply, Error> {
    let d = crate::loader::find_domain(domain).ok_or(Error::NotFound)?;
    let bytes = d.name.as_bytes();
    let mut words = [bytes.len().min(24) as u64, 0, 0, 0];
    for (i, chunk) in bytes.chunks(8).take(3).enumerate() {
        let mut b = [0u8; 8];
        b[..chunk.len()].copy_from_slice(chunk);
        words[1 + i] = u64::from_le_bytes(b);
    }
    Ok(Reply {
        tag: 0,
        badge: None,
        words,
    })
}

/// A name of 1..=`CHANNEL_NAME_MAX` bytes at `ptr` in the caller's memory.
fn user_name<'a>(
    caller: &Domain,
    ptr: u64,
    len: u64,
    buf: &'a mut [u8; t::CHANNEL_NAME_MAX as usize],
) -> Result<&'a [u8], Error> {
    if len == 0 || len > t::CHANNEL_NAME_MAX {
        return Err(Error::InvalidArgument);
    }
    let name = &mut buf[..len as usize];
    caller.space.lock().copy_from_user(ptr, name)?;
    Ok(name)
}

/// `CHANNEL(name_ptr, name_len)`: the caller's handle for a named channel.
fn channel(caller: &Domain, ptr: u64, len: u64) -> Result<Reply, Error> {
    let mut buf = [0u8; t::CHANNEL_NAME_MAX as usize];
    let name = user_name(caller, ptr, len, &mut buf)?;
    let channels = caller.channels.lock();
    let (_, h) = channels
        .iter()
        .find(|(n, _)| n.as_bytes() == name)
        .ok_or(Error::NotFound)?;
    Ok(Reply::word(h.0 as u64))
}

fn thread_create(
    caller: &Domain,
    entry: u64,
    stack_top: u64,
    arg: u64,
    priority: u64,
) -> Result<Reply, Error> {
    let priority = match priority {
        0 => caller.priority,
        p if p > smp::runqueue::NUM_PRIORITIES as u64 - 1 || p > caller.priority as u64 => {
            return Err(Error::InvalidArgument);
        }
        p => p as u8,
    };
    if entry == 0 || entry >= abi::USER_TOP {
        return Err(Error::BadAddress);
    }
    if !stack_top.is_multiple_of(16) {
        return Err(Error::Misaligned);
    }
    if !(abi::USER_BASE + 8..=abi::USER_TOP).contains(&stack_top) {
        return Err(Error::BadAddress);
    }
    {
        let space = caller.space.lock();
        if !space.is_executable(entry) || space.translate_user(entry, false).is_none() {
            return Err(Error::BadAddress);
        }
        if space.translate_user(stack_top - 8, true).is_none() {
            return Err(Error::BadAddress);
        }
    }
    // The caller is the current thread's domain; take the Arc from there.
    let me = sched::current();
    let Some(d) = me.domain.clone() else {
        return Err(Error::InvalidArgument);
    };
    let mut threads = d.threads.lock();
    if d.dying.load(Ordering::Acquire) {
        return Err(Error::InvalidArgument);
    }
    if threads.len() >= MAX_THREADS {
        return Err(Error::QuotaExceeded);
    }
    let cpu = sched::place(d.affinity, &[]);
    let frame = TrapFrame::new_user(entry, stack_top, arg, d.id);
    let t = Thread::new_user(d.clone(), priority, cpu, frame).ok_or(Error::NoMemory)?;
    threads.push(t.clone());
    drop(threads);
    sched::start(&t);
    Ok(Reply::word(t.id))
}
