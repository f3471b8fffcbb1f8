//! HdrHistogram's percentile-distribution text (`.hgrm`, what wrk2 and `HistogramLogProcessor` print): the
//! "Value Percentile TotalCount 1/(1-Percentile)" table, five ticks per half distance, and the Mean/StdDeviation,
//! Max/Total count, Buckets/SubBuckets footer. Pure: a histogram in, text out, so HdrHistogram's own plotter
//! (hdrhistogram.github.io/HdrHistogram/plotFiles.html) reads the files; [`parse`] reads the table back (for
//! report.html's percentile spectrum).

use std::fmt::Write;

use hdrhistogram::Histogram;

/// Significant digits every tokenstorm histogram keeps (`metrics::recorder::new_hist`), and so the decimals
/// printed, as Java's `outputPercentileDistribution` does.
const DIGITS: usize = 3;

/// The distribution of `h`, each value divided by `ratio` (recorded µs with `ratio` 1000 print milliseconds).
pub fn percentile_distribution(h: &Histogram<u64>, ratio: f64) -> String {
    let mut out = format!(
        "{:>12} {:>14} {:>10} {:>14}\n\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    let mut total = 0u64;
    if !h.is_empty() {
        for v in h.iter_quantiles(5) {
            total += v.count_since_last_iteration();
            let value = v.value_iterated_to() as f64 / ratio;
            let q = v.quantile_iterated_to();
            if q < 1.0 {
                let _ = writeln!(
                    out,
                    "{value:>12.DIGITS$} {q:>2.12} {total:>10} {:>14.2}",
                    1.0 / (1.0 - q)
                );
            } else {
                let _ = writeln!(out, "{value:>12.DIGITS$} {q:>2.12} {total:>10}");
            }
        }
    }
    footer(&mut out, h, ratio);
    out
}

fn footer(out: &mut String, h: &Histogram<u64>, ratio: f64) {
    // An empty histogram prints zeros (hdrhistogram's min/max of nothing are not measurements).
    let (mean, stdev, max) = if h.is_empty() {
        (0.0, 0.0, 0.0)
    } else {
        (h.mean() / ratio, h.stdev() / ratio, h.max() as f64 / ratio)
    };
    let _ = writeln!(
        out,
        "#[Mean    = {mean:>12.DIGITS$}, StdDeviation   = {stdev:>12.DIGITS$}]"
    );
    let _ = writeln!(
        out,
        "#[Max     = {max:>12.DIGITS$}, Total count    = {:>12}]",
        h.len()
    );
    let _ = writeln!(
        out,
        "#[Buckets = {:>12}, SubBuckets     = {:>12}]",
        h.buckets(),
        sub_buckets(h.sigfig())
    );
}

/// One row of the table: the value (divided as written), its percentile (0..=1) and the count up to it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tick {
    pub value: f64,
    pub quantile: f64,
    pub total: u64,
}

/// The table rows of a `.hgrm` text (header, blank lines and the `#[...]` footer skipped); a row that is not
/// "value percentile count [1/(1-p)]" is an error naming its line.
pub fn parse(text: &str) -> Result<Vec<Tick>, String> {
    let mut ticks = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("Value") {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        let tick = match f[..] {
            [v, q, n] | [v, q, n, _] => match (v.parse(), q.parse(), n.parse()) {
                (Ok(value), Ok(quantile), Ok(total)) => Some(Tick {
                    value,
                    quantile,
                    total,
                }),
                _ => None,
            },
            _ => None,
        };
        ticks.push(tick.ok_or_else(|| format!("line {}: {line:?} is no percentile row", i + 1))?);
    }
    Ok(ticks)
}

/// HdrHistogram's sub-bucket count: the smallest power of two holding 2 × 10^digits (2048 for 3 digits).
fn sub_buckets(digits: u8) -> u64 {
    (2 * 10u64.pow(u32::from(digits))).next_power_of_two()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(values: &[u64]) -> Histogram<u64> {
        let mut h = Histogram::new(3).unwrap();
        for &v in values {
            h.record(v).unwrap();
        }
        h
    }

    /// The header, a first row at the minimum, a last row at 100 % without the 1/(1-p) column, and the footer,
    /// in Java's layout; µs recorded print as ms.
    #[test]
    fn prints_javas_layout_in_milliseconds() {
        let text = percentile_distribution(&hist(&[1000, 2000, 3000, 4000]), 1000.0);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "       Value     Percentile TotalCount 1/(1-Percentile)"
        );
        assert_eq!(lines[1], "");
        assert_eq!(
            lines[2],
            "       1.000 0.000000000000          1           1.00"
        );
        let last = lines[lines.len() - 4];
        // Values print as their bucket's highest equivalent value, as Java does (4000 µs sits in a 2 µs bucket).
        assert_eq!(last, "       4.001 1.000000000000          4");
        assert_eq!(
            lines[lines.len() - 3],
            "#[Mean    =        2.501, StdDeviation   =        1.118]"
        );
        assert_eq!(
            lines[lines.len() - 2],
            "#[Max     =        4.001, Total count    =            4]"
        );
        assert_eq!(sub_buckets(3), 2048);
        assert!(lines[lines.len() - 1].ends_with("SubBuckets     =         2048]"));
    }

    /// TotalCount climbs to the histogram's count and the percentiles never go down.
    #[test]
    fn rows_accumulate_to_the_total() {
        let values: Vec<u64> = (1..=500).map(|i| i * 37).collect();
        let text = percentile_distribution(&hist(&values), 1.0);
        let rows: Vec<Vec<f64>> = text
            .lines()
            .skip(2)
            .take_while(|l| !l.starts_with('#'))
            .map(|l| l.split_whitespace().map(|f| f.parse().unwrap()).collect())
            .collect();
        assert!(
            rows.windows(2)
                .all(|w| w[0][1] <= w[1][1] && w[0][2] <= w[1][2])
        );
        assert_eq!(rows.last().unwrap()[2], 500.0);
    }

    /// What [`percentile_distribution`] writes, [`parse`] reads back: the last row is the maximum at 100 %.
    #[test]
    fn parse_reads_back_the_rows() {
        let text = percentile_distribution(&hist(&[1000, 2000, 3000, 4000]), 1000.0);
        let ticks = parse(&text).unwrap();
        assert_eq!(
            ticks[0],
            Tick {
                value: 1.0,
                quantile: 0.0,
                total: 1
            }
        );
        let last = ticks.last().unwrap();
        assert_eq!((last.value, last.quantile, last.total), (4.001, 1.0, 4));
        assert!(parse("1.0 0.5\n").unwrap_err().starts_with("line 1:"));
    }

    #[test]
    fn an_empty_histogram_prints_only_header_and_footer() {
        let text = percentile_distribution(&hist(&[]), 1000.0);
        assert_eq!(text.lines().count(), 5);
        assert!(text.contains("Total count    =            0]"));
    }
}
