//! A small synchronous client for QEMU's machine protocol (QMP) over a Unix
//! socket, for screenshots and input injection.
//!
//! QEMU opens the socket when started with
//! `-qmp unix:PATH,server=on,wait=off` (see [`QemuConfig`](crate::qemu::QemuConfig)).
//! The protocol is one JSON object per line. QEMU greets with `{"QMP": ...}`.
//! The client sends `qmp_capabilities` and then one command at a time. Each
//! command gets a `{"return": ...}` or an `{"error": {"desc": ...}}`, and QEMU
//! may send asynchronous `{"event": ...}` messages in between, which
//! this client skips.
//!
//! Every read has a time limit ([`REPLY_TIMEOUT`]), so a QEMU that stops
//! answering makes a call fail instead of hanging xtask.

use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};

/// How long [`Qmp::connect`] retries while QEMU has not yet created the
/// socket.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a command may take to answer.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest absolute pointer coordinate QEMU accepts
/// (`INPUT_EVENT_ABS_MAX`); 0 is the top or left edge of the screen.
pub const ABS_MAX: u32 = 0x7fff;

/// The pause between the events of a [`Qmp::drag`]. QEMU's virtio
/// tablet drops a whole report when the guest has no buffer free for it
/// (the guest driver offers 32, and a move takes three events), so a drag
/// sent at once could lose moves while the guest is busy; a pause lets the
/// guest's input service take each report before the next comes.
pub const DRAG_PACE: Duration = Duration::from_millis(25);

/// The pause between the keys of a scenario step. The keyboard's queue
/// is as short as the tablet's (32 events, and a key takes four: press
/// and release, each with its report's end), so a long run of keys sent
/// at once loses the last ones whenever the input service falls behind.
pub const KEY_PACE: Duration = Duration::from_millis(25);

/// The key codes (`QKeyCode`) QEMU 10 accepts in `input-send-event`, from
/// its `query-qmp-schema` (without `unmapped`).
pub const QCODES: &[&str] = &[
    "shift",
    "shift_r",
    "alt",
    "alt_r",
    "ctrl",
    "ctrl_r",
    "menu",
    "esc",
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
    "0",
    "minus",
    "equal",
    "backspace",
    "tab",
    "q",
    "w",
    "e",
    "r",
    "t",
    "y",
    "u",
    "i",
    "o",
    "p",
    "bracket_left",
    "bracket_right",
    "ret",
    "a",
    "s",
    "d",
    "f",
    "g",
    "h",
    "j",
    "k",
    "l",
    "semicolon",
    "apostrophe",
    "grave_accent",
    "backslash",
    "z",
    "x",
    "c",
    "v",
    "b",
    "n",
    "m",
    "comma",
    "dot",
    "slash",
    "asterisk",
    "spc",
    "caps_lock",
    "f1",
    "f2",
    "f3",
    "f4",
    "f5",
    "f6",
    "f7",
    "f8",
    "f9",
    "f10",
    "num_lock",
    "scroll_lock",
    "kp_divide",
    "kp_multiply",
    "kp_subtract",
    "kp_add",
    "kp_enter",
    "kp_decimal",
    "sysrq",
    "kp_0",
    "kp_1",
    "kp_2",
    "kp_3",
    "kp_4",
    "kp_5",
    "kp_6",
    "kp_7",
    "kp_8",
    "kp_9",
    "less",
    "f11",
    "f12",
    "print",
    "home",
    "pgup",
    "pgdn",
    "end",
    "left",
    "up",
    "down",
    "right",
    "insert",
    "delete",
    "stop",
    "again",
    "props",
    "undo",
    "front",
    "copy",
    "open",
    "paste",
    "find",
    "cut",
    "lf",
    "help",
    "meta_l",
    "meta_r",
    "compose",
    "pause",
    "ro",
    "hiragana",
    "henkan",
    "yen",
    "muhenkan",
    "katakanahiragana",
    "kp_comma",
    "kp_equals",
    "power",
    "sleep",
    "wake",
    "audionext",
    "audioprev",
    "audiostop",
    "audioplay",
    "audiomute",
    "volumeup",
    "volumedown",
    "mediaselect",
    "mail",
    "calculator",
    "computer",
    "ac_home",
    "ac_back",
    "ac_forward",
    "ac_refresh",
    "ac_bookmarks",
    "lang1",
    "lang2",
    "f13",
    "f14",
    "f15",
    "f16",
    "f17",
    "f18",
    "f19",
    "f20",
    "f21",
    "f22",
    "f23",
    "f24",
];

