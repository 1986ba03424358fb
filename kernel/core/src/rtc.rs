//! The CMOS real-time clock's registers turned into Unix time. The kernel
//! reads the registers once at boot (`kernel/src/rtc.rs`); this part is
//! pure and tested on the host.

/// Raw CMOS clock registers, as read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Registers {
    /// Register 0x00.
    pub second: u8,
    /// Register 0x02.
    pub minute: u8,
    /// Register 0x04 (bit 7 is PM in 12-hour mode).
    pub hour: u8,
    /// Register 0x07.
    pub day: u8,
    /// Register 0x08.
    pub month: u8,
    /// Register 0x09 (two digits).
    pub year: u8,
    /// Register 0x32 (ACPI's century register; 0 if the machine has none).
    pub century: u8,
    /// Status register B (0x0B): bit 2 binary (not BCD), bit 1 24-hour.
    pub status_b: u8,
}

/// Status B: values are binary, not BCD.
const BINARY: u8 = 1 << 2;
/// Status B: hours run 0..24, not 1..12 with a PM bit.
const HOURS_24: u8 = 1 << 1;

fn bcd(v: u8) -> Option<u8> {
    let (hi, lo) = (v >> 4, v & 0xf);
    (hi < 10 && lo < 10).then_some(hi * 10 + lo)
}

/// Days from 1970-01-01 to `year-month-day` in the proleptic Gregorian
/// calendar (the usual era arithmetic: years start in March, so the leap
/// day comes last).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Seconds since 1970-01-01 00:00:00 UTC, if the registers hold a valid
/// date and time (the clock keeps UTC, as QEMU's does by default).
pub fn unix_seconds(r: &Registers) -> Option<u64> {
    let decode = |v: u8| {
        if r.status_b & BINARY != 0 {
            Some(v)
        } else {
            bcd(v)
        }
    };
    let pm = r.status_b & HOURS_24 == 0 && r.hour & 0x80 != 0;
    let mut hour = decode(r.hour & 0x7f)?;
    if r.status_b & HOURS_24 == 0 {
        if !(1..=12).contains(&hour) {
            return None;
        }
        hour = hour % 12 + if pm { 12 } else { 0 };
    }
    let (second, minute) = (decode(r.second)?, decode(r.minute)?);
    let (day, month, year) = (decode(r.day)?, decode(r.month)?, decode(r.year)?);
    let century = match decode(r.century) {
        Some(c) if (19..=99).contains(&c) => c,
        // No century register: the clock is in this century.
        _ => 20,
    };
    if second > 59 || minute > 59 || hour > 23 || year > 99 {
        return None;
    }
    let full_year = i64::from(century) * 100 + i64::from(year);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if full_year % 4 == 0 && (full_year % 100 != 0 || full_year % 400 == 0) => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > days_in_month {
        return None;
    }
    let days = days_from_civil(full_year, u32::from(month), u32::from(day));
    let secs = days * 86_400 + i64::from(hour) * 3_600 + i64::from(minute) * 60 + i64::from(second);
    u64::try_from(secs).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bcd_of(v: u8) -> u8 {
        ((v / 10) << 4) | (v % 10)
    }

    fn reading(y: u16, mo: u8, d: u8, h: u8, mi: u8, s: u8) -> Registers {
        Registers {
            second: bcd_of(s),
            minute: bcd_of(mi),
            hour: bcd_of(h),
            day: bcd_of(d),
            month: bcd_of(mo),
            year: bcd_of((y % 100) as u8),
            century: bcd_of((y / 100) as u8),
            status_b: HOURS_24,
        }
    }

    #[test]
    fn known_instants() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(unix_seconds(&reading(1970, 1, 1, 0, 0, 0)), Some(0));
        // 2000-02-29 12:00:00 UTC, a leap day in a century leap year.
        assert_eq!(
            unix_seconds(&reading(2000, 2, 29, 12, 0, 0)),
            Some(951_825_600)
        );
        // 2026-11-22 17:36:00 UTC.
        assert_eq!(
            unix_seconds(&reading(2026, 11, 22, 17, 36, 0)),
            Some(1_795_368_960)
        );
    }

    #[test]
    fn binary_and_twelve_hour_modes() {
        let mut r = reading(2024, 6, 1, 0, 0, 0);
        let base = unix_seconds(&r).unwrap();
        // Binary values, 12-hour clock: 3 PM is 15:00.
        r = Registers {
            second: 7,
            minute: 5,
            hour: 0x80 | 3,
            day: 1,
            month: 6,
            year: 24,
            century: 20,
            status_b: BINARY,
        };
        assert_eq!(unix_seconds(&r), Some(base + 15 * 3_600 + 5 * 60 + 7));
        // 12 AM is midnight, 12 PM is noon.
        r.hour = 12;
        assert_eq!(unix_seconds(&r), Some(base + 5 * 60 + 7));
        r.hour = 0x80 | 12;
        assert_eq!(unix_seconds(&r), Some(base + 12 * 3_600 + 5 * 60 + 7));
    }

    #[test]
    fn nonsense_is_refused() {
        let good = reading(2025, 1, 31, 23, 59, 59);
        assert!(unix_seconds(&good).is_some());
        for bad in [
            Registers {
                month: 0x13,
                ..good
            },
            Registers { day: 0, ..good },
            Registers {
                second: 0x60,
                ..good
            },
            Registers { hour: 0x24, ..good },
            Registers {
                minute: 0x5a,
                ..good
            }, // not BCD
            reading(2025, 2, 29, 0, 0, 0), // not a leap year
            reading(2100, 2, 29, 0, 0, 0), // nor is 2100
        ] {
            assert_eq!(unix_seconds(&bad), None, "{bad:?}");
        }
        assert!(unix_seconds(&reading(2024, 2, 29, 0, 0, 0)).is_some());
    }

    proptest! {
        /// The user-side inverse (`abi::time::civil_from_days`) undoes it.
        #[test]
        fn the_abi_inverse_round_trips(days in -800_000i64..800_000) {
            let (y, m, d) = abi::time::civil_from_days(days);
            prop_assert_eq!(days_from_civil(y, m, d), days);
        }

        /// Consecutive days are 86,400 s apart, across months and years.
        #[test]
        fn days_follow_each_other(days in 0i64..60_000) {
            // Walk from 1970 by whole days with a simple calendar.
            let (mut y, mut m, mut d) = (1970i64, 1u32, 1u32);
            let mut left = days;
            let len = |y: i64, m: u32| match m {
                4 | 6 | 9 | 11 => 30,
                2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
                2 => 28,
                _ => 31,
            };
            while left > 0 {
                let rest = i64::from(len(y, m) - d) + 1;
                if left >= rest {
                    left -= rest;
                    d = 1;
                    m += 1;
                    if m == 13 {
                        m = 1;
                        y += 1;
                    }
                } else {
                    d += left as u32;
                    left = 0;
                }
            }
            prop_assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
