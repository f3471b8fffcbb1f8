//! UTC calendar arithmetic without a date crate, for the names that carry a date: report folders and
//! timestamps, and the emulator's Lambda log stream names.

/// (year, month, day, hour, minute, second) of a Unix time, UTC (Howard Hinnant's civil-from-days).
pub fn civil(unix_s: u64) -> (i64, u32, u32, u32, u32, u32) {
    let days = (unix_s / 86_400) as i64;
    let rem = unix_s % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

#[cfg(test)]
mod tests {
    use super::civil;

    #[test]
    fn dates_across_leap_days_and_year_ends() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(11_016 * 86_400 + 3661), (2000, 2, 29, 1, 1, 1));
        assert_eq!(civil(20_818 * 86_400 + 86_399), (2026, 12, 31, 23, 59, 59));
    }
}
