//! Host tests of the key map: characters, shift and caps lock, modifier
//! bits (each key of a pair on its own), keys without a character and
//! releases.

use crate::keymap::{ALT, CTRL, Key, Keymap, META, NO_CHAR, SHIFT};

// evdev key codes (linux/input-event-codes.h).
const KEY_ESC: u16 = 1;
const KEY_1: u16 = 2;
const KEY_2: u16 = 3;
const KEY_TAB: u16 = 15;
const KEY_Q: u16 = 16;
const KEY_A: u16 = 30;
const KEY_SEMICOLON: u16 = 39;
const KEY_LEFTCTRL: u16 = 29;
const KEY_LEFTSHIFT: u16 = 42;
const KEY_Z: u16 = 44;
const KEY_SLASH: u16 = 53;
const KEY_RIGHTSHIFT: u16 = 54;
const KEY_LEFTALT: u16 = 56;
const KEY_SPACE: u16 = 57;
const KEY_CAPSLOCK: u16 = 58;
const KEY_F1: u16 = 59;
const KEY_RIGHTCTRL: u16 = 97;
const KEY_RIGHTALT: u16 = 100;
const KEY_UP: u16 = 103;
const KEY_LEFTMETA: u16 = 125;
const KEY_RIGHTMETA: u16 = 126;

const PRESS: i32 = 1;
const REPEAT: i32 = 2;
const RELEASE: i32 = 0;

/// Presses and releases `code`; returns what the press typed.
fn tap(k: &mut Keymap, code: u16) -> u32 {
    let c = k.key(code, PRESS).code;
    k.key(code, RELEASE);
    c
}

#[test]
fn letters_digits_and_space_unshifted() {
    let mut k = Keymap::default();
    for (code, c) in [
        (KEY_Q, 'q'),
        (KEY_A, 'a'),
        (KEY_Z, 'z'),
        (KEY_1, '1'),
        (KEY_2, '2'),
        (KEY_SEMICOLON, ';'),
        (KEY_SLASH, '/'),
        (KEY_SPACE, ' '),
        (KEY_TAB, '\t'),
        (KEY_ESC, '\u{1b}'),
    ] {
        assert_eq!(tap(&mut k, code), u32::from(c), "evdev code {code}");
    }
}

#[test]
fn shift_gives_capitals_and_symbols() {
    for shift in [KEY_LEFTSHIFT, KEY_RIGHTSHIFT] {
        let mut k = Keymap::default();
        assert_eq!(k.key(shift, PRESS).modifiers, SHIFT);
        for (code, c) in [
            (KEY_Q, 'Q'),
            (KEY_A, 'A'),
            (KEY_1, '!'),
            (KEY_2, '@'),
            (KEY_SEMICOLON, ':'),
            (KEY_SLASH, '?'),
        ] {
            assert_eq!(
                tap(&mut k, code),
                u32::from(c),
                "shift {shift}, code {code}"
            );
        }
        k.key(shift, RELEASE);
        assert_eq!(tap(&mut k, KEY_A), u32::from('a'));
        assert_eq!(tap(&mut k, KEY_1), u32::from('1'));
    }
}

#[test]
fn caps_lock_turns_letters_only_and_shift_undoes_it() {
    let mut k = Keymap::default();
    tap(&mut k, KEY_CAPSLOCK);
    assert!(k.caps_lock());
    assert_eq!(tap(&mut k, KEY_A), u32::from('A'));
    assert_eq!(
        tap(&mut k, KEY_1),
        u32::from('1'),
        "caps lock leaves digits"
    );
    assert_eq!(tap(&mut k, KEY_SEMICOLON), u32::from(';'));
    k.key(KEY_LEFTSHIFT, PRESS);
    assert_eq!(tap(&mut k, KEY_A), u32::from('a'), "shift undoes caps lock");
    assert_eq!(
        tap(&mut k, KEY_1),
        u32::from('!'),
        "shift still shifts digits"
    );
    k.key(KEY_LEFTSHIFT, RELEASE);
    tap(&mut k, KEY_CAPSLOCK);
    assert!(!k.caps_lock());
    assert_eq!(tap(&mut k, KEY_A), u32::from('a'));
}

#[test]
fn caps_lock_toggles_on_press_not_on_repeat_or_release() {
    let mut k = Keymap::default();
    k.key(KEY_CAPSLOCK, PRESS);
    k.key(KEY_CAPSLOCK, REPEAT);
    k.key(KEY_CAPSLOCK, REPEAT);
    k.key(KEY_CAPSLOCK, RELEASE);
    assert!(k.caps_lock());
    assert_eq!(tap(&mut k, KEY_Z), u32::from('Z'));
}

