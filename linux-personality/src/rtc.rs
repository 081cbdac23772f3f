//! The real-time clock device (`/dev/rtc0`) as Linux's rtc-dev presents it: the
//! `struct rtc_time` of RTC_RD_TIME and RTC_SET_TIME, its checks (rtc_valid_tm), and
//! the calendar arithmetic between it and seconds since the epoch. The kernel's driver
//! reads and writes the hardware (the PC's CMOS clock) in those seconds; busybox's
//! `hwclock`, which OpenRC runs at boot, goes through here.

use crate::abi::Errno;

/// `_IOR('p', 0x09, struct rtc_time)`.
pub const RTC_RD_TIME: u32 = 0x8024_7009;
/// `_IOW('p', 0x0a, struct rtc_time)`.
pub const RTC_SET_TIME: u32 = 0x4024_700a;
/// Nine `int`s: sec, min, hour, mday, mon (0-11), year (since 1900), wday, yday, isdst.
pub const RTC_TIME_LEN: usize = 36;

/// Days from 1970-01-01 to a civil date (Howard Hinnant's algorithm; month 1-12).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day number (inverse of [`days_from_civil`]): (year, month
/// 1-12, day 1-31).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The broken-down time of `epoch` seconds, as RTC_RD_TIME returns it (isdst 0).
pub fn to_rtc_time(epoch: u64) -> [u8; RTC_TIME_LEN] {
    let days = (epoch / 86_400) as i64;
    let secs = (epoch % 86_400) as i64;
    let (y, m, d) = civil_from_days(days);
    let yday = days - days_from_civil(y, 1, 1);
    // 1970-01-01 was a Thursday (4).
    let wday = (days + 4).rem_euclid(7);
    let fields = [
        secs % 60,
        secs / 60 % 60,
        secs / 3600,
        d,
        m - 1,
        y - 1900,
        wday,
        yday,
        0,
    ];
    let mut out = [0u8; RTC_TIME_LEN];
    for (i, f) in fields.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&(*f as i32).to_le_bytes());
    }
    out
}

/// Seconds since the epoch of an RTC_SET_TIME argument, checked as Linux's
/// rtc_valid_tm does (EINVAL for a field out of range or a year before 1970); wday,
/// yday and isdst are ignored.
pub fn from_rtc_time(b: &[u8; RTC_TIME_LEN]) -> Result<u64, Errno> {
    let f = |i: usize| i64::from(i32::from_le_bytes(b[i * 4..i * 4 + 4].try_into().unwrap()));
    let (sec, min, hour, mday, mon, year) = (f(0), f(1), f(2), f(3), f(4), f(5) + 1900);
    if year < 1970
        || !(0..12).contains(&mon)
        || mday < 1
        || mday > days_in_month(year, mon + 1)
        || !(0..24).contains(&hour)
        || !(0..60).contains(&min)
        || !(0..60).contains(&sec)
    {
        return Err(Errno::EINVAL);
    }
    let days = days_from_civil(year, mon + 1, mday);
    Ok((days * 86_400 + hour * 3600 + min * 60 + sec) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(b: &[u8; RTC_TIME_LEN], i: usize) -> i32 {
        i32::from_le_bytes(b[i * 4..i * 4 + 4].try_into().unwrap())
    }

    #[test]
    fn broken_down_time_round_trips() {
        // 2026-12-07 11:30:53 UTC, a Monday, day 340 of the year.
        let t = 1_796_643_053;
        let b = to_rtc_time(t);
        let got: Vec<i32> = (0..9).map(|i| field(&b, i)).collect();
        assert_eq!(got, [53, 30, 11, 7, 11, 126, 1, 340, 0]);
        assert_eq!(from_rtc_time(&b), Ok(t));
        // Leap day, the epoch, and the end of a century year.
        for t in [951_782_400, 0, 4_102_444_799] {
            assert_eq!(from_rtc_time(&to_rtc_time(t)), Ok(t));
        }
    }

    #[test]
    fn invalid_times_are_einval() {
        let good = to_rtc_time(1_796_643_053);
        let bad = |i: usize, v: i32| {
            let mut b = good;
            b[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
            from_rtc_time(&b)
        };
        assert_eq!(bad(0, 60), Err(Errno::EINVAL));
        assert_eq!(bad(2, 24), Err(Errno::EINVAL));
        assert_eq!(bad(3, 0), Err(Errno::EINVAL));
        assert_eq!(bad(4, 12), Err(Errno::EINVAL));
        assert_eq!(bad(5, 69), Err(Errno::EINVAL));
        // 2026-02-29 does not exist; 2028-02-29 does.
        let mut feb = to_rtc_time(1_796_643_053);
        feb[12..16].copy_from_slice(&29i32.to_le_bytes());
        feb[16..20].copy_from_slice(&1i32.to_le_bytes());
        assert_eq!(from_rtc_time(&feb), Err(Errno::EINVAL));
        feb[20..24].copy_from_slice(&128i32.to_le_bytes());
        assert!(from_rtc_time(&feb).is_ok());
    }
}
