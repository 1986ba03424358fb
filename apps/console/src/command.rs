//! The terminal's commands: [`parse`] turns a command line into a
//! [`Command`] or a [`ParseError`] whose `Display` is the message the
//! terminal prints. Every numeric argument is bounded here, so no command
//! the user types can ask for unbounded work.

use alloc::string::String;
use core::fmt;

/// `audit` without a count shows this many records.
pub const AUDIT_DEFAULT: u64 = 8;
/// The most records `audit N` shows.
pub const AUDIT_MAX: u64 = 64;
/// `bench` without a count times this many round trips of each kind.
pub const BENCH_DEFAULT: u64 = 1000;
/// The most round trips `bench N` times.
pub const BENCH_MAX: u64 = 20_000;

/// The commands, their arguments and a line on each, as `help` lists them.
pub const HELP: [(&str, &str); 10] = [
    ("help", "this list"),
    ("ps", "running domains"),
    ("cpu", "load per CPU"),
    ("mem", "kernel and own memory"),
    ("audit [N]", "last N audit records"),
    ("start NAME", "start a program instance"),
    ("stop ID|LABEL", "stop a domain"),
    ("bench [N]", "time N kernel calls, IPCs"),
    ("echo TEXT", "print TEXT"),
    ("clear", "clear the screen"),
];

/// The editing keys, as `help` ends its list.
pub const KEYS_HELP: &str = "keys: Left Right Home End Del; Up Down: history";

/// A parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// A blank line: nothing to do.
    Nothing,
    /// `help`.
    Help,
    /// `ps`.
    Ps,
    /// `cpu`.
    Cpu,
    /// `mem`.
    Mem,
    /// `audit [N]`: the last N records.
    Audit(u64),
    /// `start NAME`.
    Start(String),
    /// `stop ID|LABEL`.
    Stop(Target),
    /// `bench [N]`: N round trips of each kind.
    Bench(u64),
    /// `echo TEXT`: the text after `echo `, as typed.
    Echo(String),
    /// `clear`.
    Clear,
}

/// Which domain `stop` means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A domain id (the argument is all digits).
    Id(u64),
    /// A domain label.
    Label(String),
}

/// Why a command line is not a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The first word names no command.
    Unknown(String),
    /// `command` needs an argument it did not get (`what` names it).
    Missing {
        /// The command.
        command: &'static str,
        /// What is missing.
        what: &'static str,
    },
    /// `command` takes no more words than it got.
    TooMany(&'static str),
    /// `arg` of `command` is not a whole number in `1..=max`.
    BadNumber {
        /// The command.
        command: &'static str,
        /// The argument as typed.
        arg: String,
        /// The largest value allowed.
        max: u64,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Unknown(word) => {
                write!(f, "{word}: unknown command (try 'help')")
            }
            ParseError::Missing { command, what } => write!(f, "{command}: missing {what}"),
            ParseError::TooMany(command) => write!(f, "{command}: too many arguments"),
            ParseError::BadNumber { command, arg, max } => {
                write!(f, "{command}: bad number '{arg}' (1..={max})")
            }
        }
    }
}

/// Parses one command line. Words are separated by spaces; the first names
/// the command.
pub fn parse(line: &str) -> Result<Command, ParseError> {
    let line = line.trim();
    let mut words = line.split_ascii_whitespace();
    let Some(first) = words.next() else {
        return Ok(Command::Nothing);
    };
    let (name, command) = match first {
        "help" => ("help", Command::Help),
        "ps" => ("ps", Command::Ps),
        "cpu" => ("cpu", Command::Cpu),
        "mem" => ("mem", Command::Mem),
        "clear" => ("clear", Command::Clear),
        "audit" => {
            let n = count("audit", words.next(), AUDIT_DEFAULT, AUDIT_MAX)?;
            ("audit", Command::Audit(n))
        }
        "bench" => {
            let n = count("bench", words.next(), BENCH_DEFAULT, BENCH_MAX)?;
            ("bench", Command::Bench(n))
        }
        "start" => {
            let name = words.next().ok_or(ParseError::Missing {
                command: "start",
                what: "program name",
            })?;
            ("start", Command::Start(String::from(name)))
        }
        "stop" => {
            let arg = words.next().ok_or(ParseError::Missing {
                command: "stop",
                what: "domain id or label",
            })?;
            // All digits: an id (one too large for any domain is no
            // number, so it is looked up as a label and not found).
            let target = match arg.parse::<u64>() {
                Ok(id) if arg.bytes().all(|b| b.is_ascii_digit()) => Target::Id(id),
                _ => Target::Label(String::from(arg)),
            };
            ("stop", Command::Stop(target))
        }
        "echo" => {
            let text = line["echo".len()..].strip_prefix(' ').unwrap_or("");
            return Ok(Command::Echo(String::from(text)));
        }
        _ => return Err(ParseError::Unknown(String::from(first))),
    };
    match words.next() {
        Some(_) => Err(ParseError::TooMany(name)),
        None => Ok(command),
    }
}

/// An optional count argument in `1..=max`, `default` when absent.
fn count(
    command: &'static str,
    arg: Option<&str>,
    default: u64,
    max: u64,
) -> Result<u64, ParseError> {
    let Some(arg) = arg else { return Ok(default) };
    match arg.parse::<u64>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(ParseError::BadNumber {
            command,
            arg: String::from(arg),
            max,
        }),
    }
}
