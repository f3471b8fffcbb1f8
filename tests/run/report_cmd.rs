//! `junit.xml`, `summary.md` and `report.html` beside report.json, and `tokenstorm report RUN_DIR` re-rendering
//! them from the saved files byte for byte; a folder without a readable report.json exits 2 naming the path.

use super::*;

fn report_cmd(args: &[&str]) -> Output {
    Command::new(bin())
        .arg("report")
        .args(args)
        .output()
        .expect("cannot start tokenstorm")
}

#[test]
fn report_rerenders_the_files_the_run_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_scenario(
        dir.path(),
        "short.toml",
        "[run]\nduration_s = 60.0\nmax_attempts = 40\nrate_per_s = 200.0\n[devices]\ncount = 4\n",
    );
    let out = dir.path().join("out");
    let (o, report) = run(&[path.to_str().unwrap()], &out);
    assert!(report.is_some(), "{}", text(&o.stderr));
    let run_dir = std::fs::read_dir(&out)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let read = |name: &str| std::fs::read_to_string(run_dir.join(name)).unwrap();
    let (junit, md) = (read("junit.xml"), read("summary.md"));
    assert!(
        junit.contains("<testcase classname=\"tokenstorm.short\" name=\"forged_never_invoked\""),
        "{junit}"
    );
    assert!(md.contains("| `forged_never_invoked` |"), "{md}");

    std::fs::remove_file(run_dir.join("junit.xml")).unwrap();
    std::fs::remove_file(run_dir.join("summary.md")).unwrap();
    let o = report_cmd(&[run_dir.to_str().unwrap(), "--junit"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(read("junit.xml"), junit);
    assert!(
        !run_dir.join("summary.md").exists(),
        "--junit writes junit.xml only"
    );

    let html = read("report.html");
    let o = report_cmd(&[run_dir.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!((read("junit.xml"), read("summary.md")), (junit, md));
    assert_eq!(
        read("report.html"),
        html,
        "no flags: all three files, the same bytes"
    );
}

/// report.html shows every invariant row and the SVG charts, escapes a hostile scenario name, and
/// `report --html` writes the same bytes again (with and without the histograms/ folder's full distributions).
#[test]
fn report_html_shows_every_verdict_and_the_charts_and_escapes_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_scenario(
        dir.path(),
        "hostile.toml",
        "name = \"<script>alert('x')</script>&\"\n\
         [run]\nduration_s = 60.0\nmax_attempts = 60\nrate_per_s = 300.0\n[devices]\ncount = 4\n",
    );
    let out = dir.path().join("out");
    let (o, report) = run(&[path.to_str().unwrap()], &out);
    let report = report.unwrap_or_else(|| panic!("{}", text(&o.stderr)));
    let run_dir = std::fs::read_dir(&out)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let html = std::fs::read_to_string(run_dir.join("report.html")).unwrap();
    for inv in report["invariants"].as_array().unwrap() {
        let row = format!(
            "<tr class=\"verdict {}\" data-invariant=\"{}\">",
            inv["status"].as_str().unwrap(),
            inv["name"].as_str().unwrap()
        );
        assert!(html.contains(&row), "no row {row}");
    }
    assert!(!html.contains("<script"), "a scenario name became markup");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"));
    let spectrum =
        &html[html.find("id=\"spectrum\"").unwrap()..html.find("id=\"attempts\"").unwrap()];
    assert!(
        spectrum.contains("<svg") && spectrum.contains("<polyline"),
        "{spectrum}"
    );
    assert!(spectrum.contains(">99%<") && !spectrum.contains("have no histograms"));
    for (from, to) in [("attempts", "invocations"), ("invocations", "results")] {
        let part = &html[html.find(&format!("id=\"{from}\"")).unwrap()
            ..html.find(&format!("id=\"{to}\"")).unwrap()];
        assert!(part.contains("<polyline"), "no {from} chart: {part}");
    }

    std::fs::remove_file(run_dir.join("report.html")).unwrap();
    let o = report_cmd(&[run_dir.to_str().unwrap(), "--html"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(run_dir.join("report.html")).unwrap(),
        html
    );

    std::fs::remove_dir_all(run_dir.join("histograms")).unwrap();
    let o = report_cmd(&[run_dir.to_str().unwrap(), "--html"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let fallback = std::fs::read_to_string(run_dir.join("report.html")).unwrap();
    assert!(fallback.contains("have no histograms/*.hgrm file") && fallback.contains("<polyline"));
}

#[test]
fn report_on_a_folder_without_a_readable_report_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-run");
    let o = report_cmd(&[missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains(&missing.join("report.json").display().to_string()),
        "{}",
        text(&o.stderr)
    );

    std::fs::write(dir.path().join("report.json"), "{\"tool\": 1}").unwrap();
    let o = report_cmd(&[dir.path().to_str().unwrap(), "--md"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("is not a tokenstorm report"),
        "{}",
        text(&o.stderr)
    );
}