#[test]
fn modifier_bits_for_every_key_of_every_pair() {
    for (code, bit) in [
        (KEY_LEFTSHIFT, SHIFT),
        (KEY_RIGHTSHIFT, SHIFT),
        (KEY_LEFTCTRL, CTRL),
        (KEY_RIGHTCTRL, CTRL),
        (KEY_LEFTALT, ALT),
        (KEY_RIGHTALT, ALT),
        (KEY_LEFTMETA, META),
        (KEY_RIGHTMETA, META),
    ] {
        let mut k = Keymap::default();
        let down = k.key(code, PRESS);
        assert_eq!(down.modifiers, bit, "press of {code}");
        assert_eq!(
            down.code,
            NO_CHAR + u32::from(code),
            "a modifier types nothing"
        );
        assert_eq!(k.key(KEY_A, PRESS).modifiers, bit, "held during other keys");
        let up = k.key(code, RELEASE);
        assert_eq!(up.modifiers, 0, "release of {code}");
        assert!(!up.down);
    }
}

#[test]
fn modifiers_combine() {
    let mut k = Keymap::default();
    k.key(KEY_LEFTCTRL, PRESS);
    k.key(KEY_RIGHTALT, PRESS);
    let tab = k.key(KEY_TAB, PRESS);
    assert_eq!(tab.modifiers, CTRL | ALT);
    assert_eq!(tab.code, u32::from('\t'));
    k.key(KEY_LEFTCTRL, RELEASE);
    assert_eq!(k.modifiers(), ALT);
}

#[test]
fn releasing_one_of_a_pair_keeps_the_modifier_while_the_other_is_held() {
    for (left, right, bit) in [
        (KEY_LEFTSHIFT, KEY_RIGHTSHIFT, SHIFT),
        (KEY_LEFTCTRL, KEY_RIGHTCTRL, CTRL),
        (KEY_LEFTALT, KEY_RIGHTALT, ALT),
        (KEY_LEFTMETA, KEY_RIGHTMETA, META),
    ] {
        for (first, second) in [(left, right), (right, left)] {
            let mut k = Keymap::default();
            k.key(first, PRESS);
            k.key(second, PRESS);
            assert_eq!(
                k.key(first, RELEASE).modifiers,
                bit,
                "{first} up, {second} held"
            );
            if bit == SHIFT {
                assert_eq!(tap(&mut k, KEY_A), u32::from('A'));
            }
            assert_eq!(k.key(second, RELEASE).modifiers, 0);
        }
    }
}

#[test]
fn keys_without_a_character_report_their_code() {
    let mut k = Keymap::default();
    for code in [KEY_F1, KEY_UP, KEY_CAPSLOCK, 0, 200, u16::MAX] {
        assert_eq!(
            k.key(code, PRESS).code,
            NO_CHAR + u32::from(code),
            "code {code}"
        );
        k.key(code, RELEASE);
    }
    // Shift does not give a character to a key that has none.
    k.key(KEY_LEFTSHIFT, PRESS);
    assert_eq!(k.key(KEY_F1, PRESS).code, NO_CHAR + u32::from(KEY_F1));
}

#[test]
fn release_and_repeat_events() {
    let mut k = Keymap::default();
    assert_eq!(
        k.key(KEY_A, PRESS),
        Key {
            code: u32::from('a'),
            down: true,
            modifiers: 0
        }
    );
    assert_eq!(
        k.key(KEY_A, REPEAT),
        Key {
            code: u32::from('a'),
            down: true,
            modifiers: 0
        }
    );
    assert_eq!(
        k.key(KEY_A, RELEASE),
        Key {
            code: u32::from('a'),
            down: false,
            modifiers: 0
        }
    );
    // A release reports the character of the modifiers held at release.
    k.key(KEY_RIGHTSHIFT, PRESS);
    k.key(KEY_A, PRESS);
    assert_eq!(
        k.key(KEY_A, RELEASE),
        Key {
            code: u32::from('A'),
            down: false,
            modifiers: SHIFT
        }
    );
}

#[test]
fn a_release_of_a_key_never_pressed_changes_nothing() {
    let mut k = Keymap::default();
    k.key(KEY_LEFTSHIFT, PRESS);
    k.key(KEY_RIGHTSHIFT, RELEASE);
    assert_eq!(k.modifiers(), SHIFT);
    k.key(KEY_CAPSLOCK, RELEASE);
    assert!(!k.caps_lock());
}