/// The pointer buttons (`InputButton`) QEMU accepts.
pub const BUTTONS: &[&str] = &[
    "left",
    "middle",
    "right",
    "wheel-up",
    "wheel-down",
    "side",
    "extra",
    "wheel-left",
    "wheel-right",
];

/// Splits a key chord such as `"ctrl-alt-delete"` or `"a"` into its key codes
/// and checks each against [`QCODES`]. The keys of a chord are pressed in
/// order and released in reverse order (see [`Qmp::send_key`]).
pub fn parse_chord(chord: &str) -> Result<Vec<&str>, String> {
    let keys: Vec<&str> = chord.split('-').collect();
    for key in &keys {
        if !QCODES.contains(key) {
            let hint = match *key {
                "enter" | "return" => " (Enter is `ret`)",
                "space" => " (the space bar is `spc`)",
                "escape" => " (Escape is `esc`)",
                "control" => " (use `ctrl`)",
                "" => " (a chord is key codes joined by `-`, such as `shift-a`)",
                k if k.len() == 1 && k.bytes().all(|b| b.is_ascii_uppercase()) => {
                    " (key codes are lower case; a capital letter is `shift-a`)"
                }
                _ => "",
            };
            return Err(format!(
                "key {chord:?}: `{key}` is not a QEMU key code (qcode){hint}"
            ));
        }
    }
    Ok(keys)
}

/// Converts a screen coordinate to QEMU's absolute pointer range, the way
/// QEMU's own windows do: `pixel * 0x7fff / size`.
pub fn scale_abs(pixel: u32, size: u32) -> Result<u32> {
    if pixel >= size {
        bail!("pointer coordinate {pixel} is outside a screen {size} pixels wide or high");
    }
    Ok((u64::from(pixel) * u64::from(ABS_MAX) / u64::from(size)) as u32)
}

/// An open QMP connection, in command mode.
pub struct Qmp {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
    path: PathBuf,
}

impl Qmp {
    /// Connects to the socket at `path`, retrying for up to `limit` (usually
    /// [`CONNECT_TIMEOUT`]) while it does not exist or refuses connections,
    /// but not once `alive` returns false (QEMU has exited and will never
    /// open the socket). Then reads the greeting and enters command mode.
    pub fn connect(path: &Path, limit: Duration, mut alive: impl FnMut() -> bool) -> Result<Qmp> {
        let start = Instant::now();
        let stream = loop {
            match UnixStream::connect(path) {
                Ok(stream) => break stream,
                Err(e)
                    if start.elapsed() < limit
                        && matches!(
                            e.kind(),
                            ErrorKind::NotFound | ErrorKind::ConnectionRefused
                        ) =>
                {
                    if !alive() {
                        bail!("QEMU has exited: its QMP socket {} is gone", path.display());
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!(
                            "could not connect to the QMP socket {} (tried for {:.1} s)",
                            path.display(),
                            start.elapsed().as_secs_f64()
                        )
                    });
                }
            }
        };
        stream
            .set_read_timeout(Some(REPLY_TIMEOUT))
            .context("could not set a read timeout on the QMP socket")?;
        stream
            .set_write_timeout(Some(REPLY_TIMEOUT))
            .context("could not set a write timeout on the QMP socket")?;
        let reader = BufReader::new(
            stream
                .try_clone()
                .context("could not clone the QMP socket")?,
        );
        let mut qmp = Qmp {
            reader,
            writer: stream,
            path: path.to_path_buf(),
        };
        let greeting = qmp
            .read_message(Instant::now())
            .with_context(|| format!("no QMP greeting on {}", path.display()))?;
        if greeting.get("QMP").is_none() {
            bail!(
                "{} is not a QMP socket: the first message was {greeting}",
                path.display()
            );
        }
        qmp.execute("qmp_capabilities", None)?;
        Ok(qmp)
    }

    /// Reads the next message, failing once [`REPLY_TIMEOUT`] has passed
    /// since `since`.
    fn read_message(&mut self, since: Instant) -> Result<Value> {
        let mut line = String::new();
        loop {
            if since.elapsed() >= REPLY_TIMEOUT {
                bail!("QEMU did not answer within {} s", REPLY_TIMEOUT.as_secs());
            }
            line.clear();
            match self.reader.read_line(&mut line) {
                Ok(0) => bail!("QEMU closed the QMP connection"),
                Ok(_) if line.trim().is_empty() => continue,
                Ok(_) => {
                    return serde_json::from_str(line.trim())
                        .with_context(|| format!("QEMU sent a line that is not JSON: {line:?}"));
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    bail!("QEMU did not answer within {} s", REPLY_TIMEOUT.as_secs())
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!("could not read from the QMP socket {}", self.path.display())
                    });
                }
            }
        }
    }

    fn send(&mut self, command: &str, arguments: Option<Value>) -> Result<()> {
        let mut message = json!({ "execute": command });
        if let Some(arguments) = arguments {
            message["arguments"] = arguments;
        }
        let mut text = message.to_string();
        text.push('\n');
        self.writer
            .write_all(text.as_bytes())
            .with_context(|| format!("could not send QMP `{command}`"))
    }

    /// Runs one command and returns its `return` value. Events that arrive
    /// first are skipped; an `error` reply becomes an error carrying QEMU's
    /// description.
    pub fn execute(&mut self, command: &str, arguments: Option<Value>) -> Result<Value> {
        self.send(command, arguments)?;
        let since = Instant::now();
        loop {
            let reply = self
                .read_message(since)
                .with_context(|| format!("QMP `{command}`"))?;
            if reply.get("event").is_some() {
                continue;
            }
            if let Some(value) = reply.get("return") {
                return Ok(value.clone());
            }
            if let Some(error) = reply.get("error") {
                let desc = error
                    .get("desc")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| error.to_string());
                return Err(anyhow!("QMP `{command}` failed: {desc}"));
            }
            bail!("QMP `{command}`: unexpected reply {reply}");
        }
    }

    /// Writes the screen to `path` as a PNG (`screendump`). QEMU writes the
    /// file itself, so the path is made absolute first.
    pub fn screendump(&mut self, path: &Path) -> Result<()> {
        let absolute = std::path::absolute(path)
            .with_context(|| format!("could not make {} absolute", path.display()))?;
        let filename = absolute
            .to_str()
            .with_context(|| format!("QMP needs a UTF-8 path, not {}", absolute.display()))?;
        self.execute(
            "screendump",
            Some(json!({ "filename": filename, "format": "png" })),
        )?;
        Ok(())
    }

    fn input(&mut self, events: Value) -> Result<()> {
        self.execute("input-send-event", Some(json!({ "events": events })))?;
        Ok(())
    }

    /// Presses and releases a key given as a QEMU key code (`"a"`, `"ret"`),
    /// or a chord of key codes joined by `-` (`"shift-a"`, `"ctrl-alt-delete"`):
    /// the keys go down in order and come up in reverse order. Each press
    /// and each release is its own `input-send-event`, so the guest sees
    /// separate events.
    pub fn send_key(&mut self, chord: &str) -> Result<()> {
        let keys = parse_chord(chord).map_err(|e| anyhow!(e))?;
        let key = |qcode: &str, down: bool| {
            json!([{
                "type": "key",
                "data": { "down": down, "key": { "type": "qcode", "data": qcode } }
            }])
        };
        for qcode in &keys {
            self.input(key(qcode, true))?;
        }
        for qcode in keys.iter().rev() {
            self.input(key(qcode, false))?;
        }
        Ok(())
    }

    /// Moves the absolute pointer (the virtio tablet) to pixel `(x, y)` of a
    /// `width` x `height` screen.
    pub fn pointer_abs(&mut self, x: u32, y: u32, width: u32, height: u32) -> Result<()> {
        let (ax, ay) = (scale_abs(x, width)?, scale_abs(y, height)?);
        self.input(json!([
            { "type": "abs", "data": { "axis": "x", "value": ax } },
            { "type": "abs", "data": { "axis": "y", "value": ay } }
        ]))
    }

    /// Presses and releases a pointer button (`"left"`, `"right"`, ...; see
    /// [`BUTTONS`]).
    pub fn click(&mut self, button: &str) -> Result<()> {
        if !BUTTONS.contains(&button) {
            bail!(
                "`{button}` is not a QEMU pointer button (one of {})",
                BUTTONS.join(", ")
            );
        }
        for down in [true, false] {
            self.input(json!([
                { "type": "btn", "data": { "down": down, "button": button } }
            ]))?;
        }
        Ok(())
    }

    /// Drags the pointer along `points`, pixels of a `width` x `height`
    /// screen: moves to the first point, presses the left button, moves to
    /// each further point in turn, and releases the button at the last.
    /// Each move and each button change is its own `input-send-event`,
    /// [`DRAG_PACE`] apart, so the guest sees every point.
    ///
    /// All points are checked before anything is sent, so a point off the
    /// screen fails the drag without leaving the button down.
    pub fn drag(&mut self, points: &[(u32, u32)], width: u32, height: u32) -> Result<()> {
        let Some((&first, rest)) = points.split_first() else {
            bail!("a drag needs at least one point");
        };
        for &(x, y) in points {
            scale_abs(x, width)
                .and_then(|_| scale_abs(y, height))
                .with_context(|| format!("drag point ({x}, {y})"))?;
        }
        let button = |qmp: &mut Qmp, down: bool| {
            qmp.input(json!([
                { "type": "btn", "data": { "down": down, "button": "left" } }
            ]))
        };
        self.pointer_abs(first.0, first.1, width, height)?;
        std::thread::sleep(DRAG_PACE);
        button(self, true)?;
        for &(x, y) in rest {
            std::thread::sleep(DRAG_PACE);
            self.pointer_abs(x, y, width, height)?;
        }
        std::thread::sleep(DRAG_PACE);
        button(self, false)
    }

    /// Asks QEMU to exit (`quit`). QEMU may close the connection before or
    /// right after its reply; both count as done.
    pub fn quit(&mut self) -> Result<()> {
        self.send("quit", None)?;
        let since = Instant::now();
        loop {
            match self.read_message(since) {
                Ok(reply) if reply.get("event").is_some() => continue,
                Ok(reply) => {
                    if let Some(error) = reply.get("error") {
                        bail!("QMP `quit` failed: {error}");
                    }
                    return Ok(());
                }
                Err(e) => {
                    let closed = e.to_string().contains("closed the QMP connection")
                        || e.chain().any(|c| {
                            c.downcast_ref::<std::io::Error>().is_some_and(|io| {
                                matches!(
                                    io.kind(),
                                    ErrorKind::ConnectionReset | ErrorKind::BrokenPipe
                                )
                            })
                        });
                    return if closed { Ok(()) } else { Err(e) };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    /// A fake QEMU: greets, then answers each received line with the next
    /// canned reply lines. Returns the lines it received.
    fn fake_qemu(
        path: &Path,
        replies: Vec<Vec<&'static str>>,
    ) -> std::thread::JoinHandle<Vec<String>> {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path).unwrap();
        std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut writer = stream.try_clone().unwrap();
            let mut reader = BufReader::new(stream);
            writer
                .write_all(b"{\"QMP\": {\"version\": {}, \"capabilities\": [\"oob\"]}}\r\n")
                .unwrap();
            let mut received = Vec::new();
            for reply in replies {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 {
                    break;
                }
                received.push(line.trim().to_string());
                for r in reply {
                    writer.write_all(r.as_bytes()).unwrap();
                    writer.write_all(b"\r\n").unwrap();
                }
            }
            received
        })
    }

    fn socket(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("xtask-qmp-{name}-{}.sock", std::process::id()))
    }

    #[test]
    fn commands_events_and_errors() {
        let path = socket("cmd");
        let ok = || vec![r#"{"return": {}}"#];
        let server = fake_qemu(
            &path,
            vec![
                ok(),
                vec![
                    r#"{"event": "RESUME", "timestamp": {"seconds": 1, "microseconds": 2}}"#,
                    r#"{"return": {}}"#,
                ],
                vec![r#"{"error": {"class": "GenericError", "desc": "VM not running"}}"#],
                ok(),
                ok(),
                ok(),
                ok(),
                ok(),
                ok(),
                ok(),
                vec![
                    r#"{"event": "SHUTDOWN", "data": {"guest": false}}"#,
                    r#"{"return": {}}"#,
                ],
            ],
        );
        let mut qmp = Qmp::connect(&path, CONNECT_TIMEOUT, || true).unwrap();
        qmp.screendump(Path::new("/tmp/x.png")).unwrap();
        let e = qmp.send_key("a").unwrap_err();
        assert_eq!(
            e.to_string(),
            "QMP `input-send-event` failed: VM not running"
        );
        qmp.send_key("shift-a").unwrap();
        qmp.pointer_abs(0, 0, 640, 480).unwrap();
        qmp.click("left").unwrap();
        qmp.quit().unwrap();
        let received = server.join().unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(received.len(), 11, "{received:#?}");
        assert_eq!(received[0], r#"{"execute":"qmp_capabilities"}"#);
        assert_eq!(
            received[1],
            r#"{"arguments":{"filename":"/tmp/x.png","format":"png"},"execute":"screendump"}"#
        );
        let key = |down: bool, qcode: &str| {
            format!(
                r#"{{"arguments":{{"events":[{{"data":{{"down":{down},"key":{{"data":"{qcode}","type":"qcode"}}}},"type":"key"}}]}},"execute":"input-send-event"}}"#
            )
        };
        assert_eq!(received[2], key(true, "a"));
        // A chord: down in order, up in reverse order.
        assert_eq!(
            received[3..7],
            [
                key(true, "shift"),
                key(true, "a"),
                key(false, "a"),
                key(false, "shift")
            ]
        );
        assert!(
            received[7].contains(r#"{"data":{"axis":"x","value":0},"type":"abs"}"#),
            "{}",
            received[7]
        );
        assert!(
            received[8].contains(r#"{"data":{"button":"left","down":true},"type":"btn"}"#),
            "{}",
            received[8]
        );
        assert!(received[9].contains(r#""down":false"#), "{}", received[9]);
        assert_eq!(received[10], r#"{"execute":"quit"}"#);
    }

    #[test]
    fn a_drag_moves_presses_moves_and_releases() {
        let path = socket("drag");
        let ok = || vec![r#"{"return": {}}"#];
        let server = fake_qemu(&path, vec![ok(), ok(), ok(), ok(), ok(), ok()]);
        let mut qmp = Qmp::connect(&path, CONNECT_TIMEOUT, || true).unwrap();
        // A point off the screen sends nothing.
        let e = qmp.drag(&[(10, 10), (640, 10)], 640, 480).unwrap_err();
        assert!(format!("{e:#}").contains("drag point (640, 10)"), "{e:#}");
        assert!(qmp.drag(&[], 640, 480).is_err());
        qmp.drag(&[(0, 0), (320, 240), (639, 479)], 640, 480)
            .unwrap();
        drop(qmp);
        let received = server.join().unwrap();
        let _ = std::fs::remove_file(&path);
        let abs = |x: u32, y: u32| {
            format!(
                r#"{{"arguments":{{"events":[{{"data":{{"axis":"x","value":{x}}},"type":"abs"}},{{"data":{{"axis":"y","value":{y}}},"type":"abs"}}]}},"execute":"input-send-event"}}"#
            )
        };
        let btn = |down: bool| {
            format!(
                r#"{{"arguments":{{"events":[{{"data":{{"button":"left","down":{down}}},"type":"btn"}}]}},"execute":"input-send-event"}}"#
            )
        };
        assert_eq!(
            received[1..],
            [
                abs(0, 0),
                btn(true),
                abs(16383, 16383),
                abs(32715, 32698),
                btn(false)
            ]
        );
    }

    #[test]
    fn quit_accepts_a_closed_connection() {
        let path = socket("quit");
        let server = fake_qemu(&path, vec![vec![r#"{"return": {}}"#], vec![]]);
        let mut qmp = Qmp::connect(&path, CONNECT_TIMEOUT, || true).unwrap();
        qmp.quit().unwrap();
        server.join().unwrap();
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_missing_socket_is_an_error() {
        let path = socket("missing");
        let _ = std::fs::remove_file(&path);
        let e = Qmp::connect(&path, Duration::from_millis(200), || true)
            .err()
            .unwrap();
        assert!(
            format!("{e:#}").contains("could not connect to the QMP socket"),
            "{e:#}"
        );
    }

    #[test]
    fn no_retries_once_qemu_is_gone() {
        let path = socket("gone");
        let _ = std::fs::remove_file(&path);
        let start = Instant::now();
        let e = Qmp::connect(&path, Duration::from_secs(30), || false)
            .err()
            .unwrap();
        assert!(start.elapsed() < Duration::from_secs(5));
        assert!(format!("{e:#}").contains("QEMU has exited"), "{e:#}");
    }

    #[test]
    fn chords_and_buttons() {
        assert_eq!(parse_chord("a").unwrap(), ["a"]);
        assert_eq!(
            parse_chord("ctrl-alt-delete").unwrap(),
            ["ctrl", "alt", "delete"]
        );
        assert!(parse_chord("enter").unwrap_err().contains("`ret`"));
        assert!(parse_chord("A").unwrap_err().contains("shift-a"));
        assert!(parse_chord("shift-").is_err());
        assert!(!QCODES.contains(&"unmapped"));
    }

    #[test]
    fn absolute_scaling() {
        assert_eq!(scale_abs(0, 1280).unwrap(), 0);
        assert_eq!(scale_abs(640, 1280).unwrap(), 0x3fff);
        assert_eq!(scale_abs(1279, 1280).unwrap(), 0x7fe5);
        assert!(scale_abs(1280, 1280).is_err());
        assert!(scale_abs(0, 0).is_err());
    }
}
